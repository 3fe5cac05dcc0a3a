// Issue 13: what one iteration of `ode loop` costs next to a shell `for` loop of `ode run`, on the same scripted
// one-tool turn (fresh session each time, title given so neither waits for a title model).
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { median, report } from "./stats.js";

const ODE = path.resolve("dist/ode.cjs");
const ITERATIONS = 10;
const ROUNDS = 3;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ode-bench-loop-"));
const script = { steps: [{ tool_calls: [{ name: "bash", input: { command: "echo $ODE_LOOP_ITERATION >> it.log" } }] }, { text: "done" }] };
fs.writeFileSync(path.join(dir, "ode.json"), JSON.stringify({ model: "s/m", provider: { s: { type: "scripted", options: { script } } } }));
const env = { ...process.env, ODE_DATA_DIR: path.join(dir, "data") };

function wall(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

const shell = `for i in $(seq ${ITERATIONS}); do "${process.execPath}" "${ODE}" run --title "bench #$i" "do the work" > /dev/null 2>&1 || exit 1; done`;
const shellMs = median(Array.from({ length: ROUNDS }, () => wall(() => execFileSync("bash", ["-c", shell], { cwd: dir, env })))) / ITERATIONS;
const loopMs =
  median(
    Array.from({ length: ROUNDS }, () =>
      wall(() => {
        try {
          execFileSync(process.execPath, [ODE, "loop", "--max-iterations", String(ITERATIONS), "do the work"], { cwd: dir, env, stdio: "ignore" });
        } catch (error) {
          // Reaching --max-iterations exits 4, as documented.
          if ((error as { status?: number }).status !== 4) throw error;
        }
      }),
    ),
  ) / ITERATIONS;
report(`shell for-loop of ode run, per iteration (${ITERATIONS} iterations)`, shellMs, "ms");
report(`ode loop, per iteration (${ITERATIONS} iterations)`, loopMs, "ms");
report("ode loop / shell loop", loopMs / shellMs, "x", "<= 0.5");
fs.rmSync(dir, { recursive: true, force: true });
