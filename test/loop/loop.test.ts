import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createRuntime } from "../../src/runtime.js";
import { withStore } from "../export/support.js";
import { markedProcesses } from "../reliability/support.js";
import { ODE, collect, makeProject, mockConfig, runOde, startModel, startOde, waitFor } from "../support/ode.js";
import { bashTurn, lines, loops, showLoop, waitForLines } from "./support.js";

const ENV_LOG = 'echo "$ODE_LOOP_ID $ODE_LOOP_ITERATION $OPENCODE_SESSION_ID $OPENCODE_SESSION_TITLE" >> env.log';
const PROMISE_ON_THIRD = `${ENV_LOG}; if [ "$ODE_LOOP_ITERATION" -ge 3 ]; then echo '<promise>DONE</promise>'; else echo 'not yet'; fi`;

describe("ode loop: completion", () => {
  it("completes by a promise on iteration 3; every child sees its loop, iteration, session and title", async () => {
    const project = makeProject(bashTurn(PROMISE_ON_THIRD, "Result: ", true));
    const result = await runOde(project, ["loop", "--name", "fixer", "--completion-promise", "DONE", "fix the bug"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/stopped after 3 iterations .*: completed: the completion promise appeared in iteration 3/);
    const loop = await showLoop(project);
    expect(loop).toMatchObject({ name: "fixer", stop_reason: "completed" });
    expect(loop.iterations.map((i) => [i.n, i.outcome, i.promise])).toEqual([
      [1, "completed", false],
      [2, "completed", false],
      [3, "completed", true],
    ]);
    expect(lines(project, "env.log")).toEqual(
      loop.iterations.map((i) => `${loop.id} ${i.n} ${i.session_id} fixer #${i.n}`),
    );
    expect(loop.id).toMatch(/^lop_[0-9a-f]{12}[0-9A-Za-z]{14}$/);
  });

  it("a promise only in the prompt or a tool output never completes it", async () => {
    const project = makeProject(bashTurn("echo '<promise>DONE</promise>'", "nothing to report"));
    const result = await runOde(project, ["loop", "--max-iterations", "2", "--completion-promise", "DONE", "say <promise>DONE</promise>"]);
    expect(result.code).toBe(4);
    const loop = await showLoop(project);
    expect(loop.stop_reason).toBe("max_iterations");
    expect(loop.iterations.map((i) => i.promise)).toEqual([false, false]);
  });

  it("--until completes when its command exits 0, run with the iteration's session env; exit code and output are kept", async () => {
    const project = makeProject(bashTurn('if [ "$ODE_LOOP_ITERATION" = 2 ]; then touch READY; fi'));
    const until = 'echo "checked $ODE_LOOP_ITERATION $OPENCODE_SESSION_ID"; test -f READY';
    const result = await runOde(project, ["loop", "--until", until, "make it ready"]);
    expect(result.code).toBe(0);
    const loop = await showLoop(project);
    expect(loop.stop_reason).toBe("completed");
    expect(loop.iterations.map((i) => [i.until_exit, i.until_output])).toEqual([
      [1, `checked 1 ${loop.iterations[0]!.session_id}\n`],
      [0, `checked 2 ${loop.iterations[1]!.session_id}\n`],
    ]);
    expect(loop.iterations.map((i) => i.files_changed)).toEqual([0, 1]);
  });

  it("--min-iterations holds a completion back", async () => {
    const project = makeProject(bashTurn("echo '<promise>OK</promise>'", "", true));
    const result = await runOde(project, ["loop", "--min-iterations", "2", "--completion-promise", "OK", "go"]);
    expect(result.code).toBe(0);
    expect((await showLoop(project)).iterations).toHaveLength(2);
  });
});

describe("ode loop: prompt and output", () => {
  it("re-reads --prompt-file at each iteration; --format json prints loop and run events, each with loopID and sessionID", async () => {
    const project = makeProject(bashTurn('echo "edited after $ODE_LOOP_ITERATION" > PROMPT.md'));
    fs.writeFileSync(path.join(project.dir, "PROMPT.md"), "the first prompt");
    const result = await runOde(project, ["loop", "--prompt-file", "PROMPT.md", "--max-iterations", "2", "--format", "json"]);
    expect(result.code).toBe(4);
    const events = result.stdout.trim().split("\n").map((line) => JSON.parse(line));
    const loop = await showLoop(project);
    expect(events.every((e) => e.loopID === loop.id && typeof e.sessionID === "string")).toBe(true);
    expect(events.filter((e) => e.type.startsWith("loop.")).map((e) => e.type)).toEqual([
      "loop.started",
      "loop.iteration.started",
      "loop.iteration.finished",
      "loop.iteration.started",
      "loop.iteration.finished",
      "loop.finished",
    ]);
    expect(events.filter((e) => e.type === "run.finished").map((e) => e.sessionID)).toEqual(loop.iterations.map((i) => i.session_id));
    const prompts = [];
    for (const it of loop.iterations) {
      const doc = JSON.parse((await runOde(project, ["export", it.session_id])).stdout);
      prompts.push(doc.messages[0].parts[0].text);
    }
    expect(prompts).toEqual(["the first prompt", "edited after 1\n"]);
    expect(loop.name).toBe("the first prompt");
  });
});

describe("ode loop: limits", () => {
  it("--max-tokens stops with budget (exit 4)", async () => {
    const project = makeProject(bashTurn("true"));
    expect((await runOde(project, ["loop", "--max-tokens", "1", "go"])).code).toBe(4);
    const loop = await showLoop(project);
    expect(loop.stop_reason).toBe("budget");
    expect(loop.iterations).toHaveLength(1);
    expect(loop.iterations[0]!.tokens).toBeGreaterThan(0);
  });

  it("--max-duration stops the whole loop, aborting the running iteration (exit 4)", async () => {
    const project = makeProject(bashTurn("sleep 30"));
    const result = await runOde(project, ["loop", "--max-duration", "5000", "go"]);
    expect(result.code).toBe(4);
    const loop = await showLoop(project);
    expect(loop.stop_reason).toBe("max_duration");
    expect(loop.iterations[0]!.abort).toMatchObject({ source: "timeout", via: "loop", phase: "tool" });
  });

  it("--no-progress stops after N iterations that changed nothing (exit 1); a changing one resets the count", async () => {
    const project = makeProject(bashTurn('if [ "$ODE_LOOP_ITERATION" = 2 ]; then echo x > changed.txt; fi'));
    expect((await runOde(project, ["loop", "--no-progress", "2", "go"])).code).toBe(1);
    const loop = await showLoop(project);
    expect(loop.stop_reason).toBe("no_progress");
    expect(loop.iterations.map((i) => i.files_changed)).toEqual([0, 1, 0, 0]);
  });

  it("--max-failures stops after N model errors in a row (exit 1)", async () => {
    const project = makeProject({
      model: "demo/scripted",
      provider: { demo: { type: "scripted", options: { script: { steps: [{ error: "the model fell over" }] } } } },
    });
    expect((await runOde(project, ["loop", "--max-failures", "2", "go"])).code).toBe(1);
    const loop = await showLoop(project);
    expect(loop).toMatchObject({ stop_reason: "failures" });
    expect(loop.iterations.map((i) => i.outcome)).toEqual(["error", "error"]);
  });

  it("an iteration timeout aborts that iteration (source timeout, via loop) and the loop goes on", async () => {
    const project = makeProject(bashTurn("sleep 30"));
    const result = await runOde(project, ["loop", "--iteration-timeout", "3000", "--max-iterations", "2", "go"]);
    expect(result.code).toBe(4);
    const loop = await showLoop(project);
    expect(loop.stop_reason).toBe("max_iterations");
    for (const it of loop.iterations) {
      expect(it.outcome).toBe("aborted");
      expect(it.abort).toMatchObject({ source: "timeout", via: "loop", reason: "iteration timeout of 3000 ms", phase: "tool" });
    }
  });

  it("a provider 429 stops with usage_limit; with --on-limit wait it waits for retry-after and goes on", async () => {
    const limited = { status: 429, errorBody: { error: { message: "slow down", type: "requests", code: "rate_limit_exceeded" } }, errorHeaders: { "retry-after": "0" } };
    const model = await startModel([limited, limited, { text: "done <promise>OK</promise>" }]);
    const project = makeProject(mockConfig(model.baseURL));
    expect((await runOde(project, ["loop", "--completion-promise", "OK", "go"])).code).toBe(1);
    const stopped = await showLoop(project);
    expect(stopped.stop_reason).toBe("usage_limit");
    expect(stopped.iterations[0]!.error).toMatchObject({ name: "APIError", data: { statusCode: 429 } });

    const again = await startModel([limited, limited, { text: "done <promise>OK</promise>" }]);
    const waiting = makeProject(mockConfig(again.baseURL));
    expect((await runOde(waiting, ["loop", "--on-limit", "wait", "--completion-promise", "OK", "go"])).code).toBe(0);
    expect((await showLoop(waiting)).iterations.map((i) => i.outcome)).toEqual(["error", "completed"]);
  });

  it("refuses counts that are not plain decimals, naming the flag; 08 is 8", async () => {
    const project = makeProject(bashTurn("true"));
    for (const bad of ["1e3", "-1", "0x10", "2.5", ""]) {
      const result = await runOde(project, ["loop", `--max-iterations=${bad}`, "go"]);
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/^ode: --max-iterations must be a whole number written in decimal/);
    }
    expect(await loops(project)).toEqual([]);
    const ok = await runOde(project, ["loop", "--max-iterations", "02", "go"]);
    expect(ok.code).toBe(4);
    expect((await showLoop(project)).iterations).toHaveLength(2);
  });
});

