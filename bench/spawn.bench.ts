// Issue 4: spawn overhead of the session env injection. The bash tool (session title read from the store per spawn,
// environment built, output collected and truncated) running `true`, versus a raw child_process.spawn of the same
// shell command, detached with piped output like ours, waiting for it to exit. Target: median ratio <= 1.05.
// RUNS=1000 gives a steadier number on a busy machine. spawn() forks, so every page the parent writes after a spawn
// takes a copy-on-write fault: per-spawn work (one SQLite read, the abort and timeout wiring) costs far more here
// than in isolation.
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Store } from "../src/session/store.js";
import { markAgentProcess } from "../src/shell/env.js";
import { createBashTool } from "../src/tool/bash.js";
import type { ToolContext } from "../src/tool/tool.js";
import { median, percentile, report } from "./stats.js";

const RUNS = Number(process.env.RUNS ?? 200);
const WARMUP = 100;
const SHELL = fs.existsSync("/bin/bash") ? "/bin/bash" : "/bin/sh";

const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "ode-bench-spawn-")));
const dataDir = path.join(dir, "data");
markAgentProcess();
const store = Store.open(dataDir);
const session = store.createSession({ directory: dir, title: "spawn bench" });
const bash = createBashTool(store);
const controller = new AbortController();
let call = 0;
const ctx = (): ToolContext => ({
  sessionID: session.id,
  messageID: "msg_bench",
  callID: `call_${call++}`,
  directory: dir,
  allowOutsidePaths: false,
  dataDir,
  abortSignal: controller.signal,
});

async function viaTool(): Promise<number> {
  const start = process.hrtime.bigint();
  const result = await bash.execute({ command: "true" }, ctx());
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.metadata.exit !== 0) throw new Error(`bash tool: ${result.output}`);
  return ms;
}

function raw(): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(SHELL, ["-c", "true"], { cwd: dir, env: process.env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    child.on("error", reject);
    child.on("exit", (code) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (code !== 0) reject(new Error(`exit ${code}`));
      else resolve(ms);
    });
  });
}

for (let i = 0; i < WARMUP; i++) {
  await raw();
  await viaTool();
}
// Interleaved, so drift in the machine's load hits both series alike.
const rawTimes: number[] = [];
const toolTimes: number[] = [];
for (let i = 0; i < RUNS; i++) {
  if (i % 2 === 0) {
    rawTimes.push(await raw());
    toolTimes.push(await viaTool());
  } else {
    toolTimes.push(await viaTool());
    rawTimes.push(await raw());
  }
}

report(`raw spawn ${SHELL} -c true (detached, piped), median of ${RUNS}`, median(rawTimes), "ms");
report(`  p90`, percentile(rawTimes, 90), "ms");
report(`bash tool \`true\` with session env, median of ${RUNS}`, median(toolTimes), "ms");
report(`  p90`, percentile(toolTimes, 90), "ms");
report("bash tool / raw spawn, ratio of medians", median(toolTimes) / median(rawTimes), "ratio", "<= 1.05");
// Each tool run next to its raw neighbour: less sensitive to load that drifts during the measurement.
report(`  median of the ${RUNS} paired ratios`, median(toolTimes.map((t, i) => t / rawTimes[i]!)), "ratio");

store.close();
fs.rmSync(dir, { recursive: true, force: true });
