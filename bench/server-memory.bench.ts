// Issue 18: memory of the built `ode serve` over sequential turns, each one bash call and an answer: 1000 turns with a
// new session each, with and without a GET /event client, then many turns in one session (300 by default: every
// turn sends the whole history, so that pattern costs O(turns²); ODE_BENCH_SESSION_TURNS=1000 for the full run).
// Every tenth of a run reports the server's RSS (VmRSS, read after each turn), what makes it up (process.memoryUsage()
// before and after a full collection, resident bytes by kind of mapping) and its heapUsed after the collection.
// Target: RSS growth under 20 MiB from turn 100 to turn 1000. Not a test: the numbers are reported.
// ODE_BENCH_SCENARIOS=no-client ODE_BENCH_RUNS=3 runs one scenario three times and reports the medians.
import { fork } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startOpenAIServer } from "../test/support/openai-server.js";
import { watchEvents } from "./event-watcher.js";
import { median, report } from "./stats.js";

/**
 * Another build of ode to compare with (`node scripts/build.mjs --outfile dist/before/ode.cjs`; sources older than
 * the CommonJS entry build to `ode.js`).
 */
const ODE = path.resolve(process.env.ODE_BENCH_ODE || "dist/ode.cjs");
const PROBE = path.resolve("bench/memory-probe.cjs");
const TURNS = Number(process.env.ODE_BENCH_TURNS) || 1000;
const SESSION_TURNS = Number(process.env.ODE_BENCH_SESSION_TURNS) || 300;
/** Runs of each scenario; the growths reported are their medians. */
const RUNS = Number(process.env.ODE_BENCH_RUNS) || 1;
/** Some of the scenarios, by key (`client,no-client,session-client,session`). */
const ONLY = process.env.ODE_BENCH_SCENARIOS?.split(",");
/** Node flags for the server, to compare V8 settings (`--max-semi-space-size=4`). */
const NODE_FLAGS = process.env.ODE_BENCH_NODE_FLAGS?.split(" ").filter(Boolean) ?? [];
const MiB = 1024 * 1024;

/** Resident bytes by kind of mapping, from /proc/PID/smaps. */
interface Mappings {
  /** The main malloc arena (brk): SQLite's page cache, better-sqlite3's and Node's own small allocations. */
  brk: number;
  /** Other anonymous memory: V8's heap pages, other threads' malloc arenas, large malloc blocks. */
  anon: number;
  /** Files: the node binary, shared libraries, SQLite's shared-memory file. */
  file: number;
}

interface Sample {
  turn: number;
  /**
   * Median RSS over the last twentieth of the run (turns 51-100 and 951-1000 of 1000): one reading lands anywhere
   * in the collector's sawtooth, and a window over the first tenth would mostly see the warm-up (the young
   * generation grows to its full size in the first turns), not turn 100.
   */
  rss: number;
  /** Median RSS over the turns since the previous sample, as this bench reported before. */
  rssTenth: number;
  /** RSS right after the probe's full collection: the garbage of the last turns no longer counts. */
  rssCollected: number;
  /** process.memoryUsage() as the turns left it, and after the probe's full collection. */
  usage: NodeJS.MemoryUsage;
  collected: NodeJS.MemoryUsage;
  /** Read before the collection. */
  mappings: Mappings;
  /** Median time of the turns since the previous sample. */
  turnMs: number;
}

function mappings(pid: number): Mappings {
  const out: Mappings = { brk: 0, anon: 0, file: 0 };
  let kind: keyof Mappings = "anon";
  for (const line of fs.readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (header) kind = header[2] === "[heap]" ? "brk" : header[1] !== "0" || header[2]!.startsWith("/") ? "file" : "anon";
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) out[kind] += Number(rss[1]) * 1024;
  }
  return out;
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
    execArgv: [...NODE_FLAGS, "--expose-gc", "--require", PROBE],
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
    new Promise<{ usage: NodeJS.MemoryUsage; memory: NodeJS.MemoryUsage }>((resolve) => {
      server.once("message", (answer) => resolve(answer as { usage: NodeJS.MemoryUsage; memory: NodeJS.MemoryUsage }));
      server.send("memory");
    });
  const rss = () => Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${server.pid}/status`, "utf8"))?.[1]) * 1024;

  async function post<T>(route: string, body: unknown): Promise<T> {
    const res = await fetch(url + route, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`POST ${route}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  }

  const watcher = watch ? await watchEvents(url) : undefined;

  let sessionID = oneSession ? (await post<{ id: string }>("/session", {})).id : "";
  const samples: Sample[] = [];
  let times: number[] = [];
  const resident: number[] = [];
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
      const before = mappings(server.pid!);
      // heapUsed after the probe's full collection: what the server retains.
      const { usage, memory: collected } = await memory();
      const rssTenth = median(resident.slice(-turns / 10));
      samples.push({ turn, rss: median(resident.slice(-turns / 20)), rssTenth, rssCollected: rss(), usage, collected, mappings: before, turnMs: median(times) });
      times = [];
    }
  }
  watcher?.stop();
  if (watcher && watcher.count() === 0) throw new Error("the /event client received nothing");
  const exited = new Promise((resolve) => server.on("exit", resolve));
  server.kill("SIGTERM");
  await exited;
  fs.rmSync(dir, { recursive: true, force: true });
  return samples;
}

