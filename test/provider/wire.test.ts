import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import type { LanguageModelV3FunctionTool } from "@ai-sdk/provider";
import { createServer } from "node:http";
import { describe, expect, it } from "vitest";
import { promptChars, storedPrompt } from "../../src/agent/context.js";
import { openModelStream, readModelStream, type PromptItem } from "../../src/agent/model-stream.js";
import { emptyTokens } from "../../src/agent/tokens.js";
import { newId } from "../../src/ids.js";
import { providerFetch } from "../../src/provider/fetch.js";
import { SerialisedHistoryError, type WireFormat } from "../../src/provider/wire.js";
import type { AssistantMessage, Part, ToolPart } from "../../src/session/schema.js";
import { Store } from "../../src/session/store.js";
import { listenOnLoopback } from "../support/loopback.js";
import { tempDir } from "../support/ode.js";

const DONE = `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 0, model: "m", choices: [{ index: 0, delta: { content: "ok" }, finish_reason: "stop" }] })}\n\ndata: [DONE]\n\n`;

/**
 * A chat-completions server that keeps each request's bytes and headers as they arrived. The first `failures`
 * requests are answered 503 with `retry-after: 0`, which the model call retries at once.
 */
async function recordingModel(failures = 0) {
  const requests: Array<{ body: Buffer; headers: Record<string, string | string[] | undefined> }> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      requests.push({ body: Buffer.concat(chunks), headers: req.headers });
      if (requests.length <= failures) {
        res.writeHead(503, { "content-type": "application/json", "retry-after": "0" });
        return res.end(JSON.stringify({ error: { message: "busy", type: "server_error" } }));
      }
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end(DONE);
    });
  });
  const { baseURL, close } = await listenOnLoopback(server);
  const model = createOpenAICompatible({ name: "mock", baseURL, includeUsage: true, fetch: providerFetch }).chatModel("m");
  const tools: LanguageModelV3FunctionTool[] = [
    { type: "function", name: "bash", description: "Run a command", inputSchema: { type: "object", properties: { command: { type: "string" } } } },
  ];
  async function send(prompt: PromptItem[], wire: WireFormat | null = "chat-completions") {
    const signal = new AbortController().signal;
    const stream = await openModelStream({ model, prompt, tools, abortSignal: signal, maxRetries: failures, ...(wire ? { wire } : {}) });
    await readModelStream(stream, signal, () => {});
    return requests.at(-1)!;
  }
  return { send, requests, close };
}

const ODD_TEXT = 'héllo "quoted" \\ back\nslash\t😀 </script> \u2028 \u0000 end';

/** A session with every shape of stored message a prompt has, and, if `compacted`, a summary of its first turn. */
function storedSession(store: Store, dir: string, compacted: boolean) {
  const session = store.createSession({ directory: dir });
  const ids: string[] = [];
  const user = (text: string, extra: object = {}) => {
    const id = newId("msg");
    ids.push(id);
    store.addMessage({ id, sessionID: session.id, role: "user", time: { created: 1 }, agent: "build", model: { providerID: "p", modelID: "m" }, ...extra });
    if (text) store.upsertPart({ id: newId("prt"), sessionID: session.id, messageID: id, type: "text", text });
    return id;
  };
  const assistant = (parentID: string, parts: Array<Record<string, unknown>>, extra: Partial<AssistantMessage> = {}) => {
    const id = newId("msg");
    ids.push(id);
    const info: AssistantMessage = {
      id, sessionID: session.id, role: "assistant", parentID, time: { created: 1, completed: 2 }, modelID: "m", providerID: "p",
      path: { cwd: dir, root: dir }, tokens: emptyTokens(), cost: 0, finish: "stop", ...extra,
    };
    store.addMessage(info);
    for (const part of parts) store.upsertPart({ id: newId("prt"), sessionID: session.id, messageID: id, ...part } as Part);
    return id;
  };
  const tool = (callID: string, state: ToolPart["state"]) => ({ type: "tool", tool: "bash", callID, state });
  const time = { start: 1, end: 2 };

  const first = user(`first ${ODD_TEXT}`);
  assistant(first, [
    { type: "reasoning", text: `thinking ${ODD_TEXT}`, time },
    { type: "text", text: "I'll look." },
    tool("call_a", { status: "completed", input: { command: "ls -la", nested: { list: [1, "two", null, true] } }, output: `out ${ODD_TEXT}`, title: "", metadata: {}, time }),
    tool("call_b", { status: "error", input: { command: "false" }, error: "exit 1", time }),
    // Imported calls whose input is a string: sent as it is when it is JSON, stringified when not.
    tool("call_s", { status: "error", input: '{"command":"ls"}', error: "x", time } as never),
    tool("call_t", { status: "error", input: "not json {", error: "y", time } as never),
    { type: "text", text: " Then more." },
  ]);
  // A tool call alone (no text): `content` is null. An interrupted call still gets a result.
  const second = user("second");
  assistant(second, [tool("call_c", { status: "running", input: { command: "sleep 9" }, time: { start: 1 } })]);
  // Nothing to send for an empty user message or an assistant message with no text.
  user("");
  assistant(second, [{ type: "step-start" }, { type: "text", text: "" }]);
  const third = user("third");
  assistant(third, [{ type: "text", text: "plain answer" }]);
  if (compacted) {
    // The summary keeps the second turn on (`tail_start_id`); the answer after the marker was cut by the summary.
    const marker = user("", { agent: "compaction" });
    store.upsertPart({ id: newId("prt"), sessionID: session.id, messageID: marker, type: "compaction", auto: true, tail_start_id: second } as Part);
    assistant(marker, [{ type: "text", text: `the summary ${ODD_TEXT}` }], { summary: true, agent: "compaction" });
    assistant(third, [tool("call_d", { status: "completed", input: { command: "echo" }, output: "", title: "", metadata: {}, time })]);
  }
  return session;
}

