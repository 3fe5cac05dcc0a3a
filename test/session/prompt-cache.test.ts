import Database from "better-sqlite3";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { storedPrompt } from "../../src/agent/context.js";
import { toPromptMessages } from "../../src/agent/history.js";
import { chatCompletionsJSON } from "../../src/provider/wire.js";
import { emptyTokens } from "../../src/agent/tokens.js";
import { newId } from "../../src/ids.js";
import type { AssistantMessage, ToolPart } from "../../src/session/schema.js";
import { Store } from "../../src/session/store.js";
import { tempDir } from "../support/ode.js";

/** A session of `turns` turns: a user prompt, then an assistant message with reasoning, a bash call and text. */
function sessionWithTurns(store: Store, dir: string, turns: number) {
  const session = store.createSession({ directory: dir });
  const tools: ToolPart[] = [];
  for (let n = 0; n < turns; n++) {
    const user = newId("msg");
    store.addMessage({ id: user, sessionID: session.id, role: "user", time: { created: n }, agent: "build", model: { providerID: "p", modelID: "m" } });
    store.upsertPart({ id: newId("prt"), sessionID: session.id, messageID: user, type: "text", text: `prompt ${n}` });
    const answer: AssistantMessage = {
      id: newId("msg"),
      sessionID: session.id,
      role: "assistant",
      parentID: user,
      time: { created: n, completed: n },
      modelID: "m",
      providerID: "p",
      path: { cwd: dir, root: dir },
      tokens: emptyTokens(),
      cost: 0,
      finish: "stop",
    };
    store.addMessage(answer);
    const base = { sessionID: session.id, messageID: answer.id };
    store.upsertPart({ id: newId("prt"), ...base, type: "step-start" });
    store.upsertPart({ id: newId("prt"), ...base, type: "reasoning", text: `thinking ${n}`, time: { start: n } });
    const tool: ToolPart = {
      id: newId("prt"),
      ...base,
      type: "tool",
      tool: "bash",
      callID: `call_${n}`,
      state: { status: "completed", input: { command: `echo ${n}` }, output: `${n}\n`, title: "", metadata: {}, time: { start: n, end: n } },
    };
    store.upsertPart(tool);
    tools.push(tool);
    store.upsertPart({ id: newId("prt"), ...base, type: "text", text: `done ${n}` });
  }
  return { session, tools };
}

const uncachedPrompt = (store: Store, sessionID: string) => toPromptMessages(store.messages(sessionID));
const cacheRows = (store: Store) => store.db.prepare("SELECT count(*) AS n FROM prompt_cache").get() as { n: number };

describe("the prompt cache", () => {
  it("gives the conversion of the stored parts, from the first run on and once cached", () => {
    const dir = tempDir();
    const store = Store.open(dir);
    const { session } = sessionWithTurns(store, dir, 3);
    const expected = uncachedPrompt(store, session.id);
    expect(expected).toHaveLength(9);
    expect(cacheRows(store).n).toBe(0);
    expect(storedPrompt(store, session.id)).toEqual(expected);
    expect(cacheRows(store).n).toBe(6);
    expect(storedPrompt(store, session.id)).toEqual(expected);
    store.close();
  });

  it("drops a message's entry when any of its parts is written, added or deleted, by any connection", () => {
    const dir = tempDir();
    const store = Store.open(dir);
    const { session, tools } = sessionWithTurns(store, dir, 2);
    storedPrompt(store, session.id);
    const first = tools[0]!;
    store.upsertPart({ ...first, state: { ...first.state, output: "changed\n" } as ToolPart["state"] });
    expect(storedPrompt(store, session.id)).toEqual(uncachedPrompt(store, session.id));
    expect(JSON.stringify(storedPrompt(store, session.id))).toContain("changed");
    // Another process (an older release, sqlite3 itself) knows nothing of the cache: the triggers still see it.
    const other = new Database(path.join(dir, "ode.db"));
    other.prepare("DELETE FROM parts WHERE id = ?").run(tools[1]!.id);
    other.prepare("INSERT INTO parts (id, message_id, session_id, data) VALUES (?, ?, ?, ?)").run(
      "prt_added",
      first.messageID,
      session.id,
      JSON.stringify({ id: "prt_added", sessionID: session.id, messageID: first.messageID, type: "text", text: "added later" }),
    );
    other.close();
    const after = storedPrompt(store, session.id);
    expect(after).toEqual(uncachedPrompt(store, session.id));
    expect(JSON.stringify(after)).toContain("added later");
    expect(JSON.stringify(after)).not.toContain("call_1");
    // The same entries hold the history as a request sends it.
    const [serialised] = storedPrompt(store, session.id, "chat-completions");
    const wire = serialised?.role === "serialised" ? serialised.wire.toString() : "";
    expect(wire).toContain("added later");
    expect(wire).toContain("changed");
    expect(wire).not.toContain("call_1");
    store.close();
  });

  it("ignores an entry another conversion wrote", () => {
    const dir = tempDir();
    const store = Store.open(dir);
    const { session } = sessionWithTurns(store, dir, 1);
    const [user] = store.messages(session.id);
    // Written by the release before the request JSON was kept: no `wire`, and format 1.
    store.db.prepare("INSERT INTO prompt_cache (message_id, format, parts, prompt) VALUES (?, 1, 1, ?)").run(user!.info.id, "[]");
    const [serialised] = storedPrompt(store, session.id, "chat-completions");
    expect(serialised?.role === "serialised" && serialised.wire.toString()).toBe(uncachedPrompt(store, session.id).map(chatCompletionsJSON).join(","));
    expect(storedPrompt(store, session.id)).toEqual(uncachedPrompt(store, session.id));
    store.db.prepare("UPDATE prompt_cache SET format = 0, prompt = '[]'").run();
    expect(storedPrompt(store, session.id)).toEqual(uncachedPrompt(store, session.id));
    store.close();
  });

  it("converts all the same, and caches nothing, while another process holds the write lock", () => {
    const dir = tempDir();
    const store = Store.open(dir);
    const { session } = sessionWithTurns(store, dir, 2);
    store.db.pragma("busy_timeout = 20");
    const other = new Database(path.join(dir, "ode.db"));
    other.exec("BEGIN IMMEDIATE");
    expect(storedPrompt(store, session.id)).toEqual(uncachedPrompt(store, session.id));
    other.exec("ROLLBACK");
    other.close();
    expect(cacheRows(store).n).toBe(0);
    store.close();
  });

  it("goes with its session", () => {
    const dir = tempDir();
    const store = Store.open(dir);
    const { session } = sessionWithTurns(store, dir, 2);
    storedPrompt(store, session.id);
    store.deleteSession(session.id);
    expect(cacheRows(store).n).toBe(0);
    store.close();
  });
});
