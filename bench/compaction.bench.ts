// Issue 18: a long session against a model whose window it does not fit. A 10k-message session is imported and
// `ode run -s` adds one bash turn with a 128k-token model: the run compacts first (one summary request), then
// sends the summary and the recent turns. Reported: that turn's wall time, CPU and peak RSS, the bytes of the
// summary request and of the first step's request after it (against the bytes the same turn sends without a
// limit), and the CPU of the next turn against a turn on a new session. Medians of 3 imports.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { median, report, timedRun } from "./stats.js";
import { sessionDocument } from "./session-document.js";
import { startTailModel, type RequestKind } from "./tail-model.js";

const ODE = path.resolve("dist/ode.cjs");
const MESSAGES = Number(process.env.ODE_BENCH_MESSAGES ?? 10_000);
const RUNS = 3;

const model = await startTailModel(`The user ran ${MESSAGES / 2} turns of bash and read calls; nothing is open.`);
const { requests } = model;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ode-bench-compaction-"));
const config = (limit?: object) => ({
  model: "mock/m",
  provider: { mock: { type: "openai-compatible", options: { baseURL: model.baseURL }, ...(limit ? { models: { m: { limit } } } : {}) } },
});
const env = { ...process.env, ODE_DATA_DIR: path.join(dir, "data") };
const run = (args: string[]) => timedRun([ODE, "run", ...args, "say hi with bash"], env, dir);

function importSession(n: number): string {
  const id = `ses_${(MESSAGES + n).toString(16).padStart(12, "0")}${`compact${n}`.padEnd(14, "0")}`;
  const file = path.join(dir, `${n}.json`);
  fs.writeFileSync(file, sessionDocument(id, MESSAGES / 2).replaceAll("/home/user/project", dir));
  execFileSync(process.execPath, [ODE, "import", file], { env, stdio: ["ignore", "ignore", "inherit"] });
  fs.rmSync(file);
  return id;
}

const bytesOf = (kind: RequestKind) => requests.filter((r) => r.kind === kind).map((r) => r.bytes);

// Without a limit: the whole history goes with every step.
fs.writeFileSync(path.join(dir, "ode.json"), JSON.stringify(config()));
requests.length = 0;
await run(["-s", importSession(0)]);
const uncompacted = bytesOf("turn")[0]!;

fs.writeFileSync(path.join(dir, "ode.json"), JSON.stringify(config({ context: 128_000, output: 8_000 })));
const fresh: number[] = [];
for (let i = 0; i < RUNS; i++) fresh.push((await run([])).cpuMs!);
const compacting: Array<{ ms: number; cpuMs?: number; rssKiB?: number }> = [];
const after: number[] = [];
const summaryBytes: number[] = [];
const firstStepBytes: number[] = [];
for (let i = 1; i <= RUNS; i++) {
  const id = importSession(i);
  requests.length = 0;
  compacting.push(await run(["-s", id]));
  const kinds = requests.map((r) => r.kind).filter((k) => k !== "title");
  if (kinds[0] !== "summary") throw new Error(`expected a compaction before the first step, got ${kinds.join(", ")}`);
  summaryBytes.push(bytesOf("summary")[0]!);
  firstStepBytes.push(bytesOf("turn")[0]!);
  after.push((await run(["-s", id])).cpuMs!);
}

const freshCpu = median(fresh);
report(`one-tool turn that compacts a ${MESSAGES / 1000}k-message session: wall`, median(compacting.map((r) => r.ms)), "ms");
report("  CPU", median(compacting.map((r) => r.cpuMs!)), "ms");
report("  peak RSS", median(compacting.map((r) => r.rssKiB! / 1024)), "MiB");
report("  summary request", median(summaryBytes) / 1024, "KiB");
report("  first step's request after the compaction", median(firstStepBytes) / 1024, "KiB");
report("  the same request without a limit (no compaction)", uncompacted / 1024, "KiB");
report("next turn on the compacted session: CPU / new session", median(after) / freshCpu, "ratio");
await model.close();
fs.rmSync(dir, { recursive: true, force: true });
