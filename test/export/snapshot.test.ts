import { describe, expect, it, vi } from "vitest";
import { buildExport } from "../../src/export/snapshot.js";
import { newId } from "../../src/ids.js";
import { Runs } from "../../src/session/runs.js";
import { emptyTokens } from "../../src/agent/tokens.js";
import type { Store } from "../../src/session/store.js";
import { makeProject } from "../support/ode.js";
import { withStore } from "./support.js";

function addTurns(store: Store, sessionID: string, turns: number): void {
  for (let i = 0; i < turns; i++) {
    const user = { id: newId("msg"), sessionID, role: "user" as const, time: { created: i } };
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
      cost: 0,
    };
    store.addMessage(assistant);
    store.upsertPart({ id: newId("prt"), sessionID, messageID: assistant.id, type: "text", text: `answer ${i}` });
    store.mergeDiagnostics(assistant.id, { note: i });
  }
}

describe("buildExport", () => {
  it("reads a session in a fixed number of queries, whatever its length", () => {
    const project = makeProject();
    withStore(project.dataDir, (store) => {
      const runs = new Runs(store);
      const small = store.createSession({ directory: "/p" });
      const large = store.createSession({ directory: "/p" });
      addTurns(store, small.id, 1);
      addTurns(store, large.id, 40);
      const statement = Object.getPrototypeOf(store.db.prepare("SELECT 1"));
      const spies = ["get", "all", "iterate", "run"].map((method) => vi.spyOn(statement, method));
      const queries = (id: string) => {
        for (const spy of spies) spy.mockClear();
        const doc = buildExport({ store, runs }, id);
        return { messages: doc.messages.length, queries: spies.reduce((n, spy) => n + spy.mock.calls.length, 0) };
      };
      const a = queries(small.id);
      const b = queries(large.id);
      for (const spy of spies) spy.mockRestore();
      expect([a.messages, b.messages]).toEqual([2, 80]);
      expect(b.queries).toBe(a.queries);
      // session, messages, parts, runs, title traces
      expect(a.queries).toBe(5);
    });
  });
});
