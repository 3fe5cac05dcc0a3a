// Issue 7: `ode export` of a 10,000-message / 50,000-part session (made with `ode import`), plain and sanitized,
// wall time and peak memory of the built CLI, and how the time grows from 1k to 10k messages.
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { median, report } from "./stats.js";

const ODE = path.resolve("dist/ode.js");
const RUNS = 5;

/** Runs the CLI under /usr/bin/time when present for its peak RSS; else reports only the wall time. */
function timedRun(args: string[], env: NodeJS.ProcessEnv): Promise<{ ms: number; rssKiB?: number }> {
  const useTime = fs.existsSync("/usr/bin/time");
  const cmd = useTime ? "/usr/bin/time" : process.execPath;
  const argv = useTime ? ["-f", "%M", process.execPath, ODE, ...args] : [ODE, ...args];
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(cmd, argv, { env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (code) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (code !== 0) return reject(new Error(`exit ${code}: ${stderr}`));
      resolve({ ms, rssKiB: useTime ? Number(stderr.trim().split("\n").at(-1)) : undefined });
    });
  });
}

const pad = (n: number, width: number) => String(n).padStart(width, "0");
const filler = (label: string, bytes: number) => `${label} `.repeat(Math.ceil(bytes / (label.length + 1))).slice(0, bytes);

/**
 * An opencode-shaped export of `turns` turns: a user message with its prompt, then an assistant message with nine
 * parts (reasoning, a bash call with 1 KiB of output, a read call with 2 KiB, text, step and patch parts), so five
 * parts per message on average and about 8 KiB of JSON per turn.
 */
function sessionDocument(sessionID: string, turns: number): string {
  const messages: unknown[] = [];
  const t0 = 1795553811000;
  for (let turn = 0; turn < turns; turn++) {
    const stamp = pad(turn, 6);
    const userID = `msg_${stamp}u${sessionID.slice(4, 20)}`;
    const assistantID = `msg_${stamp}v${sessionID.slice(4, 20)}`;
    let n = 0;
    const part = (messageID: string, fields: object) => ({ id: `prt_${stamp}${pad(n++, 2)}${sessionID.slice(4, 18)}`, sessionID, messageID, ...fields });
    const time = { start: t0 + turn * 1000, end: t0 + turn * 1000 + 500 };
    const tokens = { input: 1200, output: 300, reasoning: 40, cache: { read: 800, write: 0 } };
    messages.push({
      info: { id: userID, sessionID, role: "user", time: { created: t0 + turn * 1000 }, agent: "build", model: { providerID: "openai", modelID: "gpt-4.1" } },
      parts: [part(userID, { type: "text", text: filler(`prompt ${turn}`, 200) })],
    });
    const output = filler(`line of output ${turn}`, 1024);
    messages.push({
      info: {
        id: assistantID,
        sessionID,
        role: "assistant",
        parentID: userID,
        time: { created: time.start, completed: time.end },
        modelID: "gpt-4.1",
        providerID: "openai",
        path: { cwd: "/home/user/project", root: "/home/user/project" },
        tokens,
        cost: 0.002,
        finish: "stop",
      },
      parts: [
        part(assistantID, { type: "step-start" }),
        part(assistantID, { type: "reasoning", text: filler("thinking", 300), time }),
        part(assistantID, {
          type: "tool",
          tool: "bash",
          callID: `call_${stamp}_0`,
          state: { status: "completed", input: { command: "npm test", description: "run the tests" }, output, title: "run the tests", metadata: { output, exit: 0, truncated: false }, time },
        }),
        part(assistantID, {
          type: "tool",
          tool: "read",
          callID: `call_${stamp}_1`,
          state: { status: "completed", input: { filePath: "src/index.ts" }, output: filler("const x = 1;", 2048), title: "src/index.ts", metadata: { offset: 0, lines: 80, more: false }, time },
        }),
        part(assistantID, { type: "step-finish", reason: "tool-calls", tokens, cost: 0.001 }),
        part(assistantID, { type: "step-start" }),
        part(assistantID, { type: "text", text: filler(`answer ${turn}`, 400), time }),
        part(assistantID, { type: "step-finish", reason: "stop", tokens, cost: 0.001 }),
        part(assistantID, { type: "patch", hash: "c76a465c3825e4eb4caab722fb13dc0d3cf7c1ed", files: ["/home/user/project/src/index.ts"] }),
      ],
    });
  }
  const info = { id: sessionID, directory: "/home/user/project", title: "Benchmark session", version: "0.1.0", time: { created: t0, updated: t0 + turns * 1000 } };
  return JSON.stringify({ info, messages });
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ode-bench-export-"));
const env = { ...process.env, ODE_DATA_DIR: path.join(dir, "data") };
const sizes = { empty: 0, "1k": 500, "10k": 5000 } as const;
const ids: Record<keyof typeof sizes, string> = { empty: "ses_0000bench00empty000000", "1k": "ses_0001bench0001k00000000", "10k": "ses_0010bench0010k00000000" };
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
  for (let i = 0; i < RUNS; i++) runs.push(await timedRun(["export", ids[size], "-o", out, ...extra], env));
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
