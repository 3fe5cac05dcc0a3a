import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { importSession, parseImport } from "../../src/export/import.js";
import { buildExport } from "../../src/export/snapshot.js";
import { Runs } from "../../src/session/runs.js";
import { defaultTitle, normalizeTitle } from "../../src/session/title.js";
import { fixture, withStore } from "../export/support.js";
import { tempDir } from "../support/ode.js";

export const TOOL_RUN = "opencode-1.18.33-export-tool-run.json";
export const ABORTED = "opencode-1.18.33-export-aborted.json";
export const SANITIZED = "opencode-1.18.33-export-tool-run.sanitized.json";

export function readFixture(name: string): any {
  return JSON.parse(fs.readFileSync(fixture(name), "utf8"));
}

export const RUN_ID = "run_20f5b9ef1000abortedRun0001";

/**
 * An ode export of opencode's aborted fixture with every kind of diagnostic: an aborted run, its abort on the run
 * and on its assistant message, and a title generation that succeeded after the abort. Built by ode itself
 * (import, then export), so it is what `ode export` writes.
 */
export function odeExport(): any {
  const source = readFixture(ABORTED);
  const [user, assistant] = source.messages.map((m: any) => m.info);
  const started = user.time.created;
  const run = {
    run_id: RUN_ID,
    kind: "prompt",
    started_at: started,
    ended_at: started + 5000,
    outcome: "aborted",
    user_message_id: user.id,
    assistant_message_ids: [assistant.id],
    steps: 1,
    finish: null,
    attempted_input: "fix the auth flow",
    cancel_count: 1,
  };
  const abort = {
    recorded_at: started + 3000,
    run_id: RUN_ID,
    message_id: assistant.id,
    source: "user",
    mode: "soft",
    via: "cli",
    reason: "took too long",
    via_ctx_abort: false,
    phase: "tool",
    tool_call_id: "call_2",
    title_generation_state: "in_flight",
  };
  assistant.diagnostics = { abort };
  const trace = {
    started_at: started + 10,
    completed_at: started + 4000,
    success: true,
    applied: true,
    title: "Fix bug in auth flow",
    model: "fake/fake",
    user_message_id: user.id,
    assistant_message_id: assistant.id,
    completed_after_abort: true,
  };
  const doc = {
    format: "ode.session",
    schema_version: 1,
    info: source.info,
    messages: source.messages,
    diagnostics: {
      aborts: [{ ...abort, title_generation_state: "completed_after_abort" }],
      title_generations: [trace],
      loop: { runs: [run], last: run },
    },
  };
  return withStore(tempDir(), (store) => {
    const rt = { store, runs: new Runs(store) };
    importSession(rt, parseImport(JSON.stringify(doc)));
    return JSON.parse(JSON.stringify(buildExport(rt, source.info.id)));
  });
}

/**
 * The database file's bytes after a checkpoint, hashed: "nothing written" means this does not change. Opening a
 * plain connection (no migrations) and closing it folds the WAL into the file.
 */
export function dbDigest(dataDir: string): string {
  const file = path.join(dataDir, "ode.db");
  const db = new Database(file);
  db.pragma("wal_checkpoint(TRUNCATE)");
  db.close();
  return createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

const byKey =
  <T>(key: (item: T) => string) =>
  (a: T, b: T) =>
    key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;

/** Aborts by run, those of no run (derived from imported messages) by message. */
const abortOrder = byKey((a: any) => a.run_id ?? a.message_id);

/**
 * What an export of an imported document must be, by the normalisation rules documented in the README: the title
 * normalised (empty: the default title of its creation time), messages and parts in id order, runs in start order
 * with `last` the last of them, an empty `diagnostics` on a message dropped, an opencode document given empty
 * diagnostics, an aborted message no run accounts for counted as an abort of source `unknown`, compactions read
 * from their summary messages' `diagnostics.compaction` (in message order), and `exported_at` /
 * `runtime` describing the exporting process (not compared).
 */
export function expectedExport(input: any): { info: unknown; messages: unknown; diagnostics: unknown } {
  const doc = JSON.parse(JSON.stringify(input));
  const title = normalizeTitle(doc.info.title);
  doc.info.title = title || defaultTitle(new Date(doc.info.time.created));
  const messages = doc.messages
    .map((m: any) => {
      if (m.info.diagnostics && Object.keys(m.info.diagnostics).length === 0) delete m.info.diagnostics;
      return { info: m.info, parts: [...m.parts].sort(byKey((p: any) => p.id)) };
    })
    .sort(byKey((m: any) => m.info.id));
  const diagnostics = doc.diagnostics ?? { aborts: [], title_generations: [], loop: { runs: [] } };
  const runs = [...diagnostics.loop.runs].sort((a: any, b: any) => a.started_at - b.started_at || byKey((r: any) => r.run_id)(a, b));
  const ofRuns = new Set(runs.flatMap((r: any) => r.assistant_message_ids));
  const unrecorded = messages
    .map((m: any) => m.info)
    .filter((i: any) => i.role === "assistant" && i.error?.name === "MessageAbortedError" && !i.diagnostics?.abort && !ofRuns.has(i.id))
    .map((i: any) => ({
      recorded_at: i.time.completed ?? i.time.created,
      message_id: i.id,
      source: "unknown",
      via: "imported-message",
      ...(i.error.data?.message ? { error_message: i.error.data.message } : {}),
    }));
  const recorded = diagnostics.aborts.filter((a: any) => a.source !== "unknown");
  return {
    info: doc.info,
    messages,
    diagnostics: {
      aborts: [...recorded, ...unrecorded].sort(abortOrder),
      title_generations: diagnostics.title_generations,
      compactions: messages.map((m: any) => m.info).filter((i: any) => i.role === "assistant" && i.diagnostics?.compaction).map((i: any) => i.diagnostics.compaction),
      loop: { runs, last: runs.at(-1) ?? null },
    },
  };
}

/**
 * The same view of an export, so the two can be compared with toEqual; `completed_after_abort` is compared only on
 * the traces whose input had it (absent, it is derived anew).
 */
export function exportedView(doc: any, expected: ReturnType<typeof expectedExport>): { info: unknown; messages: unknown; diagnostics: any } {
  const { info, messages, diagnostics } = JSON.parse(JSON.stringify(doc));
  diagnostics.aborts.sort(abortOrder);
  const traces = (expected.diagnostics as any).title_generations as any[];
  diagnostics.title_generations.forEach((trace: any, i: number) => {
    if (traces[i] && !("completed_after_abort" in traces[i])) delete trace.completed_after_abort;
  });
  return { info, messages, diagnostics };
}
