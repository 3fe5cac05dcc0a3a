import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { importStream, ImportValidationError } from "../../src/export/import.js";
import { buildExport } from "../../src/export/snapshot.js";
import { fieldPath } from "../../src/session/errors.js";
import { Runs } from "../../src/session/runs.js";
import { Store } from "../../src/session/store.js";
import { makeProject, runOde, tempDir } from "../support/ode.js";
import { ABORTED, dbDigest, expectedExport, exportedView, odeExport, readFixture, SANITIZED, TOOL_RUN } from "./documents.js";

/**
 * Mutants of real exports (opencode's fixtures and an ode export with every kind of diagnostic), each imported into
 * a data directory that already holds another session. Each must either be accepted and export again as it was
 * (modulo the documented normalisation), or be refused with one line naming the field while the database stays
 * byte-identical. Seeded: `ODE_FUZZ_SEED=<n>` replays another sequence; a failure names its seed and mutant.
 */
const SEED = Number(process.env.ODE_FUZZ_SEED ?? 17);
const MUTANTS = 400;
/** This many of the mutants also go through the real CLI, whose line must be the library's, prefixed by the file. */
const CLI_EVERY = 50;

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Rng = () => number;
const pick = <T>(rnd: Rng, list: readonly T[]): T => list[Math.floor(rnd() * list.length)]!;
type Path = Array<string | number>;

/** Every path of a document (objects and arrays included), in document order. */
function paths(value: unknown, at: Path = [], out: Path[] = []): Path[] {
  if (at.length) out.push(at);
  if (Array.isArray(value)) value.forEach((item, i) => paths(item, [...at, i], out));
  else if (value && typeof value === "object") for (const [key, item] of Object.entries(value)) paths(item, [...at, key], out);
  return out;
}

function get(doc: any, at: Path): any {
  return at.reduce((node, key) => node[key], doc);
}

function set(doc: any, at: Path, value: unknown): void {
  get(doc, at.slice(0, -1))[at.at(-1)!] = value;
}

const TIME_KEYS = new Set(["created", "updated", "completed", "start", "end", "recorded_at", "started_at", "ended_at", "completed_at"]);
/** Time fields a schema knows (not the ones inside opencode's extra keys, which are kept as they are). */
function timePaths(doc: any): Path[] {
  return paths(doc).filter((at) => {
    const key = at.at(-1);
    if (typeof key !== "string" || !TIME_KEYS.has(key) || typeof get(doc, at) !== "number") return false;
    if (at[0] === "runtime") return false;
    return at.at(-2) === "time" || at[0] === "diagnostics" || at.includes("abort");
  });
}

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
function partId(n: number): string {
  let rand = "";
  for (let i = 0, v = n; i < 14; i++, v = Math.floor(v / 62)) rand = BASE62[v % 62] + rand;
  return `prt_ffffffffffff${rand}`;
}

interface Mutant {
  name: string;
  /** The file's content. */
  file: string | Uint8Array;
  /** The document as it was meant (accepted mutants are compared with it). */
  doc?: any;
  must?: "accept" | "reject";
  /** For a refusal: the field the line must name (the start of the message). */
  names?: RegExp;
}

type Base = { name: string; doc: any; ode: boolean };
type Mutator = (doc: any, rnd: Rng, foreign: Foreign) => Omit<Mutant, "name"> | undefined;
interface Foreign {
  sessionID: string;
  messageID: string;
}

const json = (doc: any): Omit<Mutant, "name"> => ({ file: JSON.stringify(doc), doc });
const escape = (p: Path) => fieldPath(p).replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const at = (p: Path) => new RegExp(`^${escape(p)}: `);
/** The field or one inside it. */
const within = (p: Path) => new RegExp(`^${escape(p)}(\\[\\d+\\]|\\.[\\w$-]+)*: `);

