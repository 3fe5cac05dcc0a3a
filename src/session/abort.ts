import { z } from "zod";

export const cancelSources = ["user", "api", "signal", "timeout", "shutdown", "parent"] as const;
export type CancelSource = (typeof cancelSources)[number];

export const cancelMetaSchema = z.object({
  source: z.enum(cancelSources),
  mode: z.enum(["soft", "hard"]).default("soft"),
  reason: z.string().optional(),
  via: z.string().optional(),
});
/** Who asked for a cancel, through which path, and how hard. Bound to the run it cancels. */
export type CancelMeta = z.input<typeof cancelMetaSchema>;

export type RunPhase = "queued" | "model" | "tool" | "shell";

export type TitleGenerationState = "not_started" | "in_flight" | "completed_before_abort" | "failed_before_abort" | "skipped";

export interface AbortDiagnostic {
  recorded_at: number;
  run_id: string;
  message_id?: string;
  source: CancelSource;
  mode: "soft" | "hard";
  reason?: string;
  via?: string;
  via_ctx_abort: boolean;
  phase: RunPhase;
  tool_call_id?: string;
  error_message?: string;
  title_generation_state: TitleGenerationState | "completed_after_abort";
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
