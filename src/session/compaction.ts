import type { MessageInfo, MessageWithParts } from "./schema.js";

/*
 * A compaction is stored as opencode stores it, so either tool reads the other's sessions: a user message holding a
 * `compaction` part (the marker: `auto`, `overflow`, `tail_start_id`), answered by an assistant message with
 * `summary: true` and agent `compaction` whose text part is the summary. The conversation the model sees from then
 * on is the summary, then the kept turns from `tail_start_id` on, then what came after the summary.
 */

/** What set a compaction off. Listed once: the type, the sanitize allow-list and the docs follow it. */
export const compactionTriggers = ["overflow", "context-error", "manual"] as const;
export type CompactionTrigger = (typeof compactionTriggers)[number];

/** The agent name of both messages of a compaction; opencode's clients know it. */
export const COMPACTION_AGENT = "compaction";

/** Stored on the summary message (`info.diagnostics.compaction`) and listed by the export's `diagnostics.compactions`. */
export interface CompactionRecord {
  recorded_at: number;
  run_id: string;
  /** The summary message. */
  message_id: string;
  trigger: CompactionTrigger;
  success: boolean;
  /** Stored messages summarised (not counting an earlier summary, which is summarised again). */
  messages: number;
  /** Estimated tokens of the model's request (system prompt and history) before and after. */
  tokens_before: number;
  tokens_after?: number;
  /** Tokens the history may take: the model's context minus the reserve for its answer, when known. */
  budget?: number;
  /** The first message kept verbatim, when recent turns were kept. */
  tail_start_id?: string;
  error_message?: string;
}

/** The `compaction` part of a marker message, in opencode's shape. */
export interface CompactionPartFields {
  auto: boolean;
  overflow?: boolean;
  tail_start_id?: string;
}

export function compactionPartOf(message: MessageWithParts): CompactionPartFields | undefined {
  if (message.info.role !== "user") return undefined;
  return message.parts.find((p) => p.type === "compaction") as CompactionPartFields | undefined;
}

/** A summary message that was completed: a failed or aborted one does not replace the history. */
export function isCompletedSummary(info: MessageInfo): boolean {
  return info.role === "assistant" && info.summary === true && info.finish !== undefined && info.error === undefined;
}

export function isSummary(info: MessageInfo): boolean {
  return info.role === "assistant" && info.summary === true;
}

/** The compaction a summary message records, if it is one of ode's. */
export function compactionRecordOf(info: MessageInfo): CompactionRecord | undefined {
  if (info.role !== "assistant" || !info.diagnostics?.compaction) return undefined;
  return info.diagnostics.compaction as CompactionRecord;
}

/** One line for `ode session show` and `ode session compact`: trigger, what was summarised, sizes, outcome. */
export function describeCompaction(record: CompactionRecord): string {
  const sizes = `~${record.tokens_before}${record.tokens_after !== undefined ? ` -> ~${record.tokens_after}` : ""} tokens`;
  const parts = [`${record.trigger}:`, `${record.messages} message${record.messages === 1 ? "" : "s"} summarised,`, sizes];
  if (record.budget !== undefined) parts.push(`(budget ${record.budget})`);
  parts.push(record.tail_start_id ? `, recent turns kept from ${record.tail_start_id}` : ", no turn kept verbatim");
  if (!record.success) parts.push(`; failed: ${record.error_message ?? "unknown error"}`);
  return parts.join(" ").replace(/ ([,;])/g, "$1");
}
