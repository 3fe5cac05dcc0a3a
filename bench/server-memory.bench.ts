// Issue 18: memory of the built `ode serve` over sequential turns, each one bash call and an answer: 1000 turns with a
// new session each, with and without a GET /event client, then many turns in one session (300 by default: every
// turn sends the whole history, so that pattern costs O(turns²); ODE_BENCH_SESSION_TURNS=1000 for the full run).
// Every tenth of a run reports the server's RSS (VmRSS, read after each turn) and its heapUsed after a full
// collection. Target: RSS growth under 20 MiB from turn 100 to turn 1000. Not a test: the numbers are reported.
import { fork } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startOpenAIServer } from "../test/support/openai-server.js";
import { median, report } from "./stats.js";

const ODE = path.resolve("dist/ode.js");
const PROBE = path.resolve("bench/memory-probe.cjs");
const TURNS = Number(process.env.ODE_BENCH_TURNS) || 1000;
const SESSION_TURNS = Number(process.env.ODE_BENCH_SESSION_TURNS) || 300;
const MiB = 1024 * 1024;

interface Sample {
  turn: number;
  /** Median RSS over the turns since the previous sample: one reading lands anywhere in the collector's sawtooth. */
  rss: number;
  /** RSS right after the probe's full collection: the garbage of the last turns no longer counts. */
  rssCollected: number;
  heapUsed: number;
  /** The heap V8 keeps committed after the collection. */
  heapTotal: number;
  external: number;
  /** Median time of the turns since the previous sample. */
  turnMs: number;
}

const model = await startOpenAIServer((req) => {
  if (!req.body.tools) return { text: "Bench title" };
  return req.body.messages.at(-1).role === "tool"
    ? { text: "done" }
    : { toolCalls: [{ name: "bash", arguments: { command: 'echo "$OPENCODE_SESSION_ID"' } }] };
});

async function scenario(oneSession: boolean, watch: boolean, turns: number): Promise<Sample[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ode-bench-memory-"));
  fs.writeFileSync(
    path.join(dir, "ode.json"),
    JSON.stringify({ model: "mock/m", provider: { mock: { type: "openai-compatible", options: { baseURL: model.baseURL } } } }),
  );
  // fork gives the IPC channel the probe answers on.
  const server = fork(ODE, ["serve", "--port", "0"], {
    cwd: dir,
    env: { ...process.env, ODE_DATA_DIR: path.join(dir, "data"), ODE_SERVER_PASSWORD: "" },
    execArgv: ["--expose-gc", "--require", PROBE],
    stdio: ["ignore", "pipe", "inherit", "ipc"],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    server.stdout!.on("data", (d) => {
      out += d;
      const match = /listening on (http:\/\/\S+)/.exec(out);
      if (match) resolve(match[1]!);
    });
    server.on("exit", (code) => reject(new Error(`ode serve exited ${code}`)));
  });

  const memory = () =>
    new Promise<NodeJS.MemoryUsage>((resolve) => {
      server.once("message", (answer) => resolve((answer as { memory: NodeJS.MemoryUsage }).memory));
      server.send("memory");
    });
  const rss = () => Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${server.pid}/status`, "utf8"))?.[1]) * 1024;

  async function post<T>(route: string, body: unknown): Promise<T> {
    const res = await fetch(url + route, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`POST ${route}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  const watcher = new AbortController();
  let events = 0;
  if (watch) {
    const stream = await fetch(`${url}/event`, { signal: watcher.signal });
    void (async () => {
      try {
        for await (const chunk of stream.body as unknown as AsyncIterable<Uint8Array>) {
          events += Buffer.from(chunk).toString("utf8").split("\n\n").length - 1;
        }
      } catch {
        // Aborted at the end.
      }
    })();
  }

  let sessionID = oneSession ? (await post<{ id: string }>("/session", {})).id : "";
  const samples: Sample[] = [];
  let times: number[] = [];
  let resident: number[] = [];
  for (let turn = 1; turn <= turns; turn++) {
    const start = performance.now();
    if (!oneSession) sessionID = (await post<{ id: string }>("/session", {})).id;
    const result = await post<{ info: { error?: { name: string } } }>(`/session/${sessionID}/message`, {
      parts: [{ type: "text", text: "say your session id with bash" }],
    });
    if (result.info.error) throw new Error(`turn ${turn} failed: ${result.info.error.name}`);
    times.push(performance.now() - start);
    resident.push(rss());
    // The loopback model keeps every request; in one session they grow with the history, and this is not the server.
    model.requests.length = 0;
    if (turn % (turns / 10) === 0) {
      // heapUsed after the probe's full collection: what the server retains.
      const { heapUsed, heapTotal, external } = await memory();
      const rssCollected = rss();
      samples.push({ turn, rss: median(resident), rssCollected, heapUsed, heapTotal, external, turnMs: median(times) });
      resident = [];
      times = [];
    }
  }
  watcher.abort();
  if (watch && events === 0) throw new Error("the /event client received nothing");
  const exited = new Promise((resolve) => server.on("exit", resolve));
  server.kill("SIGTERM");
  await exited;
  fs.rmSync(dir, { recursive: true, force: true });
  return samples;
}

const mib = (bytes: number) => (bytes / MiB).toFixed(1).padStart(9);
const scenarios = [
  { oneSession: false, watch: true, turns: TURNS },
  { oneSession: false, watch: false, turns: TURNS },
  { oneSession: true, watch: true, turns: SESSION_TURNS },
  { oneSession: true, watch: false, turns: SESSION_TURNS },
];
for (const { oneSession, watch, turns } of scenarios) {
  const name = `${oneSession ? "one session" : "a session per turn"}, ${watch ? "one /event client" : "no /event client"}`;
  const samples = await scenario(oneSession, watch, turns);
  console.log(`\n${name} (MiB; turn ms: median since the last row)`);
  console.log(["turn", "RSS", "RSS, GC'd", "heapUsed", "heapTotal", "external", "turn ms"].map((h) => h.padStart(9)).join(" "));
  for (const s of samples) {
    const row = [s.rss, s.rssCollected, s.heapUsed, s.heapTotal, s.external].map(mib).join(" ");
    console.log(`${String(s.turn).padStart(9)} ${row} ${s.turnMs.toFixed(1).padStart(9)}`);
  }
  const first = samples[0]!;
  const last = samples.at(-1)!;
  report(`${name}: RSS growth, turn ${first.turn} to ${last.turn}`, (last.rss - first.rss) / MiB, "MiB", "< 20 MiB");
  report(`${name}: RSS right after a full GC, growth`, (last.rssCollected - first.rssCollected) / MiB, "MiB");
  report(`${name}: heapUsed growth, turn ${first.turn} to ${last.turn}`, (last.heapUsed - first.heapUsed) / MiB, "MiB");
  report(`${name}: median turn, last tenth / first tenth`, last.turnMs / first.turnMs, "ratio");
}
await model.close();
