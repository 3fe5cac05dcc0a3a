// Issue 15: what tracing costs a one-tool `ode run`: untraced, traced to a live collector, and traced to a
// collector that is gone (connection refused) or hangs (takes the connection, never answers).
import { createServer } from "node:http";
import path from "node:path";
import { listenOnLoopback } from "../test/support/loopback.js";
import { startOtlpReceiver } from "../test/support/otlp-receiver.js";
import { bashTurnProject } from "./bash-turn.js";
import { median, report, timedRun } from "./stats.js";

const ODE = path.resolve("dist/ode.cjs");
const RUNS = 9;

const { dir, env, close } = await bashTurnProject();
const base: NodeJS.ProcessEnv = { ...env };
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
for (let i = 0; i < RUNS; i++) for (const [name, env] of cases) results.get(name)!.push(await timedRun([ODE, "run", "say hi with bash"], env, dir));
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
await close();
