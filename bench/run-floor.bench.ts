// Issue 18: what `ode run` adds over the bare AI SDK. The same two-step turn (one bash call, then an answer) against
// the same loopback model, by `ode run` and by bench/floor-turn.mjs (`streamText` + the provider, in one process):
// CPU (user + system) and wall time, medians. `ode run --title` skips the title request, which the floor does not
// make; plain `ode run` also generates a title.
import path from "node:path";
import { bashTurnProject } from "./bash-turn.js";
import { median, report, timedRun } from "./stats.js";

const ODE = path.resolve("dist/ode.cjs");
const FLOOR = path.resolve("bench/floor-turn.mjs");
const RUNS = 15;

const project = await bashTurnProject();

async function measure(args: string[]) {
  const runs = [];
  for (let i = 0; i < RUNS; i++) runs.push(await timedRun(args, project.env, project.dir));
  return { cpuMs: median(runs.map((r) => r.cpuMs!)), ms: median(runs.map((r) => r.ms)) };
}

const floor = await measure([FLOOR, project.baseURL]);
const titled = await measure([ODE, "run", "--title", "bench", "say hi with bash"]);
const plain = await measure([ODE, "run", "say hi with bash"]);
report(`floor: streamText + provider, two steps (median of ${RUNS}): CPU`, floor.cpuMs, "ms");
report("  wall", floor.ms, "ms");
report("ode run --title (no title request): CPU", titled.cpuMs, "ms");
report("  wall", titled.ms, "ms");
report("  CPU / floor", titled.cpuMs / floor.cpuMs, "ratio", "<= 1.15");
report("  wall / floor", titled.ms / floor.ms, "ratio");
report("ode run (with its title request): CPU", plain.cpuMs, "ms");
report("  wall", plain.ms, "ms");
report("  CPU / floor", plain.cpuMs / floor.cpuMs, "ratio");
await project.close();
