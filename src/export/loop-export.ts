import type { IterationRecord, LoopRecord } from "../loop/loops.js";
import { loopStopReasons } from "../loop/loops.js";
import { onLimitActions } from "../loop/spec.js";
import type { Runtime } from "../runtime.js";
import { cancelSources, cancelVias, runPhases, type AbortDiagnostic } from "../session/abort.js";
import { runOutcomes } from "../session/runs.js";
import type { MessageError } from "../session/schema.js";
import { killModes } from "../shell/spawn.js";
import { VERSION } from "../version.js";
import { isKnownErrorName, sanitizeExport } from "./sanitize.js";
import { buildExport, type ExportDocument } from "./snapshot.js";

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

export function buildLoopExport(rt: Pick<Runtime, "store" | "runs" | "loops">, loopID: string): LoopExportDocument {
  const loop = rt.loops.get(loopID);
  const iterations = rt.loops.iterations(loopID);
  const sessions = iterations.filter((it) => rt.store.findSession(it.session_id)).map((it) => buildExport(rt, it.session_id));
  return { format: LOOP_EXPORT_FORMAT, schema_version: 1, exported_at: Date.now(), app_version: VERSION, loop, iterations, sessions };
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
function sanitizeAbort(abort: Partial<AbortDiagnostic> | undefined | null, sessions: ExportDocument[], owner: string): unknown {
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
  return { ...doc, loop, iterations, sessions };
}