const system = { role: "system" as const, content: `system ${ODD_TEXT}` };
const next = { role: "user" as const, content: [{ type: "text" as const, text: "and now?" }] };

type RecordingModel = Awaited<ReturnType<typeof recordingModel>>;

/** Runs `fn` on a stored session (`storedSession`) and a recording model, and closes both after. */
async function withStoredSession(options: { compacted?: boolean; failures?: number }, fn: (store: Store, sessionID: string, model: RecordingModel) => Promise<void>) {
  const dir = tempDir();
  const store = Store.open(dir);
  const model = await recordingModel(options.failures);
  try {
    await fn(store, storedSession(store, dir, options.compacted ?? false).id, model);
  } finally {
    await model.close();
    store.close();
  }
}

describe("history sent already serialised (chat-completions)", () => {
  for (const compacted of [false, true]) {
    it(`sends the bytes the provider itself would, ${compacted ? "from a compaction on" : "for every stored shape"}, and counts the same`, () =>
      withStoredSession({ compacted }, async (store, sessionID, model) => {
        const readers = { serialised: () => storedPrompt(store, sessionID, "chat-completions"), messages: () => storedPrompt(store, sessionID) };
        // Once with the cache filled by the serialised reader, once by the reader of messages.
        for (const first of ["serialised", "messages"] as const) {
          store.db.exec("DELETE FROM prompt_cache");
          const firstRead = readers[first]();
          const serialised = first === "serialised" ? firstRead : readers.serialised();
          const messages = first === "messages" ? firstRead : readers.messages();
          expect(serialised).toHaveLength(1);
          expect(serialised[0]).toMatchObject({ role: "serialised", chars: promptChars(messages) });
          const plain = await model.send([system, ...messages, next]);
          const spliced = await model.send([system, ...serialised, next]);
          expect(spliced.body.toString()).toBe(plain.body.toString());
          expect(spliced.body.equals(plain.body)).toBe(true);
          expect(spliced.headers["content-length"]).toBe(String(plain.body.length));
          expect(Object.keys(spliced.headers).filter((name) => name.startsWith("x-ode"))).toEqual([]);
        }
        const sent = JSON.stringify(JSON.parse((await model.send([system, ...storedPrompt(store, sessionID)])).body.toString()).messages);
        expect(sent).toContain("call_c");
        expect(sent.includes("call_d")).toBe(compacted);
        expect(sent.includes("call_a")).toBe(!compacted);
      }));
  }

  it("sends the history again on a retried request", () =>
    withStoredSession({ failures: 1 }, async (store, sessionID, model) => {
      await model.send([system, ...storedPrompt(store, sessionID, "chat-completions"), next]);
      const [refused, retried] = model.requests;
      expect(retried!.body.equals(refused!.body)).toBe(true);
      expect(retried!.body.toString()).toContain("call_a");
    }));

  it("is refused for a model that does not take it, rather than send its stand-in", () =>
    withStoredSession({}, async (store, sessionID, model) => {
      const serialised = storedPrompt(store, sessionID, "chat-completions");
      await expect(model.send([system, ...serialised, next], null)).rejects.toThrow(SerialisedHistoryError);
      await expect(model.send([system, ...serialised, ...serialised, next])).rejects.toThrow("at most one serialised history");
      expect(model.requests).toHaveLength(0);
    }));

  it("sends nothing in place of an empty history", () => {
    const dir = tempDir();
    const store = Store.open(dir);
    const session = store.createSession({ directory: dir });
    expect(storedPrompt(store, session.id, "chat-completions")).toEqual([]);
    store.close();
  });
});
