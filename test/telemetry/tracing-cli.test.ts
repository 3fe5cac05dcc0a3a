import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { collect, makeProject, mockConfig, runOde, startModel, startOde, waitFor, type Project } from "../support/ode.js";
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from "../support/otlp-receiver.js";

let receiver: OtlpReceiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

/** A project whose environment says nothing about tracing but what the test adds. */
function untracedProject(config: object): Project {
  const project = makeProject(config);
  for (const key of Object.keys(project.env)) if (key.startsWith("OTEL_") || key === "TRACEPARENT" || key === "TRACESTATE") delete project.env[key];
  return project;
}

const byName = (spans: ReceivedSpan[], name: string) => spans.filter((s) => s.name === name);
const only = (spans: ReceivedSpan[], name: string) => {
  const found = byName(spans, name);
  expect(found, `spans named ${name}: ${spans.map((s) => s.name).join(", ")}`).toHaveLength(1);
  return found[0]!;
};

describe.each(["http/protobuf", "http/json"])("ode run traced over OTLP %s", (protocol) => {
  it("exports the span tree of a tool turn, and the bash child joins the execute_tool span", async () => {
    receiver = await startOtlpReceiver();
    const model = await startModel([
      { toolCalls: [{ name: "bash", arguments: { command: 'printf "%s|%s" "$TRACEPARENT" "${TRACESTATE-unset}"' } }] },
      { text: "done" },
    ]);
    const project = untracedProject(mockConfig(model.baseURL));
    const inbound = { trace: "4bf92f3577b34da6a3ce929d0e0e4736", span: "00f067aa0ba902b7" };
    const result = await runOde(project, ["run", "show the trace context"], {
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
        OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=ci,team=a%20b",
        TRACEPARENT: `00-${inbound.trace}-${inbound.span}-01`,
        TRACESTATE: "vendor=abc",
      },
    });
    expect(result.stderr).not.toMatch(/ode: /);
    expect(result.code).toBe(0);
    expect(receiver.requests.every((r) => r.path === "/v1/traces")).toBe(true);
    expect(receiver.requests[0]!.contentType).toContain(protocol === "http/json" ? "json" : "protobuf");

    const spans = receiver.spans;
    const run = only(spans, "invoke_agent ode");
    // The inbound TRACEPARENT is the root's parent: CI jobs and outer agents join up.
    expect(run.traceId).toBe(inbound.trace);
    expect(run.parentSpanId).toBe(inbound.span);
    const chats = byName(spans, "chat test-model");
    expect(chats).toHaveLength(2);
    for (const chat of chats) expect(chat.parentSpanId).toBe(run.spanId);
    const tool = only(spans, "execute_tool bash");
    expect(tool.parentSpanId).toBe(chats.find((c) => c.attributes["gen_ai.response.finish_reasons"]?.toString() === "tool-calls")!.spanId);
    const title = only(spans, "ode.title");
    expect(title.parentSpanId).toBe(run.spanId);
    expect(spans.every((s) => s.traceId === inbound.trace)).toBe(true);

    const sessionID = run.attributes["gen_ai.conversation.id"] as string;
    expect(sessionID).toMatch(/^ses_/);
    for (const span of spans) expect(span.attributes["gen_ai.conversation.id"], span.name).toBe(sessionID);
    expect(run.attributes).toMatchObject({
      "gen_ai.operation.name": "invoke_agent",
      "gen_ai.provider.name": "mock",
      "gen_ai.request.model": "test-model",
      "ode.run.outcome": "completed",
    });
    expect(chats[0]!.attributes).toMatchObject({ "gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": 10, "gen_ai.usage.output_tokens": 5 });
    expect(tool.attributes).toMatchObject({ "gen_ai.tool.name": "bash", "ode.tool.exit_code": 0, "ode.tool.truncated": false });
    expect(tool.attributes["gen_ai.tool.call.id"]).toEqual(expect.any(String));
    expect(title.attributes).toMatchObject({ "ode.title.success": true, "ode.title.applied": true });
    expect(run.resource).toMatchObject({ "service.name": "ode", "deployment.environment": "ci", team: "a b" });
    for (const span of spans) expect(span.status.code, span.name).not.toBe(2);

    // The child saw a TRACEPARENT naming its execute_tool span, and the inbound TRACESTATE carried along.
    const exported = JSON.parse((await runOde(project, ["export", sessionID])).stdout);
    const part = exported.messages[1].parts.find((p: { type: string }) => p.type === "tool");
    expect(part.state.metadata.output).toBe(`00-${inbound.trace}-${tool.spanId}-01|vendor=abc`);

    // From export (and session show) to trace.
    expect(exported.diagnostics.loop.runs[0].trace_id).toBe(inbound.trace);
    const sanitized = JSON.parse((await runOde(project, ["export", sessionID, "--sanitize"])).stdout);
    expect(sanitized.diagnostics.loop.runs[0].trace_id).toBe(inbound.trace);
    expect((await runOde(project, ["session", "show", sessionID])).stdout).toContain(`trace ${inbound.trace}`);
  });
});

