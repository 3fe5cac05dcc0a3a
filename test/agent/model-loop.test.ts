import { describe, expect, it } from "vitest";
import { prompt } from "../../src/agent/prompt.js";
import { createRuntime } from "../../src/runtime.js";
import type { ToolPart } from "../../src/session/schema.js";
import { makeProject, mockConfig, startModel, waitFor } from "../support/ode.js";

async function runtimeWith(steps: Parameters<typeof startModel>[0]) {
  const model = await startModel(steps);
  const project = makeProject(mockConfig(model.baseURL));
  const rt = createRuntime({ directory: project.dir, dataDir: project.dataDir, env: project.env });
  const session = rt.store.createSession({ directory: project.dir, title: "model loop" });
  return { model, rt, session };
}

describe("ode's model loop", () => {
  it("an abort ends the wait before a retry at once: the provider asked for 30 s, one request was made", async () => {
    const { model, rt, session } = await runtimeWith([{ status: 503, errorHeaders: { "retry-after": "30" } }, { text: "too late" }]);
    const done = prompt(rt, { sessionID: session.id, text: "hello" });
    await waitFor(() => model.turnRequests().length === 1);
    rt.runs.cancel(session.id, { source: "user", via: "esc" });
    const result = await done;
    expect(result.outcome).toBe("aborted");
    expect(result.abort).toMatchObject({ source: "user", via: "esc", phase: "model" });
    expect(model.turnRequests()).toHaveLength(1);
    rt.close();
  }, 20_000);

  it("after an abort of a stream the server holds open, the next turn in the same runtime is sent and answered", async () => {
    const { model, rt, session } = await runtimeWith([{ stall: true }, { text: "second answer" }]);
    const first = prompt(rt, { sessionID: session.id, text: "one" });
    await waitFor(() => model.turnRequests().length === 1);
    rt.runs.cancel(session.id, { source: "user", via: "esc" });
    expect((await first).outcome).toBe("aborted");
    const second = await prompt(rt, { sessionID: session.id, text: "two" });
    expect(second).toMatchObject({ outcome: "completed", text: "second answer" });
    expect(model.turnRequests()).toHaveLength(2);
    rt.close();
  }, 20_000);

  it("a tool call that is not JSON or names no tool of the run is a failed call the model reads next step", async () => {
    const { model, rt, session } = await runtimeWith([
      {
        toolCalls: [
          { id: "call_bad", name: "bash", arguments: "{not json" },
          { id: "call_none", name: "teleport", arguments: { to: "mars" } },
        ],
      },
      { text: "understood" },
    ]);
    const result = await prompt(rt, { sessionID: session.id, text: "go" });
    expect(result).toMatchObject({ outcome: "completed", text: "understood" });
    const parts = rt.store.messages(session.id).flatMap((m) => m.parts).filter((p): p is ToolPart => p.type === "tool");
    expect(parts.map((p) => [p.callID, p.state.status])).toEqual([["call_bad", "error"], ["call_none", "error"]]);
    expect(parts[0]!.state).toMatchObject({ input: "{not json", error: expect.stringMatching(/^invalid input for bash: not JSON/) });
    expect(parts[1]!.state).toMatchObject({ input: { to: "mars" }, error: expect.stringMatching(/^unknown tool teleport; the tools are: .*bash/) });
    const followUp = model.turnRequests()[1]!.body.messages.filter((m: { role: string }) => m.role === "tool");
    expect(followUp.map((m: { content: string }) => m.content)).toEqual([parts[0]!.state.status === "error" && parts[0]!.state.error, parts[1]!.state.status === "error" && parts[1]!.state.error]);
    rt.close();
  });
});