const mutators: Record<string, Mutator> = {
  "drop a field": (doc, rnd) => {
    const p = pick(rnd, paths(doc));
    const parent = get(doc, p.slice(0, -1));
    if (Array.isArray(parent)) parent.splice(p.at(-1) as number, 1);
    else delete parent[p.at(-1)!];
    return json(doc);
  },
  "a wrong type": (doc, rnd) => {
    const p = pick(rnd, paths(doc));
    set(doc, p, pick(rnd, [null, 0, 1.5, "text", true, [], {}, [1, "a"], { k: "v" }]));
    return json(doc);
  },
  "a huge string": (doc, rnd) => {
    const strings = paths(doc).filter((p) => typeof get(doc, p) === "string");
    const p = pick(rnd, strings);
    set(doc, p, pick(rnd, ["x", "line\n", "é😀"]).repeat(Math.floor(10_000 + rnd() * 500_000)));
    return json(doc);
  },
  "a duplicate id": (doc, rnd) => {
    const parts = paths(doc).filter((p) => p.at(-3) === "parts" && p.at(-1) === "id");
    const [a, b] = [pick(rnd, parts), pick(rnd, parts)];
    if (fieldPath(a) === fieldPath(b)) return undefined;
    set(doc, b, get(doc, a));
    return { ...json(doc), must: "reject" };
  },
  "a foreign id": (doc, rnd, foreign) => {
    const choice = pick(rnd, ["message", "part-session", "message-session"]);
    const i = Math.floor(rnd() * doc.messages.length);
    const message = doc.messages[i];
    if (choice === "message") {
      // An id the data directory already holds for another session: only the database can see it.
      message.info.id = foreign.messageID;
      for (const part of message.parts) part.messageID = foreign.messageID;
    } else if (choice === "part-session" && message.parts.length) message.parts[0].sessionID = foreign.sessionID;
    else message.info.sessionID = foreign.sessionID;
    return { ...json(doc), must: "reject" };
  },
  "a truncated file": (doc, rnd) => {
    const text = JSON.stringify(doc, null, pick(rnd, [0, 2]));
    return { file: text.slice(0, Math.floor(rnd() * text.length)), must: "reject", names: /^not valid JSON: line \d+, column \d+: / };
  },
  "a garbage character": (doc, rnd) => {
    const text = JSON.stringify(doc, null, 2);
    const i = Math.floor(rnd() * text.length);
    return { file: text.slice(0, i) + pick(rnd, ["x", "{", "]", ",", '"', ":", "\u0001", "\\"]) + text.slice(i) };
  },
  "deep nesting": (doc, rnd) => {
    const containers = paths(doc).filter((p) => { const v = get(doc, p); return v && typeof v === "object" && !Array.isArray(v); });
    const p = pick(rnd, containers);
    get(doc, p).nested = "__DEEP__";
    const levels = Math.floor(65 + rnd() * 30_000);
    const text = JSON.stringify(doc).replace('"__DEEP__"', "[".repeat(levels) + "]".repeat(levels));
    return { file: text, must: "reject", names: within([...p, "nested"]) };
  },
  "an unreal timestamp": (doc, rnd) => {
    const p = pick(rnd, timePaths(doc));
    set(doc, p, pick(rnd, [1e300, -9e15, 9e15, 1.5, -1, "2024-01-01T00:00:00Z", 253402300800000]));
    // loop.last repeats the last run; mutating one of them is also reported on the other, whichever comes first.
    return { ...json(doc), must: "reject", names: p[2] === "last" || p[2] === "runs" ? /^diagnostics\.loop\.(runs\[\d+\]|last)/ : at(p) };
  },
  "a lone surrogate": (doc, rnd) => {
    const strings = paths(doc).filter((p) => typeof get(doc, p) === "string");
    const p = pick(rnd, strings);
    const value = get(doc, p) as string;
    const cut = Math.floor(rnd() * (value.length + 1));
    set(doc, p, value.slice(0, cut) + pick(rnd, ["\ud800", "\udfff", "\udbff"]) + value.slice(cut));
    return { ...json(doc), must: "reject", names: at(p) };
  },
  "a lone surrogate in a key": (doc, rnd) => {
    const objects = paths(doc).filter((p) => { const v = get(doc, p); return v && typeof v === "object" && !Array.isArray(v); });
    const p = pick(rnd, objects);
    get(doc, p)["key\udc00"] = 1;
    return { ...json(doc), must: "reject", names: at([...p, "key\udc00"]) };
  },
  "invalid UTF-8": (doc, rnd) => {
    const bytes = Buffer.from(JSON.stringify(doc, null, pick(rnd, [0, 2])));
    const i = Math.floor(rnd() * bytes.length);
    const bad = Buffer.from(pick(rnd, [[0xff], [0xc3], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x80]]));
    return { file: Buffer.concat([bytes.subarray(0, i), bad, bytes.subarray(i)]), must: "reject", names: /^not valid JSON: line \d+, column \d+: invalid UTF-8/ };
  },
  "unknown keys opencode may add": (doc, rnd) => {
    const places: Path[] = [["info"], ["info", "time"]];
    doc.messages.forEach((m: any, i: number) => {
      places.push(["messages", i, "info"], ["messages", i, "info", "time"]);
      m.parts.forEach((part: any, j: number) => {
        places.push(["messages", i, "parts", j]);
        if (part.state) places.push(["messages", i, "parts", j, "state"]);
      });
    });
    for (let n = 1 + Math.floor(rnd() * 3); n > 0; n--) {
      get(doc, pick(rnd, places))[pick(rnd, ["archived", "x_future", "share", "revert", "summary2"])] = pick(rnd, [1795553999999, "text é😀", { nested: [1, { a: null }] }, false, null]);
    }
    return { ...json(doc), must: "accept" };
  },
  "an unknown top-level key": (doc, rnd) => {
    const key = pick(rnd, ["notes", "version", "meta"]);
    doc[key] = { any: "thing" };
    return { ...json(doc), must: "reject", names: new RegExp(`^${key}: unknown key`) };
  },
  "reordered messages and parts, and a messy title": (doc, rnd) => {
    doc.messages.reverse();
    for (const m of doc.messages) m.parts.sort(() => rnd() - 0.5);
    doc.info.title = pick(rnd, ["  two\nlines\u0000\t here ", "\u0001\u0002", "", "t".repeat(100_000), "é".repeat(150)]);
    return { ...json(doc), must: "accept" };
  },
  "ode export without format": (doc) => {
    delete doc.format;
    return { ...json(doc), must: "reject", names: /^format: missing, but the document has ode's / };
  },
  "contradicting diagnostics": (doc, rnd) => {
    const d = doc.diagnostics;
    const run = d.loop.runs[0];
    const contradictions: Array<[RegExp, () => void]> = [
      [/^diagnostics\.loop\.last: /, () => (d.loop.last = { ...run, steps: run.steps + 1 })],
      [/^diagnostics\.loop\.last: /, () => (d.loop.last = null)],
      [/^diagnostics\.aborts\[0\]\.run_id: /, () => (d.aborts[0].run_id = "run_20f5b9ef1000notInThisFile0")],
      [/^diagnostics\.aborts\[0\]\.run_id: /, () => delete d.aborts[0].run_id],
      [/^diagnostics\.aborts\[1\]\.run_id: /, () => d.aborts.push({ ...d.aborts[0] })],
      [/^diagnostics\.loop\.runs\[0\]\.outcome: /, () => (d.aborts = [])],
      // A state other than in_flight cannot become completed_after_abort, so the trace is the one contradicted.
      [
        /^diagnostics\.(aborts\[0\]\.title_generation_state|title_generations\[0\]\.completed_after_abort): /,
        () => (d.aborts[0].title_generation_state = pick(rnd, ["in_flight", "not_started", "skipped"])),
      ],
      [/^diagnostics\.title_generations\[0\]\.completed_after_abort: /, () => (d.title_generations[0].completed_after_abort = false)],
      [/^diagnostics\.aborts\[0\]\.title_generation_state: /, () => (d.title_generations[0].success = false)],
      [/^diagnostics\.loop\.runs\[1\]\.run_id: /, () => d.loop.runs.push({ ...run })],
    ];
    const [names, change] = pick(rnd, contradictions);
    change();
    return { ...json(doc), must: "reject", names };
  },
};

