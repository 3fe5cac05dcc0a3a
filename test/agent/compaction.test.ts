import { APICallError } from "@ai-sdk/provider";
import { afterEach, describe, expect, it } from "vitest";
import { compactSession, NothingToCompactError } from "../../src/agent/compaction.js";
import {
  CONTINUE_PROMPT,
  historyBudget,
  historyWindow,
  isContextLengthError,
  storedPrompt,
  SUMMARY_QUESTION,
  windowPromptMessages,
} from "../../src/agent/context.js";
import { prompt } from "../../src/agent/prompt.js";
import { buildExport } from "../../src/export/snapshot.js";
import { renderSessionReport } from "../../src/report/session.js";
import { createRuntime, type Runtime } from "../../src/runtime.js";
import type { CompactionRecord } from "../../src/session/compaction.js";
import type { MessageWithParts } from "../../src/session/schema.js";
import { makeProject, waitFor, type Project } from "../support/ode.js";
import { longPrompt as long, sentText as sent, startCompactionModel as startModel } from "../support/compaction.js";
import type { ScriptedReply } from "../support/openai-server.js";

const runtimes: Runtime[] = [];
afterEach(() => {
  while (runtimes.length) runtimes.pop()!.close();
});

function runtime(baseURL: string, limit?: { context: number; output?: number }): { rt: Runtime; project: Project } {
  const models = limit ? { "test-model": { limit } } : undefined;
  const project = makeProject({
    model: "mock/test-model",
    provider: { mock: { type: "openai-compatible", options: { baseURL, apiKey: "test" }, ...(models ? { models } : {}) } },
  });
  const rt = createRuntime({ directory: project.dir, dataDir: project.dataDir, env: project.env });
  runtimes.push(rt);
  return { rt, project };
}

function records(rt: Runtime, sessionID: string): CompactionRecord[] {
  return buildExport(rt, sessionID).diagnostics.compactions;
}

describe("the history budget", () => {
  it("is the context window minus the answer's reserve, capped at 32k and at half the window", () => {
    expect(historyBudget(undefined)).toBeUndefined();
    expect(historyBudget({ output: 100 })).toBeUndefined();
    expect(historyBudget({ context: 1000, output: 100 })).toBe(900);
    expect(historyBudget({ context: 200_000, output: 64_000 })).toBe(168_000);
    expect(historyBudget({ context: 200_000 })).toBe(168_000);
    expect(historyBudget({ context: 8000, output: 8000 })).toBe(4000);
  });
});

describe("context-length errors", () => {
  const apiError = (statusCode: number, message: string, responseBody?: string) =>
    new APICallError({ message, statusCode, url: "http://127.0.0.1/v1", requestBodyValues: {}, ...(responseBody ? { responseBody } : {}) });

  it("are recognised by the providers' wordings, only on 400 and 413", () => {
    expect(isContextLengthError(apiError(400, "This model's maximum context length is 8192 tokens"))).toBe(true);
    expect(isContextLengthError(apiError(400, "Bad Request", '{"error":{"code":"context_length_exceeded"}}'))).toBe(true);
    expect(isContextLengthError(apiError(400, "prompt is too long: 210000 tokens > 200000 maximum"))).toBe(true);
    expect(isContextLengthError(apiError(413, "request too large"))).toBe(true);
    expect(isContextLengthError(apiError(400, "the request exceeds the available context size"))).toBe(true);
    expect(isContextLengthError(apiError(500, "maximum context length"))).toBe(false);
    expect(isContextLengthError(apiError(400, "invalid tool schema"))).toBe(false);
    expect(isContextLengthError(new Error("socket hang up"))).toBe(false);
    expect(isContextLengthError({ message: "too many tokens in the prompt" })).toBe(true);
  });
});

