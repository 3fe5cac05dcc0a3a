// Issue 8: load on the built `ode serve` over loopback: 50 concurrent clients, each creating a session and running
// one turn in which the model calls bash once, while one client watches GET /event. Throughput, latency of a
// client's whole job (create + turn), and the server's peak memory (VmHWM).
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startOpenAIServer } from "../test/support/openai-server.js";
import { watchEvents } from "./event-watcher.js";
import { percentile, report } from "./stats.js";

const ODE = path.resolve("dist/ode.cjs");
const CLIENTS = 50;
// The first round warms the server up and is not counted.
const ROUNDS = 5;

const model = await startOpenAIServer((req) => {
  if (!req.body.tools) return { text: "Bench title" };
  return req.body.messages.at(-1).role === "tool"
    ? { text: "done" }
    : { toolCalls: [{ name: "bash", arguments: { command: 'echo "$OPENCODE_SESSION_ID"' } }] };
});
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ode-bench-server-"));
fs.writeFileSync(
  path.join(dir, "ode.json"),
  JSON.stringify({ model: "mock/m", provider: { mock: { type: "openai-compatible", options: { baseURL: model.baseURL } } } }),
);
const server = spawn(process.execPath, [ODE, "serve", "--port", "0"], {
  cwd: dir,
  env: { ...process.env, ODE_DATA_DIR: path.join(dir, "data"), ODE_SERVER_PASSWORD: "" },
  stdio: ["ignore", "pipe", "inherit"],
});
const url = await new Promise<string>((resolve, reject) => {
  let out = "";
  server.stdout.on("data", (d) => {
    out += d;
    const match = /listening on (http:\/\/\S+)/.exec(out);
    if (match) resolve(match[1]!);
  });
  server.on("exit", (code) => reject(new Error(`ode serve exited ${code}`)));
});

const rssKiB = (field: "VmHWM" | "VmRSS") =>
  Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${server.pid}/status`, "utf8"))?.[1]);
const idleRssKiB = rssKiB("VmRSS");

async function post<T>(route: string, body: unknown): Promise<T> {
  const res = await fetch(url + route, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`POST ${route}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function job(): Promise<number> {
  const start = performance.now();
  const session = await post<{ id: string }>("/session", {});
  const turn = await post<{ info: { error?: { name: string } } }>(`/session/${session.id}/message`, {
    parts: [{ type: "text", text: "say your session id with bash" }],
  });
  if (turn.info.error) throw new Error(`turn failed: ${turn.info.error.name}`);
  return performance.now() - start;
}

const watcher = await watchEvents(url);

const latencies: number[] = [];
let measuredMs = 0;
for (let round = 0; round < ROUNDS; round++) {
  const start = performance.now();
  const times = await Promise.all(Array.from({ length: CLIENTS }, job));
  if (round === 0) continue;
  measuredMs += performance.now() - start;
  latencies.push(...times);
}
const peakKiB = rssKiB("VmHWM");
const afterKiB = rssKiB("VmRSS");
watcher.stop();

report(`turns, ${CLIENTS} concurrent clients x ${ROUNDS - 1} rounds`, latencies.length, "turns");
report("throughput", latencies.length / (measuredMs / 1000), "turns/s");
report("latency of create + turn, p50", percentile(latencies, 50), "ms");
report("latency of create + turn, p99", percentile(latencies, 99), "ms");
report("server RSS when idle after start", idleRssKiB / 1024, "MiB");
report("server peak RSS (VmHWM)", peakKiB / 1024, "MiB");
report("server RSS after the load (VmRSS)", afterKiB / 1024, "MiB");
report("events delivered to one /event watcher", watcher.count(), "events");

const exited = new Promise<number>((resolve) => server.on("exit", (code) => resolve(code ?? -1)));
const stopAt = performance.now();
server.kill("SIGTERM");
const code = await exited;
report(`idle shutdown on SIGTERM (exit ${code})`, performance.now() - stopAt, "ms");
await model.close();
fs.rmSync(dir, { recursive: true, force: true });