/** Mutators that need an ode export; an ode base gets one of them about a third of the time. */
const ODE_ONLY = ["ode export without format", "contradicting diagnostics"];

const FIFTY_K = "50,000 parts";
function fiftyThousandParts(doc: any): Omit<Mutant, "name"> {
  const message = doc.messages.at(-1);
  const template = message.parts.find((p: any) => p.type === "text") ?? message.parts[0];
  for (let n = 0; n < 50_000; n++) message.parts.push({ ...template, id: partId(n), text: `part ${n}` });
  return { ...json(doc), must: "accept" };
}

interface Outcome {
  code: 0 | 2;
  line?: string;
}

/**
 * The file in chunks of a size drawn for it (from a byte to 64 KiB, at most 4,000 chunks), so tokens, escapes and
 * UTF-8 sequences are cut at every kind of place, as a pipe may cut them.
 */
function chunked(file: string | Uint8Array, rnd: Rng): Uint8Array[] {
  const bytes = Buffer.from(file);
  const size = Math.max(pick(rnd, [1, 2, 3, 5, 8, 64, 1000, 65_536]), Math.ceil(bytes.length / 4000));
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size));
  return chunks;
}

/** What `ode import` does with the mutant, in this process: the same functions, the same store, chunks of any size. */
function importInProcess(rt: { store: Store; runs: Runs }, mutant: Mutant, label: string, rnd: Rng): Outcome {
  const before = dbDigest(path.dirname(rt.store.db.name));
  let sessionID: string;
  try {
    sessionID = importStream(rt, chunked(mutant.file, rnd)).sessionID;
  } catch (error) {
    expect(error, label).toBeInstanceOf(ImportValidationError);
    const line = (error as Error).message;
    expect(line, label).not.toContain("\n");
    expect(line.length, label).toBeLessThan(400);
    expect(line, label).toMatch(/^(not valid JSON: line \d+, column \d+: |\(document\): |[\w$-]+(\.[\w$-]+|\[\d+\]|\["[^"]+"\])*: )/);
    if (mutant.names) expect(line, label).toMatch(mutant.names);
    expect(mutant.must, label).not.toBe("accept");
    expect(dbDigest(path.dirname(rt.store.db.name)), `${label}: the database changed`).toBe(before);
    return { code: 2, line };
  }
  expect(mutant.must, label).not.toBe("reject");
  const doc = mutant.doc ?? JSON.parse(Buffer.from(mutant.file).toString("utf8"));
  const expected = expectedExport(doc);
  expect(exportedView(buildExport(rt, sessionID), expected), label).toEqual(expected);
  rt.runs.deleteSession(sessionID);
  return { code: 0 };
}

describe("import fuzz", () => {
  it(`${MUTANTS} seeded mutants of real exports: accepted and exported unchanged, or refused naming the field with the database untouched`, async () => {
    const bases: Base[] = [
      { name: TOOL_RUN, doc: readFixture(TOOL_RUN), ode: false },
      { name: ABORTED, doc: readFixture(ABORTED), ode: false },
      { name: SANITIZED, doc: readFixture(SANITIZED), ode: false },
      { name: "ode export", doc: odeExport(), ode: true },
    ];
    const otherMessage = { id: "msg_000000000001otherMessage01", role: "user" as const, time: { created: 1 } };
    /** Another session already in the data directory: the mutants must leave it alone and cannot take its ids. */
    const withOther = (store: Store) => {
      const other = store.createSession({ directory: "/elsewhere", title: "already here" });
      store.addMessage({ ...otherMessage, sessionID: other.id });
      return other.id;
    };
    const dataDir = tempDir();
    const store = Store.open(dataDir);
    const rt = { store, runs: new Runs(store) };
    const otherID = withOther(store);
    const foreign = { sessionID: otherID, messageID: otherMessage.id };

    const rnd = mulberry32(SEED);
    const general = Object.keys(mutators).filter((name) => !ODE_ONLY.includes(name));
    const counts = { accepted: 0, refused: 0, cli: 0 };
    const cliProject = makeProject();
    const cliStore = Store.open(cliProject.dataDir);
    withOther(cliStore);
    cliStore.close();
    try {
      for (let n = 0; n < MUTANTS; n++) {
        // The big one last: the file it leaves behind would make every later digest slow.
        const last = n === MUTANTS - 1;
        const base = last ? bases[0]! : pick(rnd, bases);
        const name = last ? FIFTY_K : pick(rnd, base.ode && rnd() < 0.35 ? ODE_ONLY : general);
        const doc = structuredClone(base.doc);
        const made = last ? fiftyThousandParts(doc) : mutators[name]!(doc, rnd, foreign);
        if (!made) continue;
        const mutant: Mutant = { name, ...made };
        const label = `seed ${SEED}, mutant ${n}: ${name} of ${base.name}`;
        // Its own sequence, so the chunk sizes do not change which mutants a seed makes.
        const outcome = importInProcess(rt, mutant, label, mulberry32(SEED * 1000 + n));
        counts[outcome.code === 0 ? "accepted" : "refused"]++;

        if (n % CLI_EVERY === 1) {
          counts.cli++;
          const file = path.join(cliProject.dir, `mutant-${n}.json`);
          fs.writeFileSync(file, mutant.file);
          const before = dbDigest(cliProject.dataDir);
          const result = await runOde(cliProject, ["import", file]);
          expect(result.code, label).toBe(outcome.code);
          if (outcome.code === 2) {
            expect(result.stderr, label).toBe(`ode: ${file}: ${outcome.line}\n`);
            expect(dbDigest(cliProject.dataDir), label).toBe(before);
          } else {
            expect(result.stderr, label).toBe("");
            expect((await runOde(cliProject, ["session", "delete", JSON.parse(Buffer.from(mutant.file).toString()).info.id])).code).toBe(0);
          }
        }
      }
    } finally {
      store.close();
    }
    // Both outcomes were really exercised, and the session that was there before is intact.
    expect(counts.accepted).toBeGreaterThan(30);
    expect(counts.refused).toBeGreaterThan(200);
    expect(counts.cli).toBeGreaterThanOrEqual(6);
    const after = Store.open(dataDir);
    try {
      expect(after.listSessions().map((s) => s.id)).toEqual([otherID]);
      expect(after.messages(otherID).map((m) => m.info)).toEqual([{ ...otherMessage, sessionID: otherID }]);
    } finally {
      after.close();
    }
  }, 120_000);
});