describe("ode loop: stopping, crashes and resume", () => {
  it("SIGINT aborts the running iteration with its provenance and stops the loop (exit 130)", async () => {
    const project = makeProject(bashTurn(`${ENV_LOG}; sleep 30`));
    const child = startOde(project, ["loop", "go"]);
    const done = collect(child);
    child.stdin!.end();
    await waitForLines(project, "env.log", 1);
    child.kill("SIGINT");
    const result = await done;
    expect(result.code).toBe(130);
    const loop = await showLoop(project);
    expect(loop.stop_reason).toBe("aborted");
    expect(loop.stop_detail!.abort).toMatchObject({ source: "signal", via: "SIGINT", phase: "tool" });
    expect(loop.iterations[0]).toMatchObject({ outcome: "aborted", abort: { source: "signal", via: "SIGINT" } });
  });

  it("ode session abort of one iteration ends only that iteration; ode loop abort stops the loop from another process", async () => {
    const project = makeProject(bashTurn(`${ENV_LOG}; sleep 30`));
    const child = startOde(project, ["loop", "go"]);
    const done = collect(child);
    child.stdin!.end();
    const [first] = await waitForLines(project, "env.log", 1);
    const [loopID, , sessionID] = first!.split(" ");
    expect((await runOde(project, ["session", "abort", sessionID!, "--reason", "just this one"])).code).toBe(0);
    await waitForLines(project, "env.log", 2);
    const abort = await runOde(project, ["loop", "abort", loopID!, "--reason", "enough"]);
    expect(abort.stdout).toContain(`aborting loop ${loopID}`);
    expect((await done).code).toBe(130);
    const loop = await showLoop(project, loopID);
    expect(loop.iterations.map((i) => [i.outcome, i.abort?.via, i.abort?.reason])).toEqual([
      ["aborted", "cli", "just this one"],
      ["aborted", "loop abort", "enough"],
    ]);
    expect(loop).toMatchObject({ stop_reason: "aborted", stop_detail: { abort: { source: "user", via: "loop abort", reason: "enough" } } });
  });

  it("a kill -9 mid-loop is recovered as aborted (crash-recovery); resume numbers on", async () => {
    const project = makeProject(bashTurn(`${ENV_LOG}; if [ -f SLOW ]; then sleep 30; fi`));
    fs.writeFileSync(path.join(project.dir, "SLOW"), "");
    const child = startOde(project, ["loop", "--max-iterations", "5", "go"]);
    const done = collect(child);
    child.stdin!.end();
    const [first] = await waitForLines(project, "env.log", 1);
    child.kill("SIGKILL");
    await done;
    fs.rmSync(path.join(project.dir, "SLOW"));
    const loopID = first!.split(" ")[0]!;
    const crashed = await showLoop(project, loopID);
    expect(crashed).toMatchObject({ stop_reason: "aborted", stop_detail: { abort: { source: "shutdown", reason: "crash-recovery" } } });
    expect(crashed.iterations[0]).toMatchObject({ outcome: "aborted", abort: { source: "shutdown", reason: "crash-recovery" } });

    const resumed = await runOde(project, ["loop", "resume", loopID, "--max-iterations", "2"]);
    expect(resumed.code).toBe(4);
    const loop = await showLoop(project, loopID);
    expect(loop.iterations.map((i) => [i.n, i.outcome])).toEqual([
      [1, "aborted"],
      [2, "completed"],
      [3, "completed"],
    ]);
    expect(lines(project, "env.log").map((l) => l.split(" ")[1])).toEqual(["1", "2", "3"]);
  });

  it("a kill -9 while --until runs: the iteration keeps its run's outcome and tokens, and the command does not survive", async () => {
    const mark = `loop-until-${process.pid}-${Date.now()}`;
    const project = makeProject(bashTurn(ENV_LOG));
    const child = startOde(project, ["loop", "--until", "touch until.started; sleep 1000", "go"], { env: { ODE_FAULT_MARK: mark } });
    const done = collect(child);
    child.stdin!.end();
    await waitFor(() => fs.existsSync(path.join(project.dir, "until.started")));
    child.kill("SIGKILL");
    await done;
    const loopID = lines(project, "env.log")[0]!.split(" ")[0]!;
    const crashed = await showLoop(project, loopID);
    expect(crashed).toMatchObject({ stop_reason: "aborted", stop_detail: { abort: { source: "shutdown", reason: "crash-recovery" } } });
    expect(crashed.iterations).toEqual([expect.objectContaining({ n: 1, outcome: "completed", abort: null })]);
    expect(crashed.iterations[0]!.tokens).toBeGreaterThan(0);
    expect(markedProcesses("ODE_FAULT_MARK", mark)).toEqual([]);
  });

  for (const how of ["SIGINT", "ode loop abort"] as const) {
    it(`${how} while --until runs stops the loop at once, but not a run another process has started in the iteration's session`, async () => {
      const mark = `loop-until-stop-${process.pid}-${Date.now()}`;
      const project = makeProject(bashTurn(ENV_LOG));
      const child = startOde(project, ["loop", "--until", "touch until.started; sleep 1000", "go"], { env: { ODE_FAULT_MARK: mark } });
      const done = collect(child);
      child.stdin!.end();
      await waitFor(() => fs.existsSync(path.join(project.dir, "until.started")));
      const [loopID, , sessionID] = lines(project, "env.log")[0]!.split(" ");
      const other = startOde(project, ["shell", sessionID!, "touch other.started; sleep 1000"]);
      const otherDone = collect(other);
      await waitFor(() => fs.existsSync(path.join(project.dir, "other.started")));
      if (how === "SIGINT") child.kill("SIGINT");
      else expect((await runOde(project, ["loop", "abort", loopID!])).code).toBe(0);
      // Well before the --until command would end: the stop cut it.
      expect((await done).code).toBe(130);
      expect(markedProcesses("ODE_FAULT_MARK", mark)).toEqual([]);
      const via = how === "SIGINT" ? "SIGINT" : "loop abort";
      expect(await showLoop(project, loopID)).toMatchObject({ stop_reason: "aborted", stop_detail: { abort: { via } } });
      const otherRun = withStore(project.dataDir, (store) =>
        store.db.prepare(`SELECT ended_at, interrupt, cancel_request FROM runs WHERE session_id = ? AND kind = 'shell'`).get(sessionID),
      );
      expect(otherRun).toEqual({ ended_at: null, interrupt: null, cancel_request: null });
      other.kill("SIGTERM");
      expect((await otherDone).code).toBe(130);
    });
  }

  it("ode loop abort of a loop whose process died closes the iteration's run first: the iteration says why it stopped", async () => {
    const mark = `loop-dead-${process.pid}-${Date.now()}`;
    const project = makeProject(bashTurn(`${ENV_LOG}; sleep 1000`));
    // Open before the loop starts, as a server that runs on: its start-up recovery saw nothing to recover.
    const rt = createRuntime({ directory: project.dir, dataDir: project.dataDir, env: project.env });
    try {
      const child = startOde(project, ["loop", "go"], { env: { ODE_FAULT_MARK: mark } });
      const done = collect(child);
      child.stdin!.end();
      const [first] = await waitForLines(project, "env.log", 1);
      child.kill("SIGKILL");
      await done;
      const loopID = first!.split(" ")[0]!;
      expect(rt.loops.requestAbort(loopID, { source: "user", via: "cli" })).toEqual({ aborted: false });
      const [iteration] = rt.loops.iterations(loopID);
      expect(iteration).toMatchObject({ outcome: "aborted", abort: { source: "shutdown", reason: "crash-recovery", phase: "tool" } });
      expect(rt.runs.rows(iteration!.session_id)).toEqual([expect.objectContaining({ outcome: "aborted" })]);
      expect(markedProcesses("ODE_FAULT_MARK", mark)).toEqual([]);
    } finally {
      rt.close();
    }
  });

  it("a loop inside a loop's bash tool gives its own children its own loop id", async () => {
    const inner = `ODE_DATA_DIR="$PWD/.inner" "${process.execPath}" "${ODE}" loop --max-iterations 1 go-inner > /dev/null`;
    const project = makeProject(bashTurn(`${ENV_LOG}; if [ -z "$INNER" ]; then INNER=1 ${inner}; fi`));
    const result = await runOde(project, ["loop", "--max-iterations", "1", "go"]);
    expect(result.code).toBe(4);
    const [outer, nested] = lines(project, "env.log").map((l) => l.split(" "));
    expect(outer![1]).toBe("1");
    expect(nested![0]).toMatch(/^lop_/);
    expect(nested![0]).not.toBe(outer![0]);
  });
});
