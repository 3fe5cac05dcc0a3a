// Issue 3: start-up and a whole one-tool run of the built CLI, wall time and peak memory.
import { execFileSync } from "node:child_process";
import path from "node:path";
import { bashTurnProject } from "./bash-turn.js";
import { median, report, timedRun } from "./stats.js";

const ODE = path.resolve("dist/ode.js");
const RUNS = 15;

function wall(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

report("node -e 0 (baseline)", median(Array.from({ length: RUNS }, () => wall(() => execFileSync(process.execPath, ["-e", "0"])))), "ms");
report(
  "ode --version",
  median(Array.from({ length: RUNS }, () => wall(() => execFileSync(process.execPath, [ODE, "--version"])))),
  "ms",
  "<= 150",
);

const { dir, env, close } = await bashTurnProject();
const runs: Array<{ ms: number; rssKiB?: number }> = [];
for (let i = 0; i < RUNS; i++) runs.push(await timedRun([ODE, "run", "say hi with bash"], env, dir));
report("ode run, one bash tool call + answer (loopback model)", median(runs.map((r) => r.ms)), "ms", "<= 600");
if (runs[0]!.rssKiB !== undefined) {
  report("  peak RSS of that run (median)", median(runs.map((r) => r.rssKiB! / 1024)), "MiB", "<= 120");
}
await close();
