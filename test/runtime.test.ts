import { describe, expect, it } from "vitest";
import { driveRun, startRun } from "../src/agent/prompt.js";
import { RuntimeEvents, type OdeEvent } from "../src/events.js";
import { Runs } from "../src/session/runs.js";
import { Store } from "../src/session/store.js";
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { createRuntime } from "../src/runtime.js";
import { sessionEnv } from "../src/shell/env.js";
import { collect, makeProject, runOde, scriptedConfig, waitFor } from "./support/ode.js";

const sleepTurn = { steps: [{ tool_calls: [{ name: "bash", input: { command: "sleep 30" } }] }, { text: "done" }] };

describe("a runtime owns its events and asks before touching the process", () => {
  it("two runtimes in one process never see each other's events", async () => {
    const a = makeProject(scriptedConfig({ steps: [{ text: "from a" }] }));
    const b = makeProject(scriptedConfig({ steps: [{ text: "from b" }] }));
    const rtA = createRuntime({ directory: a.dir, dataDir: a.dataDir, env: a.env });
    const rtB = createRuntime({ directory: b.dir, dataDir: b.dataDir, env: b.env });
    const seenA: OdeEvent[] = [];
    const seenB: OdeEvent[] = [];
    rtA.events.subscribe((e) => seenA.push(e));
    rtB.events.subscribe((e) => seenB.push(e));
    const sA = rtA.store.createSession({ directory: a.dir, title: "a" });
    const sB = rtB.store.createSession({ directory: b.dir, title: "b" });
    const [ra, rb] = [startRun(rtA, { sessionID: sA.id, text: "hi" }), startRun(rtB, { sessionID: sB.id, text: "hi" })];
    await Promise.all([driveRun(rtA, ra), driveRun(rtB, rb)]);
    expect(seenA.some((e) => e.type === "run.finished")).toBe(true);
    expect(seenA.every((e) => e.sessionID === sA.id)).toBe(true);
    expect(seenB.every((e) => e.sessionID === sB.id)).toBe(true);
    expect(seenB.some((e) => e.type === "message.part.delta")).toBe(true);
    rtA.close();
    rtB.close();
  });

  it("two runtimes in one process log into their own data directories", () => {
    const [a, b] = [makeProject(), makeProject()];
    const rtA = createRuntime({ directory: a.dir, dataDir: a.dataDir, env: a.env });
    const rtB = createRuntime({ directory: b.dir, dataDir: b.dataDir, env: b.env });
    // A spawn for a session the store does not know is refused its variables and logged.
    sessionEnv(rtA.store, "ses_unknownToA");
    sessionEnv(rtB.store, "ses_unknownToB");
    const logged = (rt: typeof rtA) => fs.readFileSync(rt.store.log.file, "utf8").trim().split("\n").map((line) => JSON.parse(line).sessionID);
    expect([logged(rtA), logged(rtB)]).toEqual([["ses_unknownToA"], ["ses_unknownToB"]]);
    expect(rtA.store.log.file.startsWith(a.dataDir)).toBe(true);
    rtA.close();
    rtB.close();
  });

  it("a run whose row cannot be ended is still announced as finished, so what waits on it stops waiting", () => {
    const project = makeProject();
    const rt = createRuntime({ directory: project.dir, dataDir: project.dataDir, env: project.env });
    const session = rt.store.createSession({ directory: project.dir });
    const run = rt.runs.start(session.id, "prompt");
    // The write that ends the run fails, as it does on a full disk.
    rt.store.db.exec(`CREATE TEMP TRIGGER refuse_end BEFORE UPDATE OF ended_at ON runs BEGIN SELECT RAISE(ABORT, 'no room'); END`);
    const seen: OdeEvent[] = [];
    rt.events.subscribe((event) => seen.push(event));
    expect(() => rt.runs.finish(run, "completed")).toThrow(/no room/);
    expect(seen.map((e) => [e.type, e.properties])).toEqual([["run.finished", { runID: run.id, outcome: "completed" }]]);
    expect(rt.runs.get(session.id)).toBeUndefined();
    // The session is not busy for the rest of the process: the row left open is closed like a dead owner's.
    rt.store.db.exec(`DROP TRIGGER refuse_end`);
    const next = rt.runs.start(session.id, "prompt");
    expect(rt.runs.rows(session.id).map((r) => [r.id, r.outcome])).toEqual([
      [run.id, "aborted"],
      [next.id, null],
    ]);
    expect(JSON.parse(rt.runs.rows(session.id)[0]!.interrupt!)).toMatchObject({ reason: "store-write-failed" });
    rt.close();
  });

  it("a listener that throws keeps neither the others from an event nor the emitting write from completing", () => {
    const project = makeProject();
    const errors: unknown[] = [];
    const events = new RuntimeEvents((error) => errors.push(error));
    const store = Store.open(project.dataDir, events);
    const runs = new Runs(store, "watch");
    const session = store.createSession({ directory: project.dir });
    const seen: string[] = [];
    events.subscribe(() => {
      throw new Error("listener bug");
    });
    events.subscribe((event) => seen.push(event.type));
    const run = runs.start(session.id, "prompt");
    expect(runs.get(session.id)?.id).toBe(run.id);
    runs.finish(run, "completed");
    expect(seen).toEqual(["run.started", "run.finished"]);
    expect(errors.map(String)).toEqual(["Error: listener bug", "Error: listener bug"]);
    expect(runs.rows(session.id)[0]).toMatchObject({ id: run.id, outcome: "completed" });
    // The store's own failure is still what the caller of a failing write gets.
    const second = runs.start(session.id, "prompt");
    store.db.exec(`CREATE TEMP TRIGGER refuse_end BEFORE UPDATE OF ended_at ON runs BEGIN SELECT RAISE(ABORT, 'no room'); END`);
    expect(() => runs.finish(second, "completed")).toThrow(/no room/);
    expect(seen.slice(2)).toEqual(["run.started", "run.finished"]);
    store.close();
  });

  it("startRun holds the run before anything is awaited: a cancel right after it ends the run queued", async () => {
    const project = makeProject(scriptedConfig({ steps: [{ text: "never" }] }));
    const rt = createRuntime({ directory: project.dir, dataDir: project.dataDir, env: project.env });
    const session = rt.store.createSession({ directory: project.dir });
    const started = startRun(rt, { sessionID: session.id, text: "hi" });
    expect(rt.runs.get(session.id)?.id).toBe(started.run.id);
    expect(rt.runs.cancel(session.id, { source: "api", reason: "early" })).toMatchObject({ cause: true });
    const result = await driveRun(rt, started);
    expect(result).toMatchObject({ outcome: "aborted", assistantMessageIDs: [] });
    expect(JSON.parse(rt.runs.rows(session.id)[0]!.interrupt!)).toMatchObject({ phase: "queued", reason: "early" });
    rt.close();
  });

  it("a library runtime leaves process.env and SIGUSR2 alone; its children are still marked", async () => {
    const saved = { AGENT: process.env.AGENT, OPENCODE: process.env.OPENCODE };
    delete process.env.AGENT;
    delete process.env.OPENCODE;
    const listeners = process.listenerCount("SIGUSR2");
    try {
      const project = makeProject(scriptedConfig({ steps: [] }));
      const rt = createRuntime({ directory: project.dir, dataDir: project.dataDir, env: project.env });
      expect(process.env.AGENT).toBeUndefined();
      expect(process.env.OPENCODE).toBeUndefined();
      expect(process.listenerCount("SIGUSR2")).toBe(listeners);
      const { runShell } = await import("../src/agent/shell.js");
      const session = rt.store.createSession({ directory: project.dir });
      const shell = await runShell(rt, { sessionID: session.id, command: 'echo "$AGENT$OPENCODE"' });
      expect(shell.output).toBe("11\n");
      rt.close();
    } finally {
      Object.assign(process.env, saved);
    }
  });

  it("a process-wide runtime, once closed, outlives a late SIGUSR2 (a wake for a run that had just ended)", async () => {
    const project = makeProject(scriptedConfig({ steps: [] }));
    const script = `
      const { createRuntime } = await import(${JSON.stringify(path.resolve("dist/index.js"))});
      createRuntime({ processWide: true, directory: process.argv[1], dataDir: process.argv[2] }).close();
      process.kill(process.pid, "SIGUSR2");
      setTimeout(() => console.log("alive"), 200);`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script, project.dir, project.dataDir], { env: project.env });
    expect(await collect(child)).toMatchObject({ code: 0, signal: null, stdout: "alive\n" });
  });

  it("ode session abort from another process reaches a library runtime without a signal", async () => {
    const project = makeProject(scriptedConfig(sleepTurn));
    const rt = createRuntime({ directory: project.dir, dataDir: project.dataDir, env: project.env });
    const session = rt.store.createSession({ directory: project.dir });
    const { prompt } = await import("../src/agent/prompt.js");
    const running = prompt(rt, { sessionID: session.id, text: "sleep" });
    await waitFor(() => rt.runs.get(session.id)?.activeCall);
    // SIGUSR2 has no handler in this process: had the CLI sent it, this test process would have been killed.
    const abort = await runOde(project, ["session", "abort", session.id, "--reason", "from another terminal"]);
    expect(abort.code).toBe(0);
    const result = await running;
    expect(result.outcome).toBe("aborted");
    expect(JSON.parse(rt.runs.rows(session.id)[0]!.interrupt!)).toMatchObject({
      source: "user",
      via: "cli",
      reason: "from another terminal",
      phase: "tool",
    });
    rt.close();
  });
});
