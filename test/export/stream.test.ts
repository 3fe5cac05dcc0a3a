import { describe, expect, it, vi } from "vitest";
import { importSession, type ImportDocument } from "../../src/export/import.js";
import { sanitizeExport } from "../../src/export/sanitize.js";
import { buildExport, type ExportDocument } from "../../src/export/snapshot.js";
import { exportChunks } from "../../src/export/stream.js";
import { newId } from "../../src/ids.js";
import { Runs } from "../../src/session/runs.js";
import { emptyTokens } from "../../src/session/schema.js";
import type { Store } from "../../src/session/store.js";
import { makeProject } from "../support/ode.js";
import { Canaries, GENERATED, canaryIds, richExport, type Ids } from "./canaries.js";
import { withStore } from "./support.js";

type Reader = { store: Store; runs: Runs };

/** `source` stored as it is (without parseImport's checks, so ids of any shape stay), then `fn` on that store. */
function withStored<T>(source: ReturnType<typeof richExport>, fn: (rt: Reader, sessionID: string) => T): T {
  const { info, messages, diagnostics } = source as unknown as ExportDocument;
  const doc = { info, messages, runs: diagnostics.loop.runs, aborts: diagnostics.aborts, traces: diagnostics.title_generations } as ImportDocument;
  return withStore(makeProject().dataDir, (store) => {
    const rt = { store, runs: new Runs(store) };
    importSession(rt, doc);
    return fn(rt, info.id);
  });
}

/**
 * The rich canary document, with a retry and a subtask part in the user message naming the user's own provider and
 * model: parts are sanitized before their message, so those parts own the markers `runtime.models` must show.
 */
function namingParts(ids: Ids): ReturnType<typeof richExport> {
  const source = richExport(new Canaries(), ids) as any;
  const user = source.messages.find((m: any) => m.info.role === "user");
  const { providerID, modelID } = user.info.model;
  const part = (n: number, fields: object) => ({ id: ids.part(n), sessionID: ids.S, messageID: ids.U, ...fields });
  user.parts.unshift(
    part(40, { type: "retry", attempt: 1, error: { name: "APIError", data: { message: "m", providerID } }, time: { created: 1 } }),
    part(41, { type: "subtask", prompt: "p", description: "d", agent: "general", model: { providerID: "openai", modelID } }),
  );
  return source;
}

const streamed = (rt: Reader, id: string, options: { sanitize?: boolean; pretty?: boolean }) => [...exportChunks(rt, id, options)].join("");
/** Two exports of the same session differ only in when they were made. */
const atNoTime = (text: string) => text.replace(/"exported_at":( ?)\d+/, '"exported_at":$10');

function expectSameDocument(rt: Reader, id: string): void {
  const doc = buildExport(rt, id);
  const sanitized = sanitizeExport(doc);
  expect(atNoTime(streamed(rt, id, { pretty: true }))).toBe(atNoTime(JSON.stringify(doc, null, 2) + "\n"));
  expect(atNoTime(streamed(rt, id, {}))).toBe(atNoTime(JSON.stringify(doc)));
  expect(atNoTime(streamed(rt, id, { sanitize: true, pretty: true }))).toBe(atNoTime(JSON.stringify(sanitized, null, 2) + "\n"));
  expect(atNoTime(streamed(rt, id, { sanitize: true }))).toBe(atNoTime(JSON.stringify(sanitized)));
}

function addTurns(store: Store, sessionID: string, turns: number): void {
  for (let i = 0; i < turns; i++) {
    const user = { id: newId("msg"), sessionID, role: "user" as const, time: { created: i }, model: { providerID: "p", modelID: `m${i % 3}` } };
    store.addMessage(user);
    store.upsertPart({ id: newId("prt"), sessionID, messageID: user.id, type: "text", text: `question ${i}` });
    const assistant = {
      id: newId("msg"),
      sessionID,
      role: "assistant" as const,
      parentID: user.id,
      time: { created: i },
      modelID: "m",
      providerID: "p",
      path: { cwd: "/", root: "/" },
      tokens: emptyTokens(),
      cost: 0.1,
    };
    store.addMessage(assistant);
    store.upsertPart({ id: newId("prt"), sessionID, messageID: assistant.id, type: "tool", tool: "bash", callID: `c${i}`, state: { status: "completed", input: {}, output: "o", title: "t", metadata: {}, time: { start: 0, end: 1 } } });
    store.upsertPart({ id: newId("prt"), sessionID, messageID: assistant.id, type: "text", text: `answer ${i}` });
  }
}