describe("the history window", () => {
  const S = "ses_000000000001aaaaaaaaaaaaaa";
  let n = 0;
  const id = () => `msg_${(++n).toString(16).padStart(12, "0")}bbbbbbbbbbbbbb`;
  const user = (text: string, extra: object = {}): MessageWithParts => {
    const mid = id();
    return {
      info: { id: mid, sessionID: S, role: "user", time: { created: 1 }, ...extra } as MessageWithParts["info"],
      parts: text ? [{ id: `prt_${mid.slice(4)}`, sessionID: S, messageID: mid, type: "text", text }] : [],
    };
  };
  const assistant = (parentID: string, text: string, extra: object = {}): MessageWithParts => {
    const mid = id();
    return {
      info: {
        id: mid, sessionID: S, role: "assistant", parentID, time: { created: 1 }, modelID: "m", providerID: "p",
        path: { cwd: "/", root: "/" }, tokens: { input: 0, output: 0, reasoning: 0, cache: { read: 0, write: 0 } }, cost: 0, finish: "stop", ...extra,
      } as MessageWithParts["info"],
      parts: [{ id: `prt_${mid.slice(4)}`, sessionID: S, messageID: mid, type: "text", text }],
    };
  };
  const marker = (tail?: string): MessageWithParts => {
    const m = user("", { agent: "compaction" });
    m.parts.push({ id: `prt_${m.info.id.slice(4)}`, sessionID: S, messageID: m.info.id, type: "compaction", auto: true, ...(tail ? { tail_start_id: tail } : {}) } as never);
    return m;
  };

  it("sends the summary, then the kept turns, then what came after, never the summarised turns", () => {
    const u1 = user("old question");
    const a1 = assistant(u1.info.id, "old answer");
    const u2 = user("kept question");
    const a2 = assistant(u2.info.id, "kept answer");
    const m = marker(u2.info.id);
    const s = assistant(m.info.id, "the summary", { summary: true, agent: "compaction" });
    const u3 = user("new question");
    const window = historyWindow([u1, a1, u2, a2, m, s, u3]);
    const text = (t: string) => [{ type: "text", text: t }];
    expect(windowPromptMessages(window)).toEqual([
      { role: "user", content: text(SUMMARY_QUESTION) },
      { role: "assistant", content: text("the summary") },
      { role: "user", content: text("kept question") },
      { role: "assistant", content: text("kept answer") },
      { role: "user", content: text("new question") },
    ]);
  });

  it("asks the model to go on when the turn it was working on was summarised; a failed summary changes nothing", () => {
    const u1 = user("the task");
    const a1 = assistant(u1.info.id, "working on it");
    const m = marker();
    const s = assistant(m.info.id, "the summary", { summary: true, agent: "compaction" });
    const a2 = assistant(u1.info.id, "more work");
    expect(windowPromptMessages(historyWindow([u1, a1, m, s, a2])).map((msg) => msg.content)).toEqual(
      [SUMMARY_QUESTION, "the summary", CONTINUE_PROMPT, "more work"].map((text) => [{ type: "text", text }]),
    );
    const failed = assistant(m.info.id, "", { summary: true, agent: "compaction", finish: undefined, error: { name: "APIError", data: { message: "x" } } });
    failed.parts = [];
    expect(windowPromptMessages(historyWindow([u1, a1, m, failed, a2])).map((msg) => msg.role)).toEqual(["user", "assistant", "assistant"]);
  });
});

