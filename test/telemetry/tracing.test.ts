import { createServer, type Server } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { driveRun, prompt, startRun } from "../../src/agent/prompt.js";
import { createRuntime, type Runtime } from "../../src/runtime.js";
import { listen } from "../../src/server/serve.js";
import { enableTracing } from "../../src/telemetry/index.js";
import { FLUSH_TIMEOUT_MS } from "../../src/telemetry/tracer.js";
import { listenOnLoopback } from "../support/loopback.js";
import { makeProject, mockConfig, scriptedConfig, startModel, type Project } from "../support/ode.js";
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from "../support/otlp-receiver.js";

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function receiver(): Promise<OtlpReceiver> {
  const r = await startOtlpReceiver();
  cleanups.push(() => r.close());
  return r;
}

/** A library runtime over its own project, traced to `endpoint` (the caller's other variables added). */
async function tracedRuntime(config: object, env: NodeJS.ProcessEnv): Promise<{ rt: Runtime; project: Project }> {
  const project = makeProject(config);
  for (const key of Object.keys(project.env)) if (key.startsWith("OTEL_") || key.startsWith("TRACE")) delete project.env[key];
  Object.assign(project.env, env);
  const rt = createRuntime({ directory: project.dir, dataDir: project.dataDir, env: project.env });
  await enableTracing(rt);
  cleanups.push(async () => {
    await rt.tracing?.shutdown();
    rt.close();
  });
  return { rt, project };
}

const named = (spans: ReceivedSpan[], name: string) => spans.filter((s) => s.name === name);

/** Resolves once the session's run has a tool call running. */
function toolRunning(rt: Runtime, sessionID: string): Promise<void> {
  return new Promise((resolve) => {
    const stop = rt.events.subscribe((e) => {
      if (e.sessionID === sessionID && e.type === "message.part.updated" && e.properties.part.type === "tool" && e.properties.part.state.status === "running") {
        stop();
        resolve();
      }
    });
  });
}

const sleepTool = { tool_calls: [{ name: "bash", input: { command: "sleep 30" } }] };

describe("aborts on spans", () => {
  it("marks the run and the interrupted tool call as aborted, with the provenance in an ode.abort event", async () => {
    const otlp = await receiver();
    const { rt } = await tracedRuntime(scriptedConfig({ steps: [sleepTool, { text: "unreachable" }] }), { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint });
    const session = rt.store.createSession({ directory: rt.directory, title: "abort me" });
    const started = startRun(rt, { sessionID: session.id, text: "sleep" });
    const running = toolRunning(rt, session.id);
    const done = driveRun(rt, started);
    await running;
    rt.runs.cancel(session.id, { source: "api", via: "POST /session/:id/abort", reason: "stop button" });
    expect((await done).outcome).toBe("aborted");
    await rt.tracing!.flush();

    const [run] = named(otlp.spans, "invoke_agent ode");
    const [tool] = named(otlp.spans, "execute_tool bash");
    const toolCallID = tool!.attributes["gen_ai.tool.call.id"];
    for (const span of [run!, tool!]) {
      expect(span.status.code, span.name).toBe(2);
      expect(span.attributes["error.type"], span.name).toBe("aborted");
      const event = span.events.find((e) => e.name === "ode.abort");
      expect(event?.attributes, span.name).toMatchObject({
        "ode.abort.source": "api",
        "ode.abort.mode": "soft",
        "ode.abort.via": "POST /session/:id/abort",
        "ode.abort.phase": "tool",
        "ode.abort.tool_call_id": toolCallID,
        "ode.abort.title_generation_state": "skipped",
      });
      // The reason is free text: kept off spans without content capture.
      expect(event?.attributes["ode.abort.reason"]).toBeUndefined();
    }
    expect(run!.attributes["ode.run.outcome"]).toBe("aborted");
    // The chat step that was running is not itself the interrupted span (the tool call is).
    const [chat] = named(otlp.spans, "chat scripted");
    expect(chat!.parentSpanId).toBe(run!.spanId);
    expect(tool!.parentSpanId).toBe(chat!.spanId);
  });
});