describe("exportChunks", () => {
  it("writes buildExport's document byte for byte, plain and sanitized, indented and compact", () => {
    withStored(richExport(new Canaries(), GENERATED), (rt, id) => expectSameDocument(rt, id));
  });

  it("gives ids of any shape the pseudonyms sanitizeExport gives, in the same order", () => {
    const k = new Canaries();
    withStored(richExport(k, canaryIds(k)), (rt, id) => expectSameDocument(rt, id));
  });

  it("writes runtime.models with the markers of the parts that named them first", () => {
    withStored(namingParts(GENERATED), (rt, id) => {
      expectSameDocument(rt, id);
      const runtime = JSON.parse(streamed(rt, id, { sanitize: true })).runtime;
      // The markers of the retry and subtask parts (owners are their ids), not the user message's nor the session's.
      expect(runtime.models[0]).toBe(`[redacted:provider:${GENERATED.part(40)}]/[redacted:model:${GENERATED.part(41)}]`);
    });
    // Pseudonymised part ids as owners: the rehearsal counts the parts before them as the document does.
    const k = new Canaries();
    withStored(namingParts(canaryIds(k)), (rt, id) => expectSameDocument(rt, id));
  });

  it("writes a session without messages, and counts what buildExport counts on a long one", () => {
    withStore(makeProject().dataDir, (store) => {
      const rt = { store, runs: new Runs(store) };
      const empty = store.createSession({ directory: "/p" });
      expectSameDocument(rt, empty.id);
      const long = store.createSession({ directory: "/p" });
      addTurns(store, long.id, 30);
      expectSameDocument(rt, long.id);
      expect(JSON.parse(streamed(rt, long.id, {})).runtime.stats).toMatchObject({ messages: 60, parts: 90, tool_calls: 30 });
    });
  });

  it("reads a session in a fixed number of queries, whatever its length", () => {
    withStore(makeProject().dataDir, (store) => {
      const rt = { store, runs: new Runs(store) };
      const small = store.createSession({ directory: "/p" });
      const large = store.createSession({ directory: "/p" });
      addTurns(store, small.id, 1);
      addTurns(store, large.id, 40);
      const statement = Object.getPrototypeOf(store.db.prepare("SELECT 1"));
      const spies = ["get", "all", "iterate", "run"].map((method) => vi.spyOn(statement, method));
      const queries = (id: string, sanitize: boolean) => {
        for (const spy of spies) spy.mockClear();
        const messages = JSON.parse(streamed(rt, id, { sanitize })).messages.length;
        return { messages, queries: spies.reduce((n, spy) => n + spy.mock.calls.length, 0) };
      };
      for (const sanitize of [false, true]) {
        const a = queries(small.id, sanitize);
        const b = queries(large.id, sanitize);
        expect([a.messages, b.messages]).toEqual([2, 80]);
        expect(b.queries).toBe(a.queries);
      }
      for (const spy of spies) spy.mockRestore();
    });
  });

  it("throws for an unknown session before any chunk, and frees the connection when the reader stops early", () => {
    withStore(makeProject().dataDir, (store) => {
      const rt = { store, runs: new Runs(store) };
      expect(() => exportChunks(rt, "ses_nothere")).toThrow(/ses_nothere/);
      const session = store.createSession({ directory: "/p" });
      addTurns(store, session.id, 5);
      const chunks = exportChunks(rt, session.id);
      chunks.next();
      chunks.next();
      // Mid-document the connection is reading; once the reader returns, it writes again.
      expect(() => store.createSession({ directory: "/p" })).toThrow(/busy/);
      chunks.return(undefined);
      expect(store.createSession({ directory: "/p" }).id).toMatch(/^ses_/);
    });
  });
});
