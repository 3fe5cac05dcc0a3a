import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runOde, waitFor } from "../support/ode.js";
import { openEvents, startServer } from "../server/support.js";
import { bashTurn } from "./support.js";

describe("loops over HTTP", () => {
  it("POST /loop starts in the background (202), GET /loop[/:id] reads it, events arrive on /event", async () => {
    const server = await startServer(bashTurn("echo '<promise>OK</promise>'", "", true));
    const events = await openEvents(server.url);
    const started = await server.api("POST", "/loop", { prompt: "go", completionPromise: "OK", maxIterations: "3" });
    expect(started.status).toBe(202);
    const { loopID } = started.body;
    await waitFor(() => events.events.some((e) => e.type === "loop.finished"));
    const shown = await server.api("GET", `/loop/${loopID}`);
    expect(shown.body).toMatchObject({ id: loopID, stop_reason: "completed", iterations: [{ n: 1, outcome: "completed", promise: true }] });
    expect((await server.api("GET", "/loop")).body.map((l: { id: string }) => l.id)).toEqual([loopID]);
    const types = events.events.filter((e) => e.type.startsWith("loop.")).map((e) => e.type);
    expect(types).toEqual(["loop.started", "loop.iteration.started", "loop.iteration.finished", "loop.finished"]);
    const runEvents = events.events.filter((e) => e.type === "run.finished");
    expect(runEvents[0]!.sessionID).toBe(shown.body.iterations[0].session_id);
  });

  it("POST /loop/:id/abort stops the loop with source api; bad bodies name the field", async () => {
    const server = await startServer(bashTurn("sleep 30"));
    expect((await server.api("POST", "/loop", { prompt: "go", maxIterations: "1e3" })).body).toMatchObject({
      name: "InvalidInputError",
      data: { message: expect.stringMatching(/^--max-iterations must be a whole number/) },
    });
    expect((await server.api("POST", "/loop", { prompt: "go", maxIteration: 3 })).status).toBe(400);
    const { loopID } = (await server.api("POST", "/loop", { prompt: "go" })).body;
    await waitFor(() => server.rt.loops.lastIteration(loopID) && server.rt.runs.all()[0]?.activeCall);
    expect((await server.api("POST", `/loop/${loopID}/abort`, { reason: "stop button" })).body).toEqual({ aborted: true });
    await waitFor(() => server.rt.loops.get(loopID).ended_at);
    const loop = (await server.api("GET", `/loop/${loopID}`)).body;
    expect(loop).toMatchObject({
      stop_reason: "aborted",
      stop_detail: { abort: { source: "api", via: "POST /loop/:id/abort", reason: "stop button", phase: "tool" } },
    });
    expect(loop.iterations).toHaveLength(1);
    expect((await server.api("GET", "/loop/lop_nope")).status).toBe(404);
  });

  it("ode loop abort from another process cuts a served loop's --until, and leaves a client's run in the iteration's session alone", async () => {
    const server = await startServer(bashTurn("echo hi"));
    const { loopID } = (await server.api("POST", "/loop", { prompt: "go", until: "touch until.started; sleep 1000" })).body;
    await waitFor(() => fs.existsSync(path.join(server.project.dir, "until.started")));
    const sessionID = server.rt.loops.lastIteration(loopID)!.session_id;
    // A client's shell command in the iteration's session, run by the same server: the loop's process owns it too.
    const shell = server.api("POST", `/session/${sessionID}/shell`, { command: "sleep 1000" });
    const clientRun = await waitFor(() => server.rt.runs.get(sessionID)?.activeCall && server.rt.runs.get(sessionID));
    expect((await runOde(server.project, ["loop", "abort", loopID])).code).toBe(0);
    await waitFor(() => server.rt.loops.get(loopID).ended_at);
    expect(server.rt.loops.get(loopID)).toMatchObject({ stop_reason: "aborted", stop_detail: { abort: { via: "loop abort" } } });
    expect(server.rt.runs.get(sessionID)).toBe(clientRun);
    expect(clientRun.interrupt).toBeUndefined();
    server.rt.runs.cancel(sessionID, { source: "user", via: "test" });
    await shell;
  });
});
