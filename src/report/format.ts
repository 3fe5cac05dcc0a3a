import { describeAbort, type AbortDiagnostic } from "../session/abort.js";
import type { ToolState } from "../session/schema.js";

export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} m ${String(s % 60).padStart(2, "0")} s`;
  const m = Math.round(s / 60);
  if (m < 48 * 60) return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} m`;
  return `${(m / 1440).toFixed(1)} d`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

export function count(n: number): string {
  return n.toLocaleString("en-US");
}

export function plural(n: number, word: string): string {
  return `${count(n)} ${word}${n === 1 ? "" : "s"}`;
}

/** Wall-clock time in UTC, so a report reads the same wherever it is opened. */
export function clock(ms: number): string {
  return new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

/** Who, via, mode, phase, tool call, reason, and where the title generation was when the run was aborted. */
export function abortLabel(abort: AbortDiagnostic): string {
  return `${describeAbort(abort)} · title generation: ${abort.title_generation_state}`;
}

/** The first `limit` characters, and what was left out, so a long value shows its size instead of its bulk. */
export function truncate(text: string, limit: number): { shown: string; omitted: number } {
  if (text.length <= limit) return { shown: text, omitted: 0 };
  return { shown: text.slice(0, limit), omitted: text.length - limit };
}

/** When a tool call ran; a pending call has no time yet. */
export function toolTime(state: ToolState): { start: number; end?: number } | undefined {
  return state.status === "pending" ? undefined : state.time;
}
