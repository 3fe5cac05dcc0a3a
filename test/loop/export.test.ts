import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { buildLoopExport, loopExportChunks, sanitizeLoopExport } from "../../src/export/loop-export.js";
import { Loops } from "../../src/loop/loops.js";
import { Runs } from "../../src/session/runs.js";
import { withStore } from "../export/support.js";
import { collect, makeProject, runOde, startOde } from "../support/ode.js";
import { bashTurn, loops, showLoop, waitForLines } from "./support.js";

/** Two exports of the same loop differ only in when they were made (the loop's and each session's `exported_at`). */
const atNoTime = (text: string) => text.replace(/"exported_at":( ?)\d+/g, '"exported_at":$10');

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

  it("streams the same bytes as the whole document: several iterations, a deleted session, an abort, plain and sanitized", async () => {
    // Four iterations; the third hangs in its tool call until the iteration timeout aborts it.
    const command = 'echo CANARY-OUTPUT-$ODE_LOOP_ITERATION; if [ "$ODE_LOOP_ITERATION" = 3 ]; then sleep 30; fi; true';
    const project = makeProject(bashTurn(command, "CANARY-ANSWER"));
    const args = ["loop", "--max-iterations", "4", "--until", "false", "--iteration-timeout", "5000", "--max-failures", "4", "CANARY-PROMPT"];
    // 4: the max_iterations limit.
    expect((await runOde(project, args)).code).toBe(4);
    const loop = await showLoop(project);
    expect(loop.iterations.map((it) => it.outcome)).toEqual(["completed", "completed", "aborted", "completed"]);
    expect((await runOde(project, ["session", "delete", loop.iterations[1]!.session_id])).code).toBe(0);

    const cli = await runOde(project, ["export", "--loop", loop.id]);
    const cliSanitized = await runOde(project, ["export", "--loop", loop.id, "--sanitize", "-o", "loop.json"]);
    expect([cli.code, cliSanitized.code]).toEqual([0, 0]);
    withStore(project.dataDir, (store) => {
      const runs = new Runs(store);
      const rt = { store, runs, loops: new Loops(store, runs) };
      const doc = buildLoopExport(rt, loop.id);
      expect(doc.sessions.map((s) => s.info.id)).toEqual([0, 2, 3].map((n) => loop.iterations[n]!.session_id));
      const sanitized = sanitizeLoopExport(doc);
      expect(sanitized.iterations[2]!.abort).toMatchObject({ source: "timeout", tool_call_id: expect.stringMatching(/^call:prt_/) });
      const streamed = (options: { sanitize?: boolean; pretty?: boolean }) => atNoTime([...loopExportChunks(rt, loop.id, options)].join(""));
      expect(streamed({ pretty: true })).toBe(atNoTime(JSON.stringify(doc, null, 2) + "\n"));
      expect(streamed({})).toBe(atNoTime(JSON.stringify(doc)));
      expect(streamed({ sanitize: true, pretty: true })).toBe(atNoTime(JSON.stringify(sanitized, null, 2) + "\n"));
      expect(streamed({ sanitize: true })).toBe(atNoTime(JSON.stringify(sanitized)));
      // The built CLI names its release where these sources say `local`.
      const release = (text: string) => text.replace(/"(app_version|channel)": "[^"]*"/g, '"$1": ""');
      expect(release(atNoTime(cli.stdout))).toBe(release(streamed({ pretty: true })));
      const file = fs.readFileSync(path.join(project.dir, "loop.json"), "utf8");
      expect(release(atNoTime(file))).toBe(release(streamed({ sanitize: true, pretty: true })));
      expect(file).not.toContain("CANARY");
    });
  });

  it("an unknown loop id is a clear error", async () => {
    const project = makeProject(bashTurn("true"));
    const result = await runOde(project, ["export", "--loop", "lop_nope"]);
    expect(result).toMatchObject({ code: 2, stderr: "ode: loop not found: lop_nope\n" });
  });
});
