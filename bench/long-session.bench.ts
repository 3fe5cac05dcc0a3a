// Issue 18: what a one-tool turn costs on a long session. A session of N messages is imported, then `ode run -s`
// adds one turn (a bash call, then an answer) against a loopback model; CPU (user + system), wall time and peak
// RSS of the built CLI, against the same turn on a new session. The first turn after the import, which writes the
// prompt cache, is reported on its own. Below 100k messages, the SDK's own path for the same history
// (bench/floor-long-turn.mjs: the prompt converted and stringified by the provider on each step) is measured beside
// it: ode sends the cached history already serialised (src/provider/wire.ts), so it can go below that.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { toPromptMessages } from "../src/agent/history.js";
import { Store } from "../src/session/store.js";
import { median, report, timedRun } from "./stats.js";
import { sessionDocument } from "./session-document.js";
import { startTailModel } from "./tail-model.js";

const ODE = path.resolve("dist/ode.cjs");
const FLOOR = path.resolve("bench/floor-long-turn.mjs");
const sizes = (process.env.ODE_BENCH_SIZES ?? "1k,10k,100k").split(",");
const messagesOf = (size: string) => Number(size.replace(/k$/, "")) * 1000;
// Pairs of turns (a new session's, then the long session's) below 100k: the machine's speed drifts by a third within
// minutes, so each long turn is set against the new-session turn run just before it.
const runsOf = (size: string) => (messagesOf(size) >= 100_000 ? 1 : 7);

const model = await startTailModel();

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ode-bench-long-"));
fs.writeFileSync(
  path.join(dir, "ode.json"),
  JSON.stringify({ model: "mock/m", provider: { mock: { type: "openai-compatible", options: { baseURL: model.baseURL } } } }),
);
const env = { ...process.env, ODE_DATA_DIR: path.join(dir, "data") };

const turn = (args: string[]) => timedRun([ODE, "run", ...args, "say hi with bash"], env, dir);

type Turn = Awaited<ReturnType<typeof turn>>;

function medians(results: Turn[]) {
  return { cpuMs: median(results.map((r) => r.cpuMs!)), ms: median(results.map((r) => r.ms)), rssMiB: median(results.map((r) => r.rssKiB! / 1024)) };
}

async function measure(args: string[], runs: number) {
  const results = [];
  for (let i = 0; i < runs; i++) results.push(await turn(args));
  return medians(results);
}

/** `runs` turns on the session `id`, each after a turn on a new session: medians of both, and of the pairs' ratios. */
async function measurePaired(id: string, runs: number) {
  const fresh: Turn[] = [];
  const long: Turn[] = [];
  for (let i = 0; i < runs; i++) {
    fresh.push(await turn([]));
    long.push(await turn(["-s", id]));
  }
  return { fresh: medians(fresh), long: medians(long), ratio: median(long.map((r, i) => r.cpuMs! / fresh[i]!.cpuMs!)) };
}

/** CPU of the floor turn with `historyFile`'s prompt messages (none without), median of `runs`. */
async function floorCpuMs(historyFile: string | undefined, runs: number): Promise<number> {
  const results = [];
  for (let i = 0; i < runs; i++) results.push(await timedRun([FLOOR, model.baseURL, ...(historyFile ? [historyFile] : [])], env, dir));
  return median(results.map((r) => r.cpuMs!));
}

const fresh = await measure([], 5);
const freshFloor = await floorCpuMs(undefined, 5);
report("one-tool turn, new session: CPU (median of 5)", fresh.cpuMs, "ms");
report("  wall", fresh.ms, "ms");
report("  peak RSS", fresh.rssMiB, "MiB");
const perMessage: Array<[number, number]> = [];
for (const size of sizes) {
  const messages = messagesOf(size);
  const id = `ses_${messages.toString(16).padStart(12, "0")}${`long${size}`.padEnd(14, "0")}`;
  const file = path.join(dir, `${size}.json`);
  // The session lives in the scratch project, so its bash calls have a directory to run in.
  fs.writeFileSync(file, sessionDocument(id, messages / 2).replaceAll("/home/user/project", dir));
  const historyMiB = fs.statSync(file).size / 2 ** 20;
  execFileSync(process.execPath, [ODE, "import", file], { env, stdio: ["ignore", "ignore", "inherit"] });
  fs.rmSync(file);
  // The first run after the import converts the whole history and writes the prompt cache; the runs after it
  // read the cache.
  const first = await measure(["-s", id], 1);
  report(`first turn after importing a ${size}-message session (${historyMiB.toFixed(0)} MiB of history JSON), filling the prompt cache: CPU`, first.cpuMs, "ms");
  report("  peak RSS", first.rssMiB, "MiB");
  const runs = runsOf(size);
  const paired = await measurePaired(id, runs);
  const long = paired.long;
  report(`one-tool turn on a ${size}-message session (${historyMiB.toFixed(0)} MiB of history JSON): CPU (median of ${runs})`, long.cpuMs, "ms");
  report("  the new-session turns run between them: CPU", paired.fresh.cpuMs, "ms");
  report("  CPU / new session (median of the pairs)", paired.ratio, "ratio", size === "10k" ? "<= 2" : undefined);
  report("  wall", long.ms, "ms");
  report("  peak RSS", long.rssMiB, "MiB");
  report("  peak RSS / history JSON", long.rssMiB / historyMiB, "ratio", size === "100k" ? "<= 3" : undefined);
  perMessage.push([messages, long.cpuMs - paired.fresh.cpuMs]);
  if (messages < 100_000) {
    const store = Store.open(env.ODE_DATA_DIR);
    const historyFile = path.join(dir, `${size}.prompt.json`);
    fs.writeFileSync(historyFile, JSON.stringify(toPromptMessages(store.messages(id))));
    store.close();
    const floorExtra = (await floorCpuMs(historyFile, runs)) - freshFloor;
    fs.rmSync(historyFile);
    report("  the SDK's path: extra CPU of the same history (parsed once, doStream twice)", floorExtra, "ms");
    report("  ode's extra CPU over the SDK path's", long.cpuMs - paired.fresh.cpuMs - floorExtra, "ms");
  }
}
for (let i = 1; i < perMessage.length; i++) {
  const [a, costA] = perMessage[i - 1]!;
  const [b, costB] = perMessage[i]!;
  report(`  extra CPU, ${b / 1000}k vs ${a / 1000}k messages (linear: ${b / a})`, costB / costA, "ratio");
}
await model.close();
fs.rmSync(dir, { recursive: true, force: true });
