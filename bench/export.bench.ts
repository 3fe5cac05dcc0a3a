// Issue 7: `ode export` of a 10,000-message / 50,000-part session (made with `ode import`), plain and sanitized,
// wall time and peak memory of the built CLI, and how the time grows from 1k to 10k messages.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { median, report, timedRun } from "./stats.js";
import { sessionDocument } from "./session-document.js";

const ODE = path.resolve("dist/ode.js");
const RUNS = 5;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ode-bench-export-"));
const env = { ...process.env, ODE_DATA_DIR: path.join(dir, "data") };
const sizes = { empty: 0, "1k": 500, "10k": 5000 } as const;
const ids: Record<keyof typeof sizes, string> = { empty: "ses_000000000000benchEmpty0000", "1k": "ses_000000000001bench1k0000000", "10k": "ses_000000000002bench10k000000" };
for (const [size, turns] of Object.entries(sizes) as Array<[keyof typeof sizes, number]>) {
  const file = path.join(dir, `${size}.json`);
  fs.writeFileSync(file, sessionDocument(ids[size], turns));
  const start = process.hrtime.bigint();
  execFileSync(process.execPath, [ODE, "import", file], { env, stdio: ["ignore", "ignore", "inherit"] });
  if (size === "10k") {
    report(`ode import, 10,000 messages / 50,000 parts (${(fs.statSync(file).size / 2 ** 20).toFixed(0)} MiB)`, Number(process.hrtime.bigint() - start) / 1e6, "ms");
  }
}

async function exportRuns(size: keyof typeof sizes, extra: string[] = []) {
  const out = path.join(dir, "out.json");
  const runs: Array<{ ms: number; rssKiB?: number }> = [];
  for (let i = 0; i < RUNS; i++) runs.push(await timedRun([ODE, "export", ids[size], "-o", out, ...extra], env));
  return { ms: median(runs.map((r) => r.ms)), rssMiB: runs[0]!.rssKiB === undefined ? undefined : Math.max(...runs.map((r) => r.rssKiB! / 1024)), bytes: fs.statSync(out).size };
}

const plain = await exportRuns("10k");
const sanitized = await exportRuns("10k", ["--sanitize"]);
const small = await exportRuns("1k");
const empty = await exportRuns("empty");
report(`ode export, 10,000 messages / 50,000 parts (median of ${RUNS})`, plain.ms, "ms", "<= 1500");
if (plain.rssMiB !== undefined) report("  peak RSS (max of the runs)", plain.rssMiB, "MiB", "<= 400");
report("  document size", plain.bytes / 2 ** 20, "MiB");
report("ode export --sanitize, same session", sanitized.ms, "ms");
if (sanitized.rssMiB !== undefined) report("  peak RSS (max of the runs)", sanitized.rssMiB, "MiB");
report("  --sanitize / plain", sanitized.ms / plain.ms, "ratio", "<= 1.2");
report("ode export, empty session (start-up and fixed cost)", empty.ms, "ms");
report("ode export, 1,000 messages / 5,000 parts", small.ms, "ms");
report("  10k / 1k, fixed cost removed (linear: about 10)", (plain.ms - empty.ms) / (small.ms - empty.ms), "ratio");
fs.rmSync(dir, { recursive: true, force: true });