describe("compaction in a run, against a loopback model", () => {
  it("summarises the oldest turns before a step that would not fit, and sends the summary and the recent turn", async () => {
    const model = await startModel([{ text: "answer one" }, { text: "answer two" }, { text: "answer three" }]);
    const { rt } = runtime(model.baseURL, { context: 1000, output: 100 });
    const session = rt.store.createSession({ directory: rt.directory });
    for (const word of ["OLD-ONE", "OLD-TWO", "RECENT-THREE"]) {
      const result = await prompt(rt, { sessionID: session.id, text: long(word) });
      await result.titleDone;
      expect(result.outcome).toBe("completed");
    }
    expect(model.kinds()).toEqual(["turn", "turn", "summary", "turn"]);
    const [summaryRequest] = model.of("summary");
    expect(sent(summaryRequest!)).toContain("OLD-ONE");
    expect(sent(summaryRequest!)).toContain("OLD-TWO");
    expect(sent(summaryRequest!)).not.toContain("RECENT-THREE");
    const last = sent(model.of("turn").at(-1)!);
    expect(last).toContain("SUMMARY-TEXT");
    expect(last).toContain("RECENT-THREE");
    expect(last).not.toContain("OLD-ONE");
    expect(last).not.toContain("OLD-TWO");

    const messages = rt.store.messages(session.id);
    const summary = messages.find((m) => m.info.role === "assistant" && m.info.summary === true)!;
    const [record] = records(rt, session.id);
    expect(record).toMatchObject({ trigger: "overflow", success: true, messages: 4, budget: 900, message_id: summary.info.id });
    expect(record!.tokens_before).toBeGreaterThan(900);
    expect(record!.tokens_after).toBeLessThan(900);
    // The third prompt is the first kept turn; the summary belongs to the run that needed it.
    const third = messages.filter((m) => m.info.role === "user" && m.info.agent === "build")[2]!;
    expect(record!.tail_start_id).toBe(third.info.id);
    const run = rt.runs.rows(session.id).at(-1)!;
    expect(record!.run_id).toBe(run.id);
    expect(JSON.parse(run.assistant_message_ids)).toContain(summary.info.id);

    // A later run starts from the summary too.
    await prompt(rt, { sessionID: session.id, text: "short follow-up" });
    const next = sent(model.of("turn").at(-1)!);
    expect(next).toContain("SUMMARY-TEXT");
    expect(next).not.toContain("OLD-ONE");
    // A run reads its history message by message; the window is the same as from the whole session at once.
    const whole = windowPromptMessages(historyWindow(rt.store.messages(session.id)));
    expect(storedPrompt(rt.store, session.id)).toEqual(whole);
    expect(whole[0]).toEqual({ role: "user", content: [{ type: "text", text: SUMMARY_QUESTION }] });
  });

  it("compacts once on a context-length error and sends the step again", async () => {
    const tooLong: ScriptedReply = {
      status: 400,
      errorBody: { error: { message: "This model's maximum context length is 8192 tokens.", type: "invalid_request_error", code: "context_length_exceeded" } },
    };
    const model = await startModel([{ text: "answer one" }, tooLong, { text: "answer after compaction" }]);
    const { rt } = runtime(model.baseURL);
    const session = rt.store.createSession({ directory: rt.directory });
    await (await prompt(rt, { sessionID: session.id, text: long("OLD-ONE") })).titleDone;
    const result = await prompt(rt, { sessionID: session.id, text: long("RECENT-TWO") });
    expect(result.outcome).toBe("completed");
    expect(result.text).toBe("answer after compaction");
    expect(model.kinds()).toEqual(["turn", "turn", "summary", "turn"]);
    const retry = sent(model.of("turn").at(-1)!);
    expect(retry).toContain("SUMMARY-TEXT");
    expect(retry).toContain("RECENT-TWO");
    expect(retry).not.toContain("OLD-ONE");
    const [record] = records(rt, session.id);
    expect(record).toMatchObject({ trigger: "context-error", success: true, messages: 2, run_id: result.runID });
    expect(record!.budget).toBeUndefined();
    // The refused step stays on record with its error; opencode's marker says the context overflowed.
    const refused = rt.store.getMessage(result.assistantMessageIDs[0]!);
    expect(refused?.role === "assistant" && refused.error?.name).toBe("APIError");
    const marker = rt.store.messages(session.id).find((m) => m.parts.some((p) => p.type === "compaction"))!;
    expect(marker.parts.find((p) => p.type === "compaction")).toMatchObject({ auto: true, overflow: true, tail_start_id: expect.stringMatching(/^msg_/) });
  });

  it("does not loop when the step is refused again after the compaction", async () => {
    const tooLong: ScriptedReply = { status: 400, errorBody: { error: { message: "prompt is too long", code: "context_length_exceeded" } } };
    const model = await startModel([{ text: "answer one" }, tooLong, tooLong, { text: "never sent" }]);
    const { rt } = runtime(model.baseURL);
    const session = rt.store.createSession({ directory: rt.directory });
    await (await prompt(rt, { sessionID: session.id, text: long("OLD-ONE") })).titleDone;
    const result = await prompt(rt, { sessionID: session.id, text: long("RECENT-TWO") });
    expect(result.outcome).toBe("error");
    expect(result.error?.name).toBe("APIError");
    expect(model.kinds()).toEqual(["turn", "turn", "summary", "turn"]);
    expect(records(rt, session.id)).toHaveLength(1);
  });

  it("records a summary that failed, and the run goes on with the history as it was, without asking again", async () => {
    const bash = { toolCalls: [{ name: "bash", arguments: { command: "true" } }] };
    const model = await startModel([{ text: "answer one" }, bash, { text: "answer two" }], { status: 400, errorBody: { error: { message: "summariser down" } } });
    const { rt } = runtime(model.baseURL, { context: 600, output: 100 });
    const session = rt.store.createSession({ directory: rt.directory });
    await (await prompt(rt, { sessionID: session.id, text: long("OLD-ONE") })).titleDone;
    const result = await prompt(rt, { sessionID: session.id, text: long("RECENT-TWO") });
    expect(result.outcome).toBe("completed");
    const [record] = records(rt, session.id);
    expect(record).toMatchObject({ trigger: "overflow", success: false, error_message: expect.stringContaining("summariser down") });
    expect(record!.tokens_after).toBeUndefined();
    expect(model.kinds()).toEqual(["turn", "summary", "turn", "turn"]);
    expect(sent(model.of("turn").at(-1)!)).toContain("OLD-ONE");
  });
});