const mib = (bytes: number) => (bytes / MiB).toFixed(1).padStart(8);
const scenarios = [
  { key: "client", oneSession: false, watch: true, turns: TURNS },
  { key: "no-client", oneSession: false, watch: false, turns: TURNS },
  { key: "session-client", oneSession: true, watch: true, turns: SESSION_TURNS },
  { key: "session", oneSession: true, watch: false, turns: SESSION_TURNS },
].filter(({ key }) => !ONLY || ONLY.includes(key));
// Each column: how to read it from a sample, and its header.
const columns: Array<[string, (s: Sample) => number]> = [
  ["RSS", (s) => s.rss],
  ["RSS 10th", (s) => s.rssTenth],
  ["RSS GC'd", (s) => s.rssCollected],
  ["heapTot", (s) => s.usage.heapTotal],
  ["heapUsed", (s) => s.usage.heapUsed],
  ["GC'd", (s) => s.collected.heapUsed],
  ["heapTot'", (s) => s.collected.heapTotal],
  ["extern", (s) => s.usage.external],
  ["arrBuf", (s) => s.usage.arrayBuffers],
  ["brk", (s) => s.mappings.brk],
  ["anon", (s) => s.mappings.anon],
  ["file", (s) => s.mappings.file],
];
for (const { oneSession, watch, turns } of scenarios) {
  const name = `${oneSession ? "one session" : "a session per turn"}, ${watch ? "one /event client" : "no /event client"}`;
  const growths: number[][] = [];
  for (let run = 1; run <= RUNS; run++) {
    const samples = await scenario(oneSession, watch, turns);
    console.log(`\n${name}, run ${run} of ${RUNS} (MiB; RSS: median of the last ${turns / 20} turns, RSS 10th: of the last ${turns / 10};`);
    console.log(`heapTot/heapUsed/extern/arrBuf as the turns left them, GC'd and heapTot' after a full collection;`);
    console.log(`brk/anon/file: resident by mapping, before the collection; turn ms: median since the last row)`);
    console.log(["turn", ...columns.map(([header]) => header), "turn ms"].map((h) => h.padStart(8)).join(" "));
    for (const s of samples) {
      console.log(`${String(s.turn).padStart(8)} ${columns.map(([, read]) => mib(read(s))).join(" ")} ${s.turnMs.toFixed(1).padStart(8)}`);
    }
    const first = samples[0]!;
    const last = samples.at(-1)!;
    console.log(["growth", ...columns.map(([, read]) => mib(read(last) - read(first)))].map((h) => h.padStart(8)).join(" "));
    growths.push([...columns.map(([, read]) => (read(last) - read(first)) / MiB), last.turnMs / first.turnMs]);
  }
  const med = (header: string) => {
    const i = header === "turn ms" ? columns.length : columns.findIndex(([h]) => h === header);
    return median(growths.map((g) => g[i]!));
  };
  const of = RUNS > 1 ? `, median of ${RUNS} runs` : "";
  report(`${name}: RSS growth, turn ${turns / 10} to ${turns}${of}`, med("RSS"), "MiB", "< 20 MiB");
  report(`${name}: the same, medians of the tenths${of}`, med("RSS 10th"), "MiB");
  report(`${name}: RSS right after a full GC, growth${of}`, med("RSS GC'd"), "MiB");
  report(`${name}: heapUsed after a full GC, growth${of}`, med("GC'd"), "MiB");
  report(`${name}: main malloc arena (brk), growth${of}`, med("brk"), "MiB");
  report(`${name}: median turn, last tenth / first tenth${of}`, med("turn ms"), "ratio");
}
await model.close();
