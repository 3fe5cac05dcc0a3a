import { describe, expect, it } from "vitest";
import { longPrompt, startCompactionModel } from "../support/compaction.js";
import { mockConfig } from "../support/ode.js";
import { startServer } from "./support.js";

describe("compaction over HTTP", () => {
  it("POST /session/:id/compact answers the run and its record; opencode's summarize answers a boolean; an empty session is a 400", async () => {
    const model = await startCompactionModel([{ text: "answer one" }, { text: "answer two" }, { text: "answer three" }]);
    const server = await startServer(mockConfig(model.baseURL));
    const { body: session } = await server.api("POST", "/session");
    for (const word of ["OLD-ONE", "RECENT-TWO"]) {
      expect((await server.api("POST", `/session/${session.id}/message`, { parts: [{ type: "text", text: longPrompt(word) }] })).status).toBe(200);
    }

    const compacted = await server.api("POST", `/session/${session.id}/compact`, { model: "mock/test-model" });
    expect(compacted.status).toBe(200);
    expect(compacted.body).toMatchObject({ sessionID: session.id, outcome: "completed", compaction: { trigger: "manual", success: true, messages: 2 } });
    expect(compacted.headers.get("x-ode-run-id")).toBe(compacted.body.runID);
    expect(server.rt.runs.rows(session.id).at(-1)).toMatchObject({ id: compacted.body.runID, kind: "compact", outcome: "completed" });

    await server.api("POST", `/session/${session.id}/message`, { parts: [{ type: "text", text: "more" }] });
    const summarized = await server.api("POST", `/session/${session.id}/summarize`, { providerID: "mock", modelID: "test-model" });
    expect(summarized).toMatchObject({ status: 200, body: true });
    const exported = await server.api("GET", `/session/${session.id}/export`);
    expect(exported.body.diagnostics.compactions.map((c: { trigger: string }) => c.trigger)).toEqual(["manual", "manual"]);

    const { body: empty } = await server.api("POST", "/session");
    const refused = await server.api("POST", `/session/${empty.id}/compact`, {});
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({ name: "NothingToCompactError", data: { message: `session ${empty.id} has nothing to compact: no message since its last summary` } });
    const badBody = await server.api("POST", `/session/${session.id}/summarize`, { providerID: "mock" });
    expect(badBody.status).toBe(400);
    expect(badBody.body.data.message).toContain("modelID");
  });
});
