import { describe, expect, it } from "vitest";
import { collect, makeProject, runOde, startOde } from "../support/ode.js";
import { bashTurn, loops, waitForLines } from "./support.js";

describe("ode export --loop", () => {
  it("one document with the loop, its iterations and their sessions; --sanitize leaks none of its text", async () => {
    const project = makeProject(bashTurn('echo "$ODE_LOOP_ITERATION" >> it.log; echo CANARY-OUTPUT; [ "$ODE_LOOP_ITERATION" = 2 ] && sleep 30; true', "CANARY-ANSWER"));
    const child = startOde(project, [
      "loop", "--name", "CANARY-NAME", "--until", "echo CANARY-UNTIL; false", "--completion-promise", "CANARY-PROMISE",
      "--title-template", "CANARY-TITLE {n}", "CANARY-PROMPT do it",
    ]);
    const done = collect(child);
    child.stdin!.end();
    await waitForLines(project, "it.log", 2);
    const [loop] = await loops(project);
    expect((await runOde(project, ["loop", "abort", loop!.id, "--reason", "CANARY-REASON"])).code).toBe(0);
    expect((await done).code).toBe(130);

    const plain = await runOde(project, ["export", "--loop", loop!.id]);
    expect(plain.code).toBe(0);
    const doc = JSON.parse(plain.stdout);
    expect(doc).toMatchObject({ format: "ode.loop", loop: { id: loop!.id, name: "CANARY-NAME", stop_reason: "aborted" } });
    expect(doc.iterations).toHaveLength(2);
    expect(doc.sessions.map((s: { info: { id: string } }) => s.info.id)).toEqual(doc.iterations.map((i: { session_id: string }) => i.session_id));
    for (const canary of ["CANARY-NAME", "CANARY-UNTIL", "CANARY-PROMISE", "CANARY-TITLE", "CANARY-PROMPT", "CANARY-OUTPUT", "CANARY-ANSWER", "CANARY-REASON"]) {
      expect(plain.stdout).toContain(canary);
    }

    const sanitized = await runOde(project, ["export", "--loop", loop!.id, "--sanitize"]);
    expect(sanitized.code).toBe(0);
    for (const canary of ["CANARY", project.dir]) expect(sanitized.stdout).not.toContain(canary);
    const clean = JSON.parse(sanitized.stdout);
    expect(clean.loop).toMatchObject({ id: loop!.id, stop_reason: "aborted", spec: { maxIterations: 10, maxFailures: 3 } });
    expect(clean.loop.stop_detail.abort).toMatchObject({ source: "user", via: "loop abort", phase: "tool", reason: expect.stringMatching(/^\[redacted:reason:/) });
    expect(clean.iterations[0]).toMatchObject({ n: 1, outcome: "completed", until_exit: 1, promise: false });
    expect(clean.iterations[1].abort).toMatchObject({ source: "user", via: "loop abort", tool_call_id: expect.stringMatching(/^call:prt_/) });
  });

  it("an unknown loop id is a clear error", async () => {
    const project = makeProject(bashTurn("true"));
    const result = await runOde(project, ["export", "--loop", "lop_nope"]);
    expect(result).toMatchObject({ code: 2, stderr: "ode: loop not found: lop_nope\n" });
  });
});
