import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it, vi } from "vitest";
import { sessionDocument } from "../../bench/session-document.js";
import { importSession, parseImport, type ImportDocument } from "../../src/export/import.js";
import { sanitizeExport } from "../../src/export/sanitize.js";
import { buildExport, type ExportDocument } from "../../src/export/snapshot.js";
import { exportChunks } from "../../src/export/stream.js";
import { newId } from "../../src/ids.js";
import { Runs } from "../../src/session/runs.js";
import { emptyTokens } from "../../src/agent/tokens.js";
import type { Store } from "../../src/session/store.js";
import { makeProject, ODE, runOde, startOde, type Project } from "../support/ode.js";
import { createServer } from "../../src/server/app.js";
import { startServer } from "../server/support.js";
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
 * model: parts are sanitized before their message, yet `runtime.models`, written before both, named them first.
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

  it("gives the models runtime.models lists the session's markers, however the messages name them later", () => {
    withStored(namingParts(GENERATED), (rt, id) => {
      expectSameDocument(rt, id);
      const doc = JSON.parse(streamed(rt, id, { sanitize: true }));
      const [provider, model] = [`[redacted:provider:${id}]`, `[redacted:model:${id}]`];
      expect(doc.runtime.models[0]).toBe(`${provider}/${model}`);
      const part = (type: string) => doc.messages[0].parts.find((p: { type: string }) => p.type === type);
      const [retry, subtask] = [part("retry"), part("subtask")];
      expect([retry.error.data.providerID, subtask.model.modelID, doc.messages[0].info.model]).toEqual([provider, model, { providerID: provider, modelID: model }]);
    });
    // Pseudonymised part ids: the parts are counted as the whole-document sanitizer counts them.
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
      let text = "";
      while (!text.includes('"messages":[')) text += chunks.next().value;
      // Mid-document the connection is reading; once the reader returns, it writes again.
      expect(() => store.createSession({ directory: "/p" })).toThrow(/busy/);
      chunks.return(undefined);
      expect(store.createSession({ directory: "/p" }).id).toMatch(/^ses_/);
    });
  });
});

/** A session of `turns` turns (about 10 KiB of export each), stored by `ode import`. */
async function importedSession(turns: number): Promise<{ project: Project; id: string }> {
  const project = makeProject();
  const id = "ses_000000000001streamTest0001";
  const file = path.join(project.dir, "session.json");
  fs.writeFileSync(file, sessionDocument(id, turns));
  const imported = await runOde(project, ["import", file]);
  expect(imported.stderr).toBe("");
  return { project, id };
}

describe("ode export writes as its reader takes", () => {
  it("gives a slow stdout reader the whole document, the same as -o writes", async () => {
    const { project, id } = await importedSession(300);
    const out = path.join(project.dir, "out.json");
    expect((await runOde(project, ["export", id, "-o", out])).code).toBe(0);
    const child = startOde(project, ["export", id]);
    child.stdin!.end();
    let stdout = "";
    let reads = 0;
    // Takes one chunk at a time with a pause after each, so the pipe fills and the writer has to wait.
    child.stdout!.on("data", (chunk) => {
      stdout += chunk;
      reads++;
      child.stdout!.pause();
      setTimeout(() => child.stdout!.resume(), 2);
    });
    const { code, stderr } = await collectExit(child);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(reads).toBeGreaterThan(10);
    expect(atNoTime(stdout)).toBe(atNoTime(fs.readFileSync(out, "utf8")));
    expect(JSON.parse(stdout).messages).toHaveLength(600);
  });

  it("leaves -o's file as it was, and no temporary file, when the file system refuses the write", async () => {
    const { project, id } = await importedSession(100);
    const dir = path.join(project.dir, "out");
    fs.mkdirSync(dir);
    const out = path.join(dir, "session.json");
    fs.writeFileSync(out, "the previous export\n");
    // A file size limit of 64 KiB: the write fails part way (EFBIG), as on a full disk.
    const child = spawn("bash", ["-c", `ulimit -f 64 && exec "${process.execPath}" "${ODE}" export ${id} -o "${out}"`], { env: project.env });
    const { code, stderr } = await collectExit(child);
    expect(code).toBe(2);
    expect(stderr).toBe(`ode: cannot write ${out}: EFBIG\n`);
    expect(fs.readdirSync(dir)).toEqual(["session.json"]);
    expect(fs.readFileSync(out, "utf8")).toBe("the previous export\n");
  });

  it("stops quietly when the reader goes away", async () => {
    const { project, id } = await importedSession(300);
    const child = startOde(project, ["export", id]);
    child.stdin!.end();
    child.stdout!.once("data", () => child.stdout!.destroy());
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    const code = await new Promise((resolve) => child.on("close", resolve));
    expect(stderr).toBe("");
    expect(code).toBe(0);
  });
});

function collectExit(child: ChildProcess): Promise<{ code: number | null; stderr: string }> {
  let stderr = "";
  child.stderr!.on("data", (d) => (stderr += d));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stderr })));
}

describe("GET /session/:id/export", () => {
  it("streams a long session while the runtime goes on writing, plain and sanitized", async () => {
    const server = await startServer(undefined);
    const id = "ses_000000000001streamServer01";
    importSession(server.rt, parseImport(sessionDocument(id, 300)));
    const expected = buildExport(server.rt, id);

    // The app itself, so the body is read exactly as far as asked.
    const res = await createServer(server.rt).app.request(`/session/${id}/export`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let text = decoder.decode((await reader.read()).value, { stream: true });
    // Mid-document: the export holds a read open, on a connection of its own, so the runtime still writes.
    const created = server.rt.store.createSession({ directory: server.project.dir });
    for (let next = await reader.read(); !next.done; next = await reader.read()) text += decoder.decode(next.value, { stream: true });
    expect(atNoTime(text)).toBe(atNoTime(JSON.stringify(expected)));
    expect(server.rt.store.findSession(created.id)).toBeDefined();

    const plain = await fetch(`${server.url}/session/${id}/export`);
    expect(atNoTime(await plain.text())).toBe(atNoTime(JSON.stringify(expected)));
    const sanitized = await server.api("GET", `/session/${id}/export?sanitize=1`);
    expect({ ...sanitized.body, exported_at: 0 }).toEqual({ ...sanitizeExport(expected), exported_at: 0 });
    expect((await server.api("GET", "/session/ses_nothere/export")).status).toBe(404);
  });
});
