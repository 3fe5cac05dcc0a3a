import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { AbortDiagnostic } from "../../src/session/abort.js";
import { Runs } from "../../src/session/runs.js";
import { Store } from "../../src/session/store.js";
import { KILL_GRACE_MS } from "../../src/shell/spawn.js";
import { collect, makeProject, runOde, scriptedConfig, startOde, waitFor, type Project } from "../support/ode.js";
import { markedProcesses, staleRecords } from "./support.js";

/** A bash tool call whose processes ignore SIGTERM and SIGINT, so only a kill that escalates ends them in time. */
const STUBBORN = `echo $$ > pgid.txt; trap "" TERM INT; (trap "" TERM INT; sleep 1000) & sleep 1000 & wait`;

/** `ode run` stopped inside that tool call, its processes marked so any survivor can be found. */
async function blockedRun(mark: string) {
  const project = makeProject(
    scriptedConfig({ title: "scripted title", steps: [{ tool_calls: [{ name: "bash", input: { command: STUBBORN } }] }, { text: "never" }] }),
  );
  const child = startOde(project, ["run", "block"], { env: { ODE_FAULT_MARK: mark } });
  const done = collect(child);
  child.stdin!.end();
  await waitFor(() => fs.existsSync(path.join(project.dir, "pgid.txt")));
  return { project, child, done };
}

function runOf(project: Project) {
  const store = Store.open(project.dataDir);
  try {
    const session = store.listSessions()[0];
    return { session, run: session && new Runs(store).rows(session.id)[0] };
  } finally {
    store.close();
  }
}

let marks = 0;
const newMark = () => `signals-${process.pid}-${++marks}`;

describe("signals and forced deletes end a run with nothing left behind", () => {
  it.each(["SIGHUP", "SIGQUIT"] as const)("%s mid-tool aborts with source signal and leaves no process", async (signal) => {
    const mark = newMark();
    const { project, child, done } = await blockedRun(mark);
    child.kill(signal);
    const result = await done;
    expect(result.code).toBe(130);
    expect(markedProcesses("ODE_FAULT_MARK", mark)).toEqual([]);
    expect(staleRecords(project.dataDir)).toEqual([]);
    const { run } = runOf(project);
    expect(run).toMatchObject({ outcome: "aborted" });
    expect(JSON.parse(run!.interrupt!) as AbortDiagnostic).toMatchObject({ source: "signal", via: signal, phase: "tool" });
  });

  it("a second Ctrl-C escalates to hard: ode exits once the group is gone and the records are committed", async () => {
    const mark = newMark();
    const { project, child, done } = await blockedRun(mark);
    child.kill("SIGINT");
    const first = Date.now();
    await new Promise((r) => setTimeout(r, 200));
    child.kill("SIGINT");
    const result = await done;
    // The processes ignore SIGTERM: only the escalation ends them before the soft kill's grace period would.
    expect(Date.now() - first).toBeLessThan(KILL_GRACE_MS);
    expect(result.code).toBe(130);
    expect(markedProcesses("ODE_FAULT_MARK", mark)).toEqual([]);
    expect(staleRecords(project.dataDir)).toEqual([]);
    const { run } = runOf(project);
    expect(run).toMatchObject({ outcome: "aborted", cancel_count: 1 });
    expect(JSON.parse(run!.interrupt!)).toMatchObject({ source: "signal", via: "SIGINT", mode: "soft", phase: "tool" });
  });

  it("session delete --force mid-run aborts the run, waits for its owner, then deletes", async () => {
    const mark = newMark();
    const { project, child, done } = await blockedRun(mark);
    const { session } = runOf(project);
    const deletion = await runOde(project, ["session", "delete", session!.id, "--force"]);
    expect(deletion).toMatchObject({ code: 0, stdout: `deleted ${session!.id}\n` });
    // The owner had ended the run and its processes before the session went; the owner itself may still be exiting.
    expect(markedProcesses("ODE_FAULT_MARK", mark).filter((pid) => pid !== child.pid)).toEqual([]);
    const owner = await done;
    expect(owner.code).toBe(130);
    expect(owner.stderr.trim().split("\n").at(-1)).toBe(
      `ode: session ${session!.id} was deleted by another command (ode session delete --force); the run was aborted`,
    );
    expect(runOf(project).session).toBeUndefined();
  });
});
