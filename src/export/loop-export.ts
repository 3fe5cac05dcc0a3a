import type { IterationRecord, LoopRecord } from "../loop/loops.js";
import { loopStopReasons } from "../loop/loops.js";
import { onLimitActions } from "../loop/spec.js";
import type { Runtime } from "../runtime.js";
import { cancelSources, cancelVias, runPhases, type AbortDiagnostic } from "../session/abort.js";
import { runOutcomes } from "../session/runs.js";
import type { MessageError } from "../session/schema.js";
import { killModes } from "../shell/spawn.js";
import { VERSION } from "../version.js";
import type { Diagnostics } from "./diagnostics.js";
import { isKnownErrorName, sanitizeExport } from "./sanitize.js";
import { buildExport, type ExportDocument } from "./snapshot.js";
import { fieldsOf, inOneRead, jsonArray, jsonObject, sanitizedReferences, sessionJson, type ExportChunkOptions } from "./stream.js";

export const LOOP_EXPORT_FORMAT = "ode.loop";

/** A loop as one document: its record, its iterations, and every iteration's session export. */
export interface LoopExportDocument {
  format: typeof LOOP_EXPORT_FORMAT;
  schema_version: 1;
  exported_at: number;
  app_version: string;
  loop: LoopRecord;
  iterations: IterationRecord[];
  /** Sessions deleted since are missing here; their iteration rows remain. */
  sessions: ExportDocument[];
}

type LoopReader = Pick<Runtime, "store" | "runs" | "loops">;

/** The whole document in memory, for the loop report; `loopExportChunks` writes the same text a session at a time. */
export function buildLoopExport(rt: LoopReader, loopID: string): LoopExportDocument {
  const { sessionIDs, ...head } = loopHead(rt, loopID);
  return { ...head, sessions: sessionIDs.map((id) => buildExport(rt, id)) };
}

/** Everything of the document but its sessions, and the ids of those: the sessions of the iterations, that still exist. */
function loopHead(rt: LoopReader, loopID: string): Omit<LoopExportDocument, "sessions"> & { sessionIDs: string[] } {
  const loop = rt.loops.get(loopID);
  const iterations = rt.loops.iterations(loopID);
  const sessionIDs = iterations.filter((it) => rt.store.findSession(it.session_id)).map((it) => it.session_id);
  return { format: LOOP_EXPORT_FORMAT, schema_version: 1, exported_at: Date.now(), app_version: VERSION, loop, iterations, sessionIDs };
}

/**
 * The loop's document as text, one session message at a time: the chunks joined are `JSON.stringify` of
 * `buildLoopExport`'s document (of `sanitizeLoopExport`'s with `sanitize`), the same bytes but for the
 * `exported_at` fields, with one session message in memory at a time. Sanitizing the loop's record and iterations
 * needs what the sanitized sessions say (their ids, the aborts of their runs), and those come first in the
 * document: so each session is sanitized once beforehand, keeping only its id and diagnostics, then again as it is
 * written. An unknown loop throws here, before any chunk; the rest is read inside one read transaction, as
 * `exportChunks` does.
 */
export function loopExportChunks(rt: LoopReader, loopID: string, options: ExportChunkOptions = {}): Generator<string> {
  rt.loops.get(loopID);
  return loopDocumentChunks(rt, loopID, options);
}

function* loopDocumentChunks(rt: LoopReader, loopID: string, { sanitize = false, pretty = false }: ExportChunkOptions): Generator<string> {
  yield* inOneRead(rt, loopJson(rt, loopID, sanitize, pretty));
  if (pretty) yield "\n";
}

function* loopJson(rt: LoopReader, loopID: string, sanitize: boolean, pretty: boolean): Generator<string> {
  const { sessionIDs, ...plain } = loopHead(rt, loopID);
  const head = sanitize ? { ...plain, ...sanitizeLoopRecords(plain, sessionIDs.map((id) => sanitizedReferences(rt, id))) } : plain;
  yield* jsonObject(pretty, 0, [
    ...fieldsOf(head, pretty),
    ["sessions", jsonArray(pretty, sessionIDs.map((id) => sessionJson(rt, id, sanitize, pretty)))],
  ]);
}

const LOOP_ID = /^lop_[0-9a-f]{12}[0-9A-Za-z]{14}$/;
const mark = (kind: string, owner: string) => `[redacted:${kind}:${owner}]`;
const keep = <T extends string>(value: unknown, allowed: readonly T[], kind: string, owner: string): unknown =>
  typeof value === "string" && (allowed as readonly string[]).includes(value) ? value : value == null ? value : mark(kind, owner);