describe("compactSession (ode session compact)", () => {
  it("is a run of kind compact that keeps the recent turn and records a manual compaction", async () => {
    const model = await startModel([{ text: "answer one" }, { text: "answer two" }]);
    const { rt } = runtime(model.baseURL);
    const session = rt.store.createSession({ directory: rt.directory });
    await (await prompt(rt, { sessionID: session.id, text: long("OLD-ONE") })).titleDone;
    await prompt(rt, { sessionID: session.id, text: long("RECENT-TWO") });
    const result = await compactSession(rt, { sessionID: session.id });
    expect(result.outcome).toBe("completed");
    expect(result.compaction).toMatchObject({ trigger: "manual", success: true, messages: 2, run_id: result.runID });
    const run = rt.runs.rows(session.id).at(-1)!;
    expect(run).toMatchObject({ id: result.runID, kind: "compact", outcome: "completed", attempted_input: null });
    const marker = rt.store.messages(session.id).find((m) => m.parts.some((p) => p.type === "compaction"))!;
    expect(run.user_message_id).toBe(marker.info.id);
    expect(marker.parts[0]).toMatchObject({ type: "compaction", auto: false });
    expect(marker.parts[0]).not.toHaveProperty("overflow");
    // The marker is no prompt: title generation still counts two.
    expect(rt.store.promptCount(session.id)).toBe(2);
    expect(records(rt, session.id)).toEqual([result.compaction]);
    // The report shows where the history was compacted, and the summary as the answer to it.
    const page = renderSessionReport(buildExport(rt, session.id));
    expect(page).toContain("history compacted (asked for)");
    expect(page).toContain("SUMMARY-TEXT");
  });

  it("is aborted like any run: the abort is recorded on the summary message, in phase model, and the history stays", async () => {
    const model = await startModel([{ text: "answer one" }, { text: "answer two" }], { stall: true });
    const { rt } = runtime(model.baseURL);
    const session = rt.store.createSession({ directory: rt.directory });
    await (await prompt(rt, { sessionID: session.id, text: long("OLD-ONE") })).titleDone;
    const pending = compactSession(rt, { sessionID: session.id });
    await waitFor(() => model.of("summary").length === 1);
    // The compaction is on record before the summary arrives.
    expect(records(rt, session.id)).toEqual([expect.objectContaining({ trigger: "manual", success: false, messages: 2 })]);
    rt.runs.cancel(session.id, { source: "api", reason: "not now" });
    const result = await pending;
    expect(result.outcome).toBe("aborted");
    expect(result.error?.name).toBe("MessageAbortedError");
    expect(result.abort).toMatchObject({ source: "api", phase: "model", message_id: result.compaction.message_id, run_id: result.runID });
    expect(records(rt, session.id)).toEqual([expect.objectContaining({ success: false, error_message: "The run was aborted" })]);
    expect(rt.runs.rows(session.id).at(-1)).toMatchObject({ kind: "compact", outcome: "aborted" });
    await prompt(rt, { sessionID: session.id, text: "go on" });
    expect(sent(model.of("turn").at(-1)!)).toContain("OLD-ONE");
  });

  it("refuses a session with nothing to compact, before starting a run", async () => {
    const model = await startModel([]);
    const { rt } = runtime(model.baseURL);
    const session = rt.store.createSession({ directory: rt.directory });
    await expect(compactSession(rt, { sessionID: session.id })).rejects.toBeInstanceOf(NothingToCompactError);
    expect(rt.runs.rows(session.id)).toEqual([]);
    expect(model.requests).toEqual([]);
  });
});
