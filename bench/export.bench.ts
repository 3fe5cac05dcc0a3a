// Issues 7 and 18: `ode import` and `ode export` (plain and --sanitize) of sessions of 1,000, 10,000 and 100,000
// messages (five parts per message on average), wall time and peak RSS of the built CLI, and how both grow.
// Both stream (the export writes, the import reads and stores, one message at a time), so their peak RSS should
// stay flat while their time grows linearly. Each document is generated once; the 100k runs are few (a 100k import
// takes most of a minute).
// Then `ode export --loop` of a loop whose iterations are the 1k and 10k sessions (ODE_BENCH_SIZES=1k,10k skips
// the 100k session; ODE_BENCH_ODE measures another build, e.g. one of main, for a before/after).
import Database from "better-sqlite3";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { median, report, timedRun } from "./stats.js";
import { sessionDocument } from "./session-document.js";

const ODE = path.resolve(process.env.ODE_BENCH_ODE || "dist/ode.cjs");

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ode-bench-export-"));
const dataDir = (name: string) => ({ ...process.env, ODE_DATA_DIR: path.join(dir, name) });
const env = dataDir("data");

interface Size {
  label: string;
  turns: number;
  id: string;
  runs: number;
  /** Plain and sanitized exports, run in turn. */
  pairs: number;
}
const only = process.env.ODE_BENCH_SIZES?.split(",");
const sizes: Size[] = [
  { label: "1k", turns: 500, id: "ses_000000000001bench1k0000000", runs: 5, pairs: 9 },
  { label: "10k", turns: 5000, id: "ses_000000000002bench10k000000", runs: 3, pairs: 7 },
  { label: "100k", turns: 50000, id: "ses_000000000003bench100k00000", runs: 2, pairs: 2 },
].filter((size) => !only || only.includes(size.label));
const empty = "ses_000000000000benchEmpty0000";

interface Measured {
  ms: number;
  /** CPU time (user + system): what the work costs, less moved than wall time by other load on the machine. */
  cpuMs?: number;
  rssMiB?: number;
}

type Timed = Awaited<ReturnType<typeof timedRun>>;

/** Median wall and CPU times, and the highest peak RSS of the runs. */
async function measure(args: string[], runs: number, envOf: (run: number) => NodeJS.ProcessEnv = () => env): Promise<Measured> {
  const results: Timed[] = [];
  for (let i = 0; i < runs; i++) results.push(await timedRun(args, envOf(i)));
  return summary(results);
}

/**
 * Two commands run in turn, so a change of the machine's load falls on both alike: each one's summary, and the
 * median of the pairs' cost ratios (b / a), steadier than the ratio of the medians.
 */
async function measurePair(a: string[], b: string[], runs: number): Promise<{ a: Measured; b: Measured; ratio: number }> {
  const pairs: Array<[Timed, Timed]> = [];
  for (let i = 0; i < runs; i++) pairs.push([await timedRun(a, env), await timedRun(b, env)]);
  const timedCost = (t: Timed) => t.cpuMs ?? t.ms;
  return {
    a: summary(pairs.map(([first]) => first)),
    b: summary(pairs.map(([, second]) => second)),
    ratio: median(pairs.map(([first, second]) => timedCost(second) / timedCost(first))),
  };
}

function summary(results: Timed[]): Measured {
  const defined = (values: Array<number | undefined>) => values.filter((value): value is number => value !== undefined);
  const cpu = defined(results.map((r) => r.cpuMs));
  const rss = defined(results.map((r) => r.rssKiB));
  return {
    ms: median(results.map((r) => r.ms)),
    cpuMs: cpu.length ? median(cpu) : undefined,
    rssMiB: rss.length ? Math.max(...rss) / 1024 : undefined,
  };
}

function show(name: string, measured: Measured, targets: { ms?: string; rss?: string } = {}): void {
  report(name, measured.ms, "ms", targets.ms);
  if (measured.cpuMs !== undefined) report("  CPU time (user + system)", measured.cpuMs, "ms");
  if (measured.rssMiB !== undefined) report("  peak RSS (max of the runs)", measured.rssMiB, "MiB", targets.rss);
}

/** CPU time when measured (steadier under load), else wall time. */
const cost = (measured: Measured) => measured.cpuMs ?? measured.ms;

const emptyFile = path.join(dir, "empty.json");
fs.writeFileSync(emptyFile, JSON.stringify({ info: { id: empty, directory: "/p", title: "empty", version: "0.1.0", time: { created: 1, updated: 1 } }, messages: [] }));
execFileSync(process.execPath, [ODE, "import", emptyFile], { env, stdio: ["ignore", "ignore", "inherit"] });