describe("ode loop traced", () => {
  it("puts each iteration's run under the loop's invoke_workflow span, itself under an inbound TRACEPARENT", async () => {
    receiver = await startOtlpReceiver();
    const model = await startModel([{ text: "one" }, { text: "two" }]);
    const project = untracedProject(mockConfig(model.baseURL));
    const inbound = { trace: "5bf92f3577b34da6a3ce929d0e0e4736", span: "10f067aa0ba902b7" };
    const result = await runOde(project, ["loop", "go on", "--max-iterations", "2"], {
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, TRACEPARENT: `00-${inbound.trace}-${inbound.span}-01` },
    });
    expect(result.code, result.stderr).toBe(4);
    const loop = only(receiver.spans, "invoke_workflow");
    expect(loop).toMatchObject({ traceId: inbound.trace, parentSpanId: inbound.span });
    expect(loop.attributes).toMatchObject({ "ode.loop.stop_reason": "max_iterations", "ode.loop.iterations": 2 });
    expect(loop.attributes["ode.loop.id"]).toMatch(/^lop_/);
    expect(loop.status.code).not.toBe(2);
    const runs = byName(receiver.spans, "invoke_agent ode");
    expect(runs.map((r) => [r.parentSpanId, r.traceId, r.attributes["ode.loop.id"], r.attributes["ode.loop.iteration"]]).sort()).toEqual([
      [loop.spanId, inbound.trace, loop.attributes["ode.loop.id"], 1],
      [loop.spanId, inbound.trace, loop.attributes["ode.loop.id"], 2],
    ]);
    // Each iteration is its own session.
    expect(new Set(runs.map((r) => r.attributes["gen_ai.conversation.id"])).size).toBe(2);
  });
});

describe("ode run traced and stopped with SIGTERM", () => {
  it("flushes the aborted run's spans before it exits", async () => {
    receiver = await startOtlpReceiver();
    const model = await startModel([{ toolCalls: [{ name: "bash", arguments: { command: "touch started; sleep 30" } }] }]);
    const project = untracedProject(mockConfig(model.baseURL));
    const child = startOde(project, ["run", "--title", "t", "wait"], { env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint } });
    child.stdin!.end();
    const result = collect(child);
    await waitFor(() => fs.existsSync(path.join(project.dir, "started")));
    child.kill("SIGTERM");
    expect((await result).code).toBe(130);
    const run = only(receiver.spans, "invoke_agent ode");
    expect(run.status.code).toBe(2);
    expect(run.events.find((e) => e.name === "ode.abort")?.attributes).toMatchObject({ "ode.abort.source": "shutdown", "ode.abort.via": "SIGTERM" });
    expect(only(receiver.spans, "execute_tool bash").attributes["error.type"]).toBe("aborted");
  });
});

describe("tracing off", () => {
  it("passes an inherited TRACEPARENT through untouched and stores no trace id", async () => {
    const model = await startModel([{ text: "unused" }]);
    const project = untracedProject(mockConfig(model.baseURL));
    const inherited = "00-11111111111111111111111111111111-2222222222222222-01";
    const create = await runOde(project, ["run", "--title", "t", "hi"]);
    expect(create.code).toBe(0);
    const session = JSON.parse((await runOde(project, ["session", "list", "--format", "json"])).stdout)[0];
    const shell = await runOde(project, ["shell", session.id, 'printf "%s|%s" "$TRACEPARENT" "$TRACESTATE"'], {
      env: { TRACEPARENT: inherited, TRACESTATE: "k=v" },
    });
    expect(shell.stdout).toBe(`${inherited}|k=v`);
    const exported = JSON.parse((await runOde(project, ["export", session.id])).stdout);
    expect(exported.diagnostics.loop.runs.map((r: { trace_id: unknown }) => r.trace_id)).toEqual([null, null]);
  });

  it("OTEL_SDK_DISABLED wins over an endpoint, and an ode shell command gets a span of its own when on", async () => {
    receiver = await startOtlpReceiver();
    const project = untracedProject({});
    fs.mkdirSync(path.join(project.dir, "sub"));
    const env = { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${receiver.endpoint}/v1/traces` };
    const create = await runOde(project, ["session", "list"]);
    expect(create.code).toBe(0);
    // A session to run shell commands in, made without a model.
    const { Store } = await import("../../src/session/store.js");
    const store = Store.open(project.dataDir);
    const session = store.createSession({ directory: project.dir, title: "shell only" });
    store.close();
    const disabled = await runOde(project, ["shell", session.id, "true"], { env: { ...env, OTEL_SDK_DISABLED: "true" } });
    expect(disabled.code).toBe(0);
    expect(receiver.spans).toHaveLength(0);

    const traced = await runOde(project, ["shell", session.id, 'printf %s "$TRACEPARENT"'], { env });
    expect(traced.code).toBe(0);
    const shell = only(receiver.spans, "ode.shell");
    expect(shell.parentSpanId).toBe("");
    expect(shell.attributes).toMatchObject({ "gen_ai.conversation.id": session.id, "ode.run.kind": "shell", "ode.tool.exit_code": 0 });
    expect(traced.stdout).toBe(`00-${shell.traceId}-${shell.spanId}-01`);
  });
});