describe("model steps", () => {
  it("mark a step cut by an abort as aborted", async () => {
    const otlp = await receiver();
    const { rt } = await tracedRuntime(scriptedConfig({ steps: [{ delay_ms: 30_000, text: "late" }] }), { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint });
    const session = rt.store.createSession({ directory: rt.directory, title: "steps" });
    const started = startRun(rt, { sessionID: session.id, text: "wait" });
    const stepStarted = new Promise<void>((resolve) => {
      const stop = rt.events.subscribe((e) => e.type === "message.updated" && e.properties.info.role === "assistant" && (stop(), resolve()));
    });
    const done = driveRun(rt, started);
    await stepStarted;
    rt.runs.cancel(session.id, { source: "user", via: "esc" });
    expect((await done).outcome).toBe("aborted");
    await rt.tracing!.flush();
    const [cut] = named(otlp.spans, "chat scripted");
    expect(cut).toMatchObject({ status: { code: 2 }, attributes: { "error.type": "aborted" } });
    expect(cut!.events.find((e) => e.name === "ode.abort")?.attributes).toMatchObject({ "ode.abort.phase": "model", "ode.abort.via": "esc" });
  });

  it("record the HTTP status and the retry of a failed request", async () => {
    const otlp = await receiver();
    const model = await startModel([{ status: 503 }, { status: 503 }]);
    const { rt } = await tracedRuntime(mockConfig(model.baseURL), { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint });
    const session = rt.store.createSession({ directory: rt.directory, title: "steps" });
    expect((await prompt(rt, { sessionID: session.id, text: "fail" })).outcome).toBe("error");
    await rt.tracing!.flush();
    expect(model.turnRequests()).toHaveLength(2);
    const [failed] = named(otlp.spans, "chat test-model");
    expect(failed).toMatchObject({ status: { code: 2 }, attributes: { "error.type": "503", "http.response.status_code": 503, "ode.retries": 1 } });
    expect(named(otlp.spans, "invoke_agent ode")[0]).toMatchObject({ status: { code: 2 }, attributes: { "error.type": "503", "ode.run.outcome": "error" } });
  });
});

describe("content capture", () => {
  const canaries = {
    prompt: "CANARY-PROMPT-7f3a",
    answer: "CANARY-ANSWER-91bd",
    toolOutput: "CANARY-OUTPUT-2",
    title: "CANARY-TITLE-c0de",
    reason: "CANARY-REASON-55aa",
  };
  const script = {
    title: canaries.title,
    turns: [
      // The output canary is computed by the shell, so it is in the tool output and not in the tool input.
      [{ tool_calls: [{ name: "bash", input: { command: "printf 'CANARY-OUTPUT-%s' $((1+1)); pwd" } }] }, { text: canaries.answer }],
      [sleepTool],
    ],
  };

  async function tracedSession(capture: boolean): Promise<{ raw: Buffer; project: Project; otlp: OtlpReceiver }> {
    const otlp = await receiver();
    const { rt, project } = await tracedRuntime(scriptedConfig(script), {
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint,
      ...(capture ? { ODE_OTEL_CAPTURE_CONTENT: "1" } : {}),
    });
    const session = rt.store.createSession({ directory: rt.directory });
    const first = await prompt(rt, { sessionID: session.id, text: `${canaries.prompt} in ${project.dir}` });
    await first.titleDone;
    const started = startRun(rt, { sessionID: session.id, text: "again" });
    const running = toolRunning(rt, session.id);
    const done = driveRun(rt, started);
    await running;
    rt.runs.cancel(session.id, { source: "user", via: "cli", reason: canaries.reason });
    await done;
    await rt.tracing!.shutdown();
    expect(otlp.spans.length).toBeGreaterThan(5);
    return { raw: Buffer.concat(otlp.requests.map((r) => r.body)), project, otlp };
  }

  it("puts no prompt, answer, tool output, title, reason or path on any span by default", async () => {
    const { raw, project } = await tracedSession(false);
    for (const [kind, canary] of Object.entries({ ...canaries, path: project.dir, dataDir: project.dataDir })) {
      expect(raw.includes(canary), `${kind} leaked into the spans`).toBe(false);
    }
  });

  it("puts them on spans with ODE_OTEL_CAPTURE_CONTENT=1", async () => {
    const { raw, otlp } = await tracedSession(true);
    for (const [kind, canary] of Object.entries(canaries)) expect(raw.includes(canary), `${kind} missing`).toBe(true);
    const [tool] = named(otlp.spans, "execute_tool bash");
    expect(tool!.attributes["gen_ai.tool.call.result"]).toContain("CANARY-OUTPUT-2");
    expect(JSON.parse(tool!.attributes["gen_ai.tool.call.arguments"] as string)).toMatchObject({ command: expect.stringContaining("printf") });
  });
});

