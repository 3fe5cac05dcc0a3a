// Issue 5: abort latency, from cancel() to the process group gone and the diagnostic committed.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { prompt } from "../src/agent/prompt.js";
import { createRuntime } from "../src/runtime.js";
import { percentile, report } from "./stats.js";

const ABORTS = 100;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ode-bench-abort-"));
fs.writeFileSync(
  path.join(dir, "ode.json"),
  JSON.stringify({
    model: "demo/scripted",
    provider: {
      demo: {
        type: "scripted",
        options: { script: { steps: [{ tool_calls: [{ name: "bash", input: { command: "sleep 1000" } }] }, { text: "never" }] } },
      },
    },
  }),
);
const rt = createRuntime({ directory: dir, dataDir: path.join(dir, "data") });
const latencies: number[] = [];
for (let i = 0; i < ABORTS; i++) {
  const session = rt.store.createSession({ directory: dir, title: `abort ${i}` });
  const running = prompt(rt, { sessionID: session.id, text: "sleep" });
  // Wait until the tool's process is really running (its part says so), then time the abort.
  for (;;) {
    const run = rt.runs.get(session.id);
    if (run?.phase === "tool") break;
    await new Promise((r) => setTimeout(r, 2));
  }
  await new Promise((r) => setTimeout(r, 20));
  const start = process.hrtime.bigint();
  rt.runs.cancel(session.id, { source: "api", reason: "bench" });
  const result = await running;
  latencies.push(Number(process.hrtime.bigint() - start) / 1e6);
  if (result.outcome !== "aborted") throw new Error(`run ${i} ended ${result.outcome}`);
}
report(`abort latency p50 (${ABORTS} aborts of a running sleep)`, percentile(latencies, 50), "ms");
report(`abort latency p99`, percentile(latencies, 99), "ms", "<= 100");
rt.close();
fs.rmSync(dir, { recursive: true, force: true });
