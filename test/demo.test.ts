import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./support/ode.js";

describe("the offline demo (README command 1)", () => {
  it("runs a real session, shows why its second run stopped, then a loop that completes on its third iteration", () => {
    const out = execFileSync(process.execPath, [path.join(ROOT, "scripts", "demo.mjs")], {
      cwd: ROOT,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
    });
    expect(out).toMatch(/Running in session: Demo: look around the project \(ses_\w+\)/);
    expect(out).toMatch(/aborted: aborted by timeout via timeout \(soft\) during tool/);
    expect(out).toContain('"source": "timeout"');
    expect(out).toContain("[redacted:reason:run_");
    // The expected abort is part of the transcript, explained, and not an error line of the test run.
    expect(out).toMatch(/ode: aborted: timeout after 1500 ms \(session ses_\w+\)\n\(exit code 130: expected, the run timed out\)/);
    expect(out).toMatch(/stopped after 3 iterations .*: completed: the completion promise appeared in iteration 3/);
    expect(out).toMatch(/iteration 3 of lop_\w+ in demo loop #3 \(ses_\w+\)/);
    expect(out).toMatch(/^3 +ses_\w+ +demo loop #3 +completed .* yes /m);
    const project = /# a scratch project: (\S+)/.exec(out)![1]!;
    expect(fs.existsSync(project)).toBe(false);
  });
});
