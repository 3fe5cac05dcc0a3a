// Issue 15: what tracing costs a one-tool `ode run`: untraced, traced to a live collector, and traced to a
// collector that is gone (connection refused) or hangs (takes the connection, never answers).
import { spawn } from "node:child_process";
import fs from "node:fs";
import { createServer } from "node:http";
import os from "node:os";
import path from "node:path";
import { listenOnLoopback } from "../test/support/loopback.js";
import { startOpenAIServer } from "../test/support/openai-server.js";
import { startOtlpReceiver } from "../test/support/otlp-receiver.js";
import { median, report } from "./stats.js";

const ODE = path.resolve("dist/ode.js");
const RUNS = 9;

function timedRun(env: NodeJS.ProcessEnv, cwd: string): Promise<{ ms: number; rssKiB?: number }> {
  const useTime = fs.existsSync("/usr/bin/time");
  const cmd = useTime ? "/usr/bin/time" : process.execPath;
  const args = [ODE, "run", "say hi with bash"];
  const argv = useTime ? ["-f", "%M", process.execPath, ...args] : args;
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(cmd, argv, { env, cwd, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (code !== 0) return reject(new Error(`exit ${code}: ${stderr}`));
      resolve({ ms, rssKiB: useTime ? Number(stderr.trim().split("\n").at(-1)) : undefined });
    });
  });
}

const model = await startOpenAIServer((req) => {
  if (!req.body.tools) return { text: "Bench title" };
  const last = req.body.messages.at(-1);
  return last.role === "tool" ? { text: "done" } : { toolCalls: [{ name: "bash", arguments: { command: "echo hi" } }] };
});
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ode-bench-"));
fs.writeFileSync(
  path.join(dir, "ode.json"),
  JSON.stringify({ model: "mock/m", provider: { mock: { type: "openai-compatible", options: { baseURL: model.baseURL } } } }),
);
const base: NodeJS.ProcessEnv = { ...process.env, ODE_DATA_DIR: path.join(dir, "data") };
for (const key of Object.keys(base)) if (key.startsWith("OTEL_") || key === "TRACEPARENT") delete base[key];

const live = await startOtlpReceiver();
const gone = await listenOnLoopback(createServer());
const goneEndpoint = gone.baseURL.replace(/\/v1$/, "");
await gone.close();
const hanging = await listenOnLoopback(createServer(() => {}));

const cases: Array<[string, NodeJS.ProcessEnv]> = [
  ["untraced", base],
  ["traced, live collector", { ...base, OTEL_EXPORTER_OTLP_ENDPOINT: live.endpoint }],
  ["traced, collector gone (connection refused)", { ...base, OTEL_EXPORTER_OTLP_ENDPOINT: goneEndpoint }],
  ["traced, collector hangs", { ...base, OTEL_EXPORTER_OTLP_ENDPOINT: hanging.baseURL.replace(/\/v1$/, "") }],
];
const results = new Map<string, Array<{ ms: number; rssKiB?: number }>>(cases.map(([name]) => [name, []]));
// Interleaved, so machine load moves every case alike.
for (let i = 0; i < RUNS; i++) for (const [name, env] of cases) results.get(name)!.push(await timedRun(env, dir));
const untraced = median(results.get("untraced")!.map((r) => r.ms));
for (const [name] of cases) {
  const runs = results.get(name)!;
  const ms = median(runs.map((r) => r.ms));
  report(`ode run, one bash call: ${name}`, ms, "ms", name === "untraced" ? "<= 600" : undefined);
  if (name !== "untraced") report("  cost over untraced (median)", ms - untraced, "ms");
  if (runs[0]!.rssKiB !== undefined) report("  peak RSS (median)", median(runs.map((r) => r.rssKiB! / 1024)), "MiB");
}
report("spans received by the live collector", live.spans.length, "spans");
await live.close();
await hanging.close();
await model.close();
fs.rmSync(dir, { recursive: true, force: true });
