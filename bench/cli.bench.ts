// Issue 3: start-up and a whole one-tool run of the built CLI, wall time and peak memory.
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startOpenAIServer } from "../test/support/openai-server.js";
import { median, report } from "./stats.js";

const ODE = path.resolve("dist/ode.js");
const RUNS = 15;

function wall(fn: () => void): number {
  const start = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/** Runs a command under /usr/bin/time when present for its peak RSS; else reports only the wall time. */
function timedRun(args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<{ ms: number; rssKiB?: number }> {
  const useTime = fs.existsSync("/usr/bin/time");
  const cmd = useTime ? "/usr/bin/time" : process.execPath;
  const argv = useTime ? ["-f", "%M", process.execPath, ...args] : args;
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(cmd, argv, { env, cwd, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (code !== 0) return reject(new Error(`exit ${code}: ${stderr}`));
      const rss = useTime ? Number(stderr.trim().split("\n").at(-1)) : undefined;
      resolve({ ms, rssKiB: rss });
    });
  });
}

report("node -e 0 (baseline)", median(Array.from({ length: RUNS }, () => wall(() => execFileSync(process.execPath, ["-e", "0"])))), "ms");
report(
  "ode --version",
  median(Array.from({ length: RUNS }, () => wall(() => execFileSync(process.execPath, [ODE, "--version"])))),
  "ms",
  "<= 150",
);

const server = await startOpenAIServer((req) => {
  if (!req.body.tools) return { text: "Bench title" };
  const last = req.body.messages.at(-1);
  return last.role === "tool" ? { text: "done" } : { toolCalls: [{ name: "bash", arguments: { command: "echo hi" } }] };
});
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ode-bench-"));
fs.writeFileSync(
  path.join(dir, "ode.json"),
  JSON.stringify({ model: "mock/m", provider: { mock: { type: "openai-compatible", options: { baseURL: server.baseURL } } } }),
);
const env = { ...process.env, ODE_DATA_DIR: path.join(dir, "data") };
const runs: Array<{ ms: number; rssKiB?: number }> = [];
for (let i = 0; i < RUNS; i++) runs.push(await timedRun([ODE, "run", "say hi with bash"], env, dir));
report("ode run, one bash tool call + answer (loopback model)", median(runs.map((r) => r.ms)), "ms", "<= 600");
if (runs[0]!.rssKiB !== undefined) {
  report("  peak RSS of that run (median)", median(runs.map((r) => r.rssKiB! / 1024)), "MiB", "<= 120");
}
await server.close();
fs.rmSync(dir, { recursive: true, force: true });