describe("trace context in", () => {
  it("continues a traceparent header on the server's routes", async () => {
    const otlp = await receiver();
    const { rt } = await tracedRuntime(scriptedConfig({ steps: [{ text: "ok" }] }), { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint });
    const server = await listen(rt, { port: 0, hostname: "127.0.0.1" });
    cleanups.push(() => server.shutdown({ source: "shutdown" }, 2000));
    const session = rt.store.createSession({ directory: rt.directory, title: "served" });
    const trace = "0af7651916cd43dd8448eb211c80319c";
    const post = (path: string, body: object, parent: string) =>
      fetch(`${server.url}/session/${session.id}/${path}`, {
        method: "POST",
        headers: { "content-type": "application/json", traceparent: `00-${trace}-${parent}-01` },
        body: JSON.stringify(body),
      }).then((res) => res.json());
    const shell = await post("shell", { command: 'printf %s "$TRACEPARENT"' }, "b7ad6b7169203331");
    await post("message", { text: "hello" }, "c7ad6b7169203332");
    await rt.tracing!.flush();

    const [shellSpan] = named(otlp.spans, "ode.shell");
    expect(shellSpan).toMatchObject({ traceId: trace, parentSpanId: "b7ad6b7169203331" });
    // The shell route answers opencode's `{info, parts}`: the command's output is on its tool part.
    expect(shell.parts[0].state.output).toBe(`00-${trace}-${shellSpan!.spanId}-01`);
    const [run] = named(otlp.spans, "invoke_agent ode");
    expect(run).toMatchObject({ traceId: trace, parentSpanId: "c7ad6b7169203332" });
  });
});

describe("an unreachable collector", () => {
  it("that refuses connections is given up at once by the flush at exit, with one warning", async () => {
    const gone = await listenOnLoopback(createServer());
    await gone.close();
    const { rt, project } = await tracedRuntime(scriptedConfig({ steps: [{ text: "fine" }] }), {
      OTEL_EXPORTER_OTLP_ENDPOINT: gone.baseURL.replace(/\/v1$/, ""),
    });
    const session = rt.store.createSession({ directory: rt.directory, title: "t" });
    expect((await prompt(rt, { sessionID: session.id, text: "hi" })).outcome).toBe("completed");
    const t0 = Date.now();
    await rt.tracing!.shutdown();
    // The exporter alone would retry for seconds; the refused connection ends the wait (the bench measures it).
    expect(Date.now() - t0).toBeLessThan(FLUSH_TIMEOUT_MS);
    const warnings = (await import("node:fs")).readFileSync(`${project.dataDir}/log/ode.log`, "utf8").match(/traces could not be sent.*/g);
    expect(warnings).toHaveLength(1);
    expect(warnings![0]).toMatch(/unreachable.*ECONNREFUSED/);
  });

  it("is never waited on by a run, and a flush gives up after the bound", async () => {
    // A collector that takes the connection and never answers: the worst case for an exporter.
    const hanging: Server = createServer(() => {});
    const { baseURL, close } = await listenOnLoopback(hanging);
    cleanups.push(close);
    const { rt, project } = await tracedRuntime(scriptedConfig({ steps: [{ text: "fine" }] }), {
      OTEL_EXPORTER_OTLP_ENDPOINT: baseURL.replace(/\/v1$/, ""),
    });
    const session = rt.store.createSession({ directory: rt.directory, title: "t" });
    // Make an export hang in the background first, so a run that waited on the exporter would be stuck too.
    void rt.tracing!.flush();
    for (let i = 0; i < 3; i++) {
      const t0 = Date.now();
      expect((await prompt(rt, { sessionID: session.id, text: "hi" })).outcome).toBe("completed");
      // Generous: a run that waited for the collector would take the exporter's timeout (10 s) or the flush bound.
      expect(Date.now() - t0).toBeLessThan(FLUSH_TIMEOUT_MS);
    }
    const t0 = Date.now();
    await rt.tracing!.shutdown();
    expect(Date.now() - t0).toBeLessThan(FLUSH_TIMEOUT_MS + 1500);
    const log = (await import("node:fs")).readFileSync(`${project.dataDir}/log/ode.log`, "utf8");
    expect(log.match(/traces could not be sent.*/g)).toEqual([expect.stringMatching(/no answer within/)]);
  });
});
