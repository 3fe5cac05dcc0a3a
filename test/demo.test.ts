import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./support/ode.js";

describe("the offline demo (README command 1)", () => {
  it("runs a real session, then shows why its second run stopped", () => {
    const out = execFileSync(process.execPath, [path.join(ROOT, "scripts", "demo.mjs")], { cwd: ROOT, encoding: "utf8" });
    expect(out).toMatch(/Running in session: Demo: look around the project \(ses_\w+\)/);
    expect(out).toMatch(/aborted: aborted by timeout via timeout \(soft\) during tool/);
    expect(out).toContain('"source": "timeout"');
    expect(out).toContain("[redacted:reason:run_");
    const project = /# a scratch project: (\S+)/.exec(out)![1]!;
    fs.rmSync(project, { recursive: true, force: true });
  });
});