const results: Record<string, { import: Measured; plain: Measured; sanitized: Measured; mib: number }> = {};
for (const size of sizes) {
  const file = path.join(dir, `${size.label}.json`);
  fs.writeFileSync(file, sessionDocument(size.id, size.turns));
  const fileMiB = fs.statSync(file).size / 2 ** 20;
  // Each import into a data directory of its own, then the last one's session is imported for the exports.
  const imported = await measure([ODE, "import", file], size.label === "100k" ? 1 : size.runs, (run) => dataDir(`import-${size.label}-${run}`));
  for (let run = 0; run < (size.label === "100k" ? 1 : size.runs); run++) fs.rmSync(path.join(dir, `import-${size.label}-${run}`), { recursive: true, force: true });
  execFileSync(process.execPath, [ODE, "import", file], { env, stdio: ["ignore", "ignore", "inherit"] });
  fs.rmSync(file);
  const out = path.join(dir, "out.json");
  const sanitizedOut = path.join(dir, "out-sanitized.json");
  const pair = await measurePair([ODE, "export", size.id, "-o", out], [ODE, "export", size.id, "--sanitize", "-o", sanitizedOut], size.pairs);
  const { a: plain, b: sanitized } = pair;
  const mib = fs.statSync(out).size / 2 ** 20;
  fs.rmSync(out);
  fs.rmSync(sanitizedOut);
  results[size.label] = { import: imported, plain, sanitized, mib };
  const messages = `${(size.turns * 2).toLocaleString("en")} messages`;
  show(`ode import, ${messages} (${fileMiB.toFixed(0)} MiB file, median of ${size.label === "100k" ? 1 : size.runs})`, imported, size.label === "100k" ? { rss: "<= 300" } : {});
  show(`ode export, ${messages} (${mib.toFixed(0)} MiB document, median of ${size.pairs}, alternating with --sanitize)`, plain, size.label === "100k" ? { rss: "<= 200" } : size.label === "10k" ? { ms: "<= 1500" } : {});
  show(`ode export --sanitize, ${messages}`, sanitized, size.label === "100k" ? { rss: "<= 200" } : {});
  report("  --sanitize / plain (CPU time, median of the pairs)", pair.ratio, "ratio", "<= 1.2");
}

const fixed = await measure([ODE, "export", empty, "-o", path.join(dir, "empty-out.json")], 5);
report("ode export, empty session (start-up and fixed cost)", fixed.ms, "ms");
const growth = (a: string, b: string, key: "import" | "plain" | "sanitized") =>
  (cost(results[b]![key]) - cost(fixed)) / (cost(results[a]![key]) - cost(fixed));
for (const key of ["plain", "sanitized", "import"] as const) {
  if (results["1k"] && results["10k"]) report(`${key}: 10k / 1k, CPU time, fixed cost removed (linear: 10)`, growth("1k", "10k", key), "ratio");
  if (results["10k"] && results["100k"]) report(`${key}: 100k / 10k, CPU time, fixed cost removed (linear: 10)`, growth("10k", "100k", key), "ratio");
}

// A loop of two iterations, the 1k and the 10k sessions, written as `ode loop` would have left it.
if (results["1k"] && results["10k"]) {
  const loopID = "lop_000000000001benchLoop00000";
  const db = new Database(path.join(env.ODE_DATA_DIR!, "ode.db"));
  db.prepare(
    "INSERT INTO loops (id, directory, name, spec, started_at, ended_at, stop_reason, stop_detail, owner_pid) VALUES (?, '/p', 'bench', ?, 1, 2, 'max_iterations', ?, 1)",
  ).run(loopID, JSON.stringify({ prompt: "p", maxIterations: 2 }), JSON.stringify({ message: "max iterations reached" }));
  const iteration = db.prepare("INSERT INTO loop_iterations (loop_id, n, session_id, started_at, ended_at, outcome) VALUES (?, ?, ?, 1, 2, 'completed')");
  sizes.slice(0, 2).forEach((size, i) => iteration.run(loopID, i + 1, size.id));
  db.close();
  const out = path.join(dir, "loop.json");
  const plain = await measure([ODE, "export", "--loop", loopID, "-o", out], 3);
  const mib = fs.statSync(out).size / 2 ** 20;
  show(`ode export --loop, the 1k and 10k sessions (${mib.toFixed(0)} MiB document, median of 3)`, plain);
  show("ode export --loop --sanitize, same loop", await measure([ODE, "export", "--loop", loopID, "--sanitize", "-o", out], 3));
}
fs.rmSync(dir, { recursive: true, force: true });
