import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { emptyTokens } from "../../src/agent/tokens.js";
import type { AssistantMessage } from "../../src/session/schema.js";
import { Store } from "../../src/session/store.js";
import { newId } from "../../src/ids.js";
import { makeProject, runOde, tempDir } from "../support/ode.js";

describe("store", () => {
  it("reads a conversation message by message, in order, with messages that have no parts and parts out of write order", () => {
    const dir = tempDir();
    const store = Store.open(dir);
    const session = store.createSession({ directory: dir });
    const ids = Array.from({ length: 6 }, () => newId("msg"));
    for (const id of ids) store.addMessage({ id, sessionID: session.id, role: "user", time: { created: Date.now() }, agent: "build", model: { providerID: "p", modelID: "m" } });
    // Parts of the later messages are written first; messages 0, 3 and 5 get none.
    const parts = [4, 1, 2, 4, 1].map((n) => ({ id: newId("prt"), sessionID: session.id, messageID: ids[n]!, type: "text" as const, text: `part of ${n}` }));
    for (const part of parts) store.upsertPart(part);
    const seen: Array<[string, string[]]> = [];
    for (const { info, parts } of store.iterateMessages(session.id)) seen.push([info.id, parts.map((p) => p.id)]);
    const byMessage = (n: number) => parts.filter((p) => p.messageID === ids[n]).map((p) => p.id).sort();
    expect(seen).toEqual(ids.map((id, n) => [id, byMessage(n)]));
    expect(store.messages(session.id).map((m) => [m.info.id, m.parts.map((p) => p.id)])).toEqual(seen);
    store.close();
  });

  it("the loop's message updates never clobber diagnostics another writer stored meanwhile", () => {
    const dir = tempDir();
    const loop = Store.open(dir);
    const other = Store.open(dir);
    const session = loop.createSession({ directory: dir });
    const message: AssistantMessage = {
      id: newId("msg"),
      sessionID: session.id,
      role: "assistant",
      parentID: newId("msg"),
      time: { created: Date.now() },
      modelID: "m",
      providerID: "p",
      path: { cwd: dir, root: dir },
      tokens: emptyTokens(),
      cost: 0,
    };
    loop.addMessage(message);
    for (let i = 0; i < 300; i++) {
      // Interleave: the loop rewrites its (stale) copy of the message while another connection adds diagnostics.
      if (Math.random() < 0.5) other.mergeDiagnostics(message.id, { [`k${i}`]: i });
      message.tokens = { ...message.tokens, output: i };
      loop.updateMessage(message);
      if (i % 2 === 0) other.mergeDiagnostics(message.id, { [`k${i}`]: i });
    }
    other.mergeDiagnostics(message.id, { abort: { source: "user" }, title_generation: { success: true } });
    message.finish = "stop";
    loop.updateMessage(message);
    const stored = loop.getMessage(message.id) as AssistantMessage;
    expect(stored.tokens.output).toBe(299);
    expect(stored.finish).toBe("stop");
    expect(stored.diagnostics).toMatchObject({ abort: { source: "user" }, title_generation: { success: true } });
    for (let i = 0; i < 300; i += 2) expect(stored.diagnostics![`k${i}`]).toBe(i);
    loop.close();
    other.close();
  });

  it("enforces one unfinished run per session in the database, across connections", async () => {
    const dir = tempDir();
    const a = Store.open(dir);
    const b = Store.open(dir);
    const { Runs } = await import("../../src/session/runs.js");
    const session = a.createSession({ directory: dir });
    const runsA = new Runs(a);
    const runsB = new Runs(b);
    const run = runsA.start(session.id, "prompt");
    expect(() => runsB.start(session.id, "shell")).toThrow(/is busy/);
    runsA.finish(run, "completed");
    expect(runsB.start(session.id, "shell").kind).toBe("shell");
    a.close();
    b.close();
  });

  it("several processes opening a new data directory at once all succeed", async () => {
    const project = makeProject();
    const results = await Promise.all(Array.from({ length: 8 }, () => runOde(project, ["session", "list"])));
    expect(results.map((r) => [r.code, r.stderr])).toEqual(results.map(() => [0, ""]));
  });

  it("a run whose owner pid now belongs to another process is recovered as a crash, not kept busy", async () => {
    const dir = tempDir();
    const store = Store.open(dir);
    const { Runs } = await import("../../src/session/runs.js");
    const session = store.createSession({ directory: dir });
    const stranger = spawn("sleep", ["30"]);
    // A row as a crashed owner would leave it, whose pid the system has since given to `stranger`.
    store.db
      .prepare(`INSERT INTO runs (id, session_id, kind, started_at, owner_pid, owner_start) VALUES (?, ?, 'prompt', ?, ?, '1')`)
      .run(newId("run"), session.id, Date.now(), stranger.pid);
    const runs = new Runs(store);
    expect(runs.recoverCrashed()).toBe(1);
    expect(runs.start(session.id, "shell").kind).toBe("shell");
    stranger.kill("SIGKILL");
    store.close();
  });
});
