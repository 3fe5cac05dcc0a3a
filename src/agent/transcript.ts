import type { MessageWithParts } from "../session/schema.js";
import type { HistoryWindow } from "./context.js";

/** Each item of the transcript is cut to this many characters at first; less when the whole does not fit. */
const TRANSCRIPT_ITEM_CHARS = 8_000;
const MIN_ITEM_CHARS = 200;

/** What the summariser reads: the earlier summary, if any, then one item per text or tool call, oldest first. */
export interface Transcript {
  previous?: string;
  lines: string[];
}

/**
 * One item per text or tool call of the part summarised (the model reads a transcript, not tool calls it has no
 * tools for), after the earlier summary if there is one.
 */
export function transcript(window: HistoryWindow, head: MessageWithParts[]): Transcript {
  const lines: string[] = [];
  const earlier = window.compaction?.summary.parts.find((p) => p.type === "text") as { text: string } | undefined;
  for (const { info, parts } of head) {
    for (const part of parts) {
      if (part.type === "text" && part.text) lines.push(`${info.role === "user" ? "User" : "Assistant"}: ${part.text}`);
      else if (part.type === "tool") {
        const state = part.state;
        const result = state.status === "completed" ? state.output : state.status === "error" ? `error: ${state.error}` : "(interrupted)";
        lines.push(`Tool call ${part.tool} ${JSON.stringify(state.input ?? {})}\nResult: ${result}`);
      }
    }
  }
  return { ...(earlier ? { previous: `Summary of the conversation before this point:\n${earlier.text}` } : {}), lines };
}

/**
 * The transcript within `maxChars`: first the middle of long items is cut (each to TRANSCRIPT_ITEM_CHARS, then
 * half that, down to MIN_ITEM_CHARS); if it is still too long, the oldest items are left out, never the earlier
 * summary, which stands for everything before them.
 */
export function fitTranscript({ previous, lines }: Transcript, maxChars: number): string {
  const cut = (line: string, cap: number) =>
    line.length <= cap ? line : `${line.slice(0, cap / 2)}\n[... ${line.length - cap} characters left out ...]\n${line.slice(-cap / 2)}`;
  const items = previous === undefined ? lines : [previous, ...lines];
  const size = (list: string[]) => list.reduce((sum, item) => sum + item.length + 2, 0);
  let cap = TRANSCRIPT_ITEM_CHARS;
  let kept = items.map((item) => cut(item, cap));
  let total = size(kept);
  while (total > maxChars && cap > MIN_ITEM_CHARS) {
    cap = Math.floor(cap / 2);
    kept = items.map((item) => cut(item, cap));
    total = size(kept);
  }
  if (total <= maxChars) return kept.join("\n\n");
  const first = previous === undefined ? 0 : 1;
  const noteRoom = 100;
  let dropped = 0;
  while (total + noteRoom > maxChars && first + dropped < kept.length - 1) total -= kept[first + dropped++]!.length + 2;
  if (dropped === 0) return kept.join("\n\n");
  const note = `[... the ${dropped} oldest items are left out: they do not fit the model ...]`;
  return [...kept.slice(0, first), note, ...kept.slice(first + dropped)].join("\n\n");
}
