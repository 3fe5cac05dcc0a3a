import { afterEach, describe, expect, it } from "vitest";
import type { AssistantMessage, Part } from "../../src/session/schema.js";
import { startAnthropicServer, type ProviderReply, type ProviderTestServer } from "../support/anthropic-server.js";
import { collect, isTitleRequest, makeProject, onlySession, runOde, startOde, waitFor, type Project } from "../support/ode.js";
import type { RecordedRequest } from "../support/openai-server.js";
import { startOpenAIResponsesServer } from "../support/openai-responses-server.js";

// End to end through the built CLI (dist/ode.cjs) against loopback servers speaking each provider's own wire format.

const servers: ProviderTestServer[] = [];
afterEach(async () => {
  while (servers.length) await servers.pop()!.close();
});

interface Case {
  provider: "anthropic" | "openai";
  model: string;
  start: (replies: (req: RecordedRequest) => ProviderReply) => Promise<ProviderTestServer>;
  apiKey: (req: RecordedRequest) => unknown;
  /** The tool results the model was sent back, serialized. */
  toolResults: (req: RecordedRequest) => string;
}

const cases: Case[] = [
  {
    provider: "anthropic",
    model: "claude-test",
    start: startAnthropicServer,
    apiKey: (req) => req.headers["x-api-key"],
    toolResults: (req) =>
      JSON.stringify(
        req.body.messages
          .filter((m: { role: string }) => m.role === "user")
          .flatMap((m: { content: unknown }) => (Array.isArray(m.content) ? m.content : []))
          .filter((c: { type: string }) => c.type === "tool_result"),
      ),
  },
  {
    provider: "openai",
    model: "gpt-test",
    start: startOpenAIResponsesServer,
    apiKey: (req) => req.headers.authorization,
    toolResults: (req) =>
      JSON.stringify(req.body.input.filter((item: { type?: string }) => item.type === "function_call_output")),
  },
];

/** Turn requests get `steps` in order; the title request (the only one without tools) gets a fixed title. */
async function startModel(c: Case, steps: ProviderReply[]) {
  let next = 0;
  const server = await c.start((req) =>
    isTitleRequest(req) ? { text: "Generated provider title" } : (steps[next++] ?? { text: "(no more scripted replies)" }),
  );
  servers.push(server);
  return {
    ...server,
    turnRequests: () => server.requests.filter((r) => !isTitleRequest(r)),
    titleRequests: () => server.requests.filter(isTitleRequest),
  };
}

function projectFor(c: Case, baseURL: string): Project {
  return makeProject({
    model: `${c.provider}/${c.model}`,
    provider: { [c.provider]: { options: { baseURL, apiKey: "test-key" } } },
  });
}

