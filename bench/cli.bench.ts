// Issues 3 and 18: start-up of the built CLI's commands that need no model, against bare node, and a whole
// one-tool run, wall time and peak memory.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Store } from "../src/session/store.js";
import { bashTurnProject } from "./bash-turn.js";
import { sessionDocument } from "./session-document.js";
import { median, report, timedRun } from "./stats.js";

const ODE = path.resolve("dist/ode.cjs");
const RUNS = 21;
const SESSIONS = 100;

// A data directory with SESSIONS sessions, one of them 40 messages long (the one `session show` prints).
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ode-bench-cli-"));
const env = { ...process.env, ODE_DATA_DIR: path.join(dir, "data") };
const shown = "ses_000000000000benchShow00000";
fs.writeFileSync(path.join(dir, "show.json"), sessionDocument(shown, 20));
execFileSync(process.execPath, [ODE, "import", path.join(dir, "show.json")], { env, cwd: dir, stdio: ["ignore", "ignore", "inherit"] });
const store = Store.open(env.ODE_DATA_DIR);
for (let i = 1; i < SESSIONS; i++) store.createSession({ directory: dir, title: `bench session ${i}` });
store.close();

// Rounds interleave the commands, so load from elsewhere on the machine weighs on each of them alike; the ratio
// is taken within each round, then its median reported.
const commands: Array<[string, string[]]> = [
  ["node -e 0 (baseline)", ["-e", "0"]],
  ["ode --version", [ODE, "--version"]],
  [`ode session list (${SESSIONS} sessions)`, [ODE, "session", "list"]],
  ["ode session show ID (40 messages)", [ODE, "session", "show", shown]],
];
const samples = commands.map(() => [] as Array<{ ms: number; cpuMs?: number }>);
for (let round = 0; round < RUNS; round++) for (const [i, [, args]] of commands.entries()) samples[i]!.push(await timedRun(args, env, dir));
commands.forEach(([name], i) => {
  report(`${name}, wall (median of ${RUNS})`, median(samples[i]!.map((s) => s.ms)), "ms");
  if (samples[i]![0]!.cpuMs !== undefined) report("  CPU, user + system (/usr/bin/time, 10 ms steps)", median(samples[i]!.map((s) => s.cpuMs!)), "ms");
  if (i > 0) report("  wall / node -e 0, same round", median(samples[i]!.map((s, round) => s.ms / samples[0]![round]!.ms)), "ratio", "<= 1.3");
});
fs.rmSync(dir, { recursive: true, force: true });

const project = await bashTurnProject();
const runs: Array<{ ms: number; rssKiB?: number }> = [];
for (let i = 0; i < 15; i++) runs.push(await timedRun([ODE, "run", "say hi with bash"], project.env, project.dir));
report("ode run, one bash tool call + answer (loopback model)", median(runs.map((r) => r.ms)), "ms", "<= 600");
if (runs[0]!.rssKiB !== undefined) {
  report("  peak RSS of that run (median)", median(runs.map((r) => r.rssKiB! / 1024)), "MiB", "<= 120");
}
await project.close();