function sanitizeError(error: MessageError | null, owner: string): unknown {
  if (!error) return null;
  const data = error.data as { statusCode?: unknown; isRetryable?: unknown; retryAfterMs?: unknown };
  return {
    name: isKnownErrorName(error.name) ? error.name : mark("error-name", owner),
    data: {
      message: mark("error", owner),
      ...(typeof data.statusCode === "number" ? { statusCode: data.statusCode } : {}),
      ...(typeof data.isRetryable === "boolean" ? { isRetryable: data.isRetryable } : {}),
      ...(typeof data.retryAfterMs === "number" ? { retryAfterMs: data.retryAfterMs } : {}),
    },
  };
}

/**
 * An abort as its sanitized session export reports it (so its tool call id matches that document's parts), or,
 * for a loop stopped between runs, its closed fields only.
 */
function sanitizeAbort(abort: Partial<AbortDiagnostic> | undefined | null, sessions: SessionReferences[], owner: string): unknown {
  if (!abort) return abort ?? null;
  const fromSession = abort.run_id ? sessions.flatMap((s) => s.diagnostics.aborts).find((a) => "run_id" in a && a.run_id === abort.run_id) : undefined;
  if (fromSession) return fromSession;
  return {
    ...(typeof abort.recorded_at === "number" ? { recorded_at: abort.recorded_at } : {}),
    source: keep(abort.source, cancelSources, "source", owner),
    ...(abort.mode !== undefined ? { mode: keep(abort.mode, killModes, "mode", owner) } : {}),
    ...(abort.via !== undefined ? { via: keep(abort.via, cancelVias, "via", owner) } : {}),
    ...(abort.phase !== undefined ? { phase: keep(abort.phase, runPhases, "phase", owner) } : {}),
    ...(abort.reason !== undefined ? { reason: mark("reason", owner) } : {}),
  };
}

/**
 * The loop document with the same guarantee as a session's: every session goes through `sanitizeExport`, and of
 * the loop's own record only ids, times, counts, limits and closed sets stay; the prompt, the name, the commands,
 * the promise, paths, outputs and messages are replaced by `[redacted:<kind>:<id>]`.
 */
export function sanitizeLoopExport(doc: LoopExportDocument): LoopExportDocument {
  const sessions = doc.sessions.map(sanitizeExport);
  return { ...doc, ...sanitizeLoopRecords(doc, sessions), sessions };
}

/** What the loop's record and iterations refer to in a sanitized session export. */
interface SessionReferences {
  info: { id: string };
  diagnostics: Pick<Diagnostics, "aborts" | "loop">;
}

/** The loop's record and iterations, sanitized; `sessions` are the document's sessions, sanitized. */
function sanitizeLoopRecords(
  doc: Pick<LoopExportDocument, "loop" | "iterations">,
  sessions: SessionReferences[],
): Pick<LoopExportDocument, "loop" | "iterations"> {
  const loopID = LOOP_ID.test(doc.loop.id) ? doc.loop.id : mark("loop", "id");
  const { spec } = doc.loop;
  const numbers = Object.fromEntries(Object.entries(spec).filter(([, value]) => typeof value === "number"));
  const text = (kind: string, value: unknown) => (value === undefined ? {} : { [kind]: mark(`loop-${kind}`, loopID) });
  const loop = {
    ...doc.loop,
    id: loopID,
    directory: mark("directory", loopID),
    name: mark("loop-name", loopID),
    spec: {
      ...numbers,
      onLimit: keep(spec.onLimit, onLimitActions, "on-limit", loopID),
      ...text("prompt", spec.prompt),
      ...text("promptFile", spec.promptFile),
      ...text("name", spec.name),
      ...text("titleTemplate", spec.titleTemplate),
      ...text("model", spec.model),
      ...text("completionPromise", spec.completionPromise),
      ...text("until", spec.until),
    },
    stop_reason: keep(doc.loop.stop_reason, loopStopReasons, "stop-reason", loopID),
    stop_detail: doc.loop.stop_detail && {
      message: mark("stop-detail", loopID),
      ...(doc.loop.stop_detail.abort ? { abort: sanitizeAbort(doc.loop.stop_detail.abort, sessions, loopID) } : {}),
    },
  } as LoopRecord;
  const iterations = doc.iterations.map((it) => {
    const owner = it.run_id ?? `${loopID}:${it.n}`;
    const session = sessions.find((s) => s.info.id === it.session_id || s.diagnostics.loop.runs.some((r) => r.run_id === it.run_id));
    return {
      ...it,
      loop_id: loopID,
      session_id: session?.info.id ?? mark("session", owner),
      outcome: keep(it.outcome, runOutcomes, "outcome", owner),
      abort: sanitizeAbort(it.abort, sessions, owner),
      error: sanitizeError(it.error, owner),
      until_output: it.until_output === null ? null : mark("until-output", owner),
    } as IterationRecord;
  });
  return { loop, iterations };
}
