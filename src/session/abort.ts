import { CheckError, object, oneOf, optional, string, withDefault } from "../json/check.js";
import { killModes, type KillMode } from "../shell/spawn.js";
import { firstIssue, InvalidInputError } from "./errors.js";

// Each closed set of the abort contract is listed once here; its type, the import schema and the sanitize
// allow-list are all derived from the list, so adding a value cannot silently break import or get redacted.
export const cancelSources = ["user", "api", "signal", "timeout", "shutdown", "parent"] as const;
export type CancelSource = (typeof cancelSources)[number];

/** The paths ode's own cancels come through; a library caller may name others (they are redacted on sanitize). */
export const cancelVias = ["SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "cli", "esc", "ctrl-c", "timeout", "loop", "loop abort", "POST /session/:id/abort", "POST /loop/:id/abort", "session delete --force"] as const;

/** The `via` of the abort `session delete --force` sends to a run in the session it deletes. */
export const FORCE_DELETE_VIA = "session delete --force";

export const runPhases = ["queued", "model", "tool", "shell"] as const;
export type RunPhase = (typeof runPhases)[number];

export const titleGenerationStates = ["not_started", "in_flight", "completed_before_abort", "failed_before_abort", "skipped"] as const;
export type TitleGenerationState = (typeof titleGenerationStates)[number];

/** What an export reports: the state at abort time, or `completed_after_abort` when the title landed later. */
export const reportedTitleStates = [...titleGenerationStates, "completed_after_abort"] as const;
export type ReportedTitleState = (typeof reportedTitleStates)[number];

/** Who asked for a cancel, through which path, and how hard. Bound to the run it cancels. */
export interface CancelMeta {
  source: CancelSource;
  /** `soft` (SIGTERM, then a grace period) when absent. */
  mode?: KillMode;
  reason?: string;
  via?: string;
}

export type CheckedCancelMeta = CancelMeta & { mode: KillMode };

// Checked by hand, not by zod: `ode session abort` cancels without loading a model or zod.
const checkCancelMeta = object<CheckedCancelMeta>({
  source: oneOf(cancelSources),
  mode: withDefault(oneOf(killModes), "soft"),
  reason: optional(string),
  via: optional(string),
});

/** A cancel request with its mode filled in and nothing else kept; a bad field is an InvalidInputError naming it. */
export function cancelMeta(input: CancelMeta): CheckedCancelMeta {
  try {
    return checkCancelMeta(input, []);
  } catch (error) {
    if (error instanceof CheckError) throw new InvalidInputError(firstIssue(error, "cancel request"));
    throw error;
  }
}

/** Node's timers fire at once beyond 2^31-1 ms (about 24.8 days): longer run timeouts are refused, not misread. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

export function timeoutProblem(ms: number): string | undefined {
  if (ms > 0 && ms <= MAX_TIMEOUT_MS) return undefined;
  return `must be a positive number of milliseconds, at most ${MAX_TIMEOUT_MS} (about 24.8 days), not ${ms}`;
}

export interface AbortDiagnostic {
  recorded_at: number;
  run_id: string;
  message_id?: string;
  source: CancelSource;
  mode: KillMode;
  reason?: string;
  via?: string;
  via_ctx_abort: boolean;
  phase: RunPhase;
  tool_call_id?: string;
  error_message?: string;
  title_generation_state: ReportedTitleState;
}

export const ABORTED_MESSAGE = "The run was aborted";

export function describeAbort(d: Pick<AbortDiagnostic, "source" | "via" | "mode" | "phase" | "reason" | "tool_call_id">): string {
  const parts = [`aborted by ${d.source}`];
  if (d.via) parts.push(`via ${d.via}`);
  parts.push(`(${d.mode})`, `during ${d.phase}`);
  if (d.tool_call_id) parts.push(`[${d.tool_call_id}]`);
  if (d.reason) parts.push(`reason: ${JSON.stringify(d.reason)}`);
  return parts.join(" ");
}

const PHASE_WORDS: Record<RunPhase, string> = {
  queued: "before the model was called",
  model: "while the model was answering",
  tool: "during a tool call",
  shell: "during the shell command",
};

/**
 * The stop in a few words for the screen: who, how and why (`aborted: timeout after 5000 ms`,
 * `aborted by user via cli: "reason"`, `aborted by SIGINT during bash`); `ode session show` keeps the full line.
 */
export function abortSummary(d: Pick<AbortDiagnostic, "source" | "via" | "phase" | "reason">, toolName?: string): string {
  if (d.source === "timeout") return `aborted: ${d.reason ?? "timeout"}`;
  const who = d.source === "signal" && d.via ? `aborted by ${d.via}` : `aborted by ${d.source}${d.via ? ` via ${d.via}` : ""}`;
  const when = d.phase === "tool" && toolName ? `during ${toolName}` : PHASE_WORDS[d.phase];
  return `${who} ${when}${d.reason ? `: ${JSON.stringify(d.reason)}` : ""}`;
}