describe.each(cases)("ode run against a loopback $provider API", (c) => {
  it("runs a bash tool call, sends its result back, answers, stores usage and a generated title", async () => {
    const model = await startModel(c, [
      { toolCalls: [{ name: "bash", input: { command: 'echo "$OPENCODE_SESSION_ID"' } }], usage: { input: 21, output: 7 } },
      { text: "The session id is printed above.", usage: { input: 40, output: 9 } },
    ]);
    const project = projectFor(c, model.baseURL);
    const result = await runOde(project, ["run", "print the session id"]);
    expect(result.stderr).not.toMatch(/ode: /);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("The session id is printed above.");

    const list = await runOde(project, ["session", "list", "--format", "json"]);
    expect(list.code).toBe(0);
    const listed = JSON.parse(list.stdout) as Array<{ id: string; title: string }>;
    expect(listed).toHaveLength(1);
    const sessionID = listed[0]!.id;
    expect(sessionID).toMatch(/^ses_/);

    // Both turn requests reached the provider's own endpoint with the configured key and the bash tool.
    const turns = model.turnRequests();
    expect(turns).toHaveLength(2);
    for (const req of turns) {
      expect(req.body.model).toBe(c.model);
      expect(req.body.stream).toBe(true);
      expect(c.apiKey(req)).toBe(c.provider === "anthropic" ? "test-key" : "Bearer test-key");
    }
    expect(JSON.stringify(turns[0]!.body.tools)).toContain("bash");
    // The second request carries the tool's output, the session id, back to the model.
    expect(c.toolResults(turns[0]!)).toBe("[]");
    expect(c.toolResults(turns[1]!)).toContain(sessionID);

    // The title request was not streamed, and its answer became the session's title.
    expect(model.titleRequests()).toHaveLength(1);
    expect(model.titleRequests()[0]!.body.stream).not.toBe(true);
    expect(c.apiKey(model.titleRequests()[0]!)).toBe(c.provider === "anthropic" ? "test-key" : "Bearer test-key");
    expect(listed[0]!.title).toBe("Generated provider title");

    const { session, messages } = onlySession(project.dataDir);
    expect(session.id).toBe(sessionID);
    expect(messages.map((m) => m.info.role)).toEqual(["user", "assistant", "assistant"]);
    const parts = messages.flatMap((m) => m.parts);
    const tool = parts.find((p): p is Extract<Part, { type: "tool" }> => p.type === "tool")!;
    expect(tool).toMatchObject({ tool: "bash", state: { status: "completed" } });
    expect(tool.state.status === "completed" && tool.state.output).toContain(sessionID);
    const finishes = parts.filter((p): p is Extract<Part, { type: "step-finish" }> => p.type === "step-finish");
    expect(finishes.map((f) => ({ reason: f.reason, input: f.tokens.input, output: f.tokens.output }))).toEqual([
      { reason: "tool-calls", input: 21, output: 7 },
      { reason: "stop", input: 40, output: 9 },
    ]);
    const last = messages[2]!.info as AssistantMessage;
    expect(last).toMatchObject({ providerID: c.provider, modelID: c.model, tokens: { input: 40, output: 9 } });
    expect(last.error).toBeUndefined();
  });

  it("stores an APIError and exits 1 when the API answers 400", async () => {
    const model = await startModel(c, [{ status: 400 }]);
    const project = projectFor(c, model.baseURL);
    const result = await runOde(project, ["run", "hello"]);
    expect(result.code).toBe(1);
    expect(model.turnRequests()).toHaveLength(1); // a 400 is not retried
    const { messages } = onlySession(project.dataDir);
    const assistant = messages.find((m) => m.info.role === "assistant")!.info as AssistantMessage;
    expect(assistant).toMatchObject({
      error: { name: "APIError", data: { statusCode: 400, isRetryable: false, message: "scripted status 400" } },
    });
    expect(assistant.time.completed).toBeTruthy();
  });

  it("retries a 500 once, then exits 1 with the last error stored", async () => {
    const model = await startModel(c, [{ status: 500 }, { status: 500 }]);
    const project = projectFor(c, model.baseURL);
    const result = await runOde(project, ["run", "hello"]);
    expect(result.code).toBe(1);
    expect(model.turnRequests()).toHaveLength(2);
    const { messages } = onlySession(project.dataDir);
    const assistant = messages.find((m) => m.info.role === "assistant")!.info as AssistantMessage;
    // After its retry the AI SDK throws a RetryError; the stored error is the last attempt's APICallError.
    expect(assistant.error).toMatchObject({ name: "APIError", data: { statusCode: 500, isRetryable: true } });
    expect(assistant.error?.data.message).toContain("scripted status 500");
    expect(assistant.time.completed).toBeTruthy();
  });

  it("ode session abort stops a stalled stream with MessageAbortedError and exit 130", async () => {
    const model = await startModel(c, [{ stall: true }]);
    const project = projectFor(c, model.baseURL);
    const child = startOde(project, ["run", "hello"]);
    const done = collect(child);
    child.stdin!.end();
    await waitFor(() => model.turnRequests().length > 0);
    const { session } = onlySession(project.dataDir);
    expect((await runOde(project, ["session", "abort", session.id])).code).toBe(0);
    expect((await done).code).toBe(130);
    const { messages } = onlySession(project.dataDir);
    const assistant = messages.find((m) => m.info.role === "assistant")!.info as AssistantMessage;
    expect(assistant.error).toMatchObject({ name: "MessageAbortedError" });
  });
});
