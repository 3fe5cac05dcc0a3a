import type { TitleTrace } from "../agent/title.js";
import type { AbortDiagnostic } from "../session/abort.js";
import type { CompactionRecord } from "../session/compaction.js";
import type { RunKind, RunOutcome, RunRow } from "../session/runs.js";
import type { MessageInfo } from "../session/schema.js";

/** A run row as exported: what the loop did, and the last user input it sent to the model. */
export interface RunRecord {
  run_id: string;
  kind: RunKind;
  started_at: number;
  ended_at: number | null;
  outcome: RunOutcome | null;
  user_message_id: string | null;
  assistant_message_ids: string[];
  steps: number;
  finish: string | null;
  attempted_input: string | null;
  cancel_count: number;
  /** The OpenTelemetry trace of the run (null when it ran untraced). */
  trace_id: string | null;
}

export type TitleGenerationEntry = TitleTrace & { completed_after_abort: boolean };

/**
 * An abort ode did not record: a message imported from opencode (or written by a client through its own means)
 * that ended with `MessageAbortedError`. Nobody said who aborted it, so the source is `unknown`.
 */
export interface ImportedAbort {
  recorded_at: number;
  message_id: string;
  source: "unknown";
  via: typeof IMPORTED_VIA;
  error_message?: string;
}
export const IMPORTED_VIA = "imported-message";

export type ExportedAbort = AbortDiagnostic | ImportedAbort;

export interface Diagnostics {
  aborts: ExportedAbort[];
  title_generations: TitleGenerationEntry[];
  /** Every compaction, from its summary message, oldest first. */
  compactions: CompactionRecord[];
  loop: { runs: RunRecord[]; last: RunRecord | null };
}

/** An abort found on an assistant message, with the user message that started its turn. */
export interface MessageAbort {
  abort: AbortDiagnostic;
  userMessageID: string;
}

/** The abort an assistant message carries, with the user message of its turn. */
export function messageAbortOf(info: MessageInfo): MessageAbort | undefined {
  if (info.role !== "assistant" || !info.diagnostics?.abort) return undefined;
  return { abort: info.diagnostics.abort as AbortDiagnostic, userMessageID: info.parentID };
}

export function toRunRecord(row: RunRow): RunRecord {
  return {
    run_id: row.id,
    kind: row.kind,
    started_at: row.started_at,
    ended_at: row.ended_at,
    outcome: row.outcome,
    user_message_id: row.user_message_id,
    assistant_message_ids: JSON.parse(row.assistant_message_ids) as string[],
    steps: row.steps,
    finish: row.finish,
    attempted_input: row.attempted_input,
    cancel_count: row.cancel_count,
    trace_id: row.trace_id,
  };
}

/**
 * Joins the sources of evidence (aborts stored on messages, run rows, title traces, and aborted messages no run
 * of ode's accounts for) in memory.
 *
 * An abort is written on the run row and, when the run had an assistant message, copied onto it; the run row's
 * copy wins, so a run aborted before its first assistant message is reported too and no run is reported twice.
 * `title_generation_state` is what the run knew when it was cancelled; a generation that was `in_flight` then and
 * later succeeded is reported as `completed_after_abort` here (the message's own copy is left as recorded).
 */
export function buildDiagnostics(
  messageAborts: MessageAbort[],
  rows: RunRow[],
  traces: TitleTrace[],
  abortedMessages: ImportedAbort[] = [],
  compactions: CompactionRecord[] = [],
): Diagnostics {
  const byRun = new Map<string, MessageAbort>();
  for (const found of messageAborts) byRun.set(found.abort.run_id, found);
  for (const row of rows) {
    if (!row.interrupt) continue;
    byRun.set(row.id, { abort: JSON.parse(row.interrupt) as AbortDiagnostic, userMessageID: row.user_message_id ?? "" });
  }

  const entries: TitleGenerationEntry[] = traces.map((trace) => ({ ...trace, completed_after_abort: false }));
  const traceOf = new Map(entries.map((entry) => [entry.user_message_id, entry]));
  const runs = rows.map(toRunRecord);
  // A message of one of ode's runs is accounted for by its run (a crash-recovered run's message has no copy).
  const ofRuns = new Set(runs.flatMap((run) => run.assistant_message_ids));
  const aborts: ExportedAbort[] = [...byRun.values()]
    .map(({ abort, userMessageID }) => {
      const trace = traceOf.get(userMessageID);
      const finishedLater =
        abort.title_generation_state === "in_flight" &&
        trace?.success === true &&
        trace.completed_at !== undefined &&
        trace.completed_at >= abort.recorded_at;
      if (!finishedLater) return abort;
      trace.completed_after_abort = true;
      return { ...abort, title_generation_state: "completed_after_abort" as const };
    });
  aborts.push(...abortedMessages.filter((found) => !ofRuns.has(found.message_id)));
  aborts.sort((a, b) => a.recorded_at - b.recorded_at);
  return { aborts, title_generations: entries, compactions, loop: { runs, last: runs.at(-1) ?? null } };
}
