import type { TitleGenerationState } from "./abort.js";

export const MAX_TITLE_LENGTH = 100;

export function defaultTitle(now = new Date()): string {
  return `New session - ${now.toISOString()}`;
}

export function isDefaultTitle(title: string): boolean {
  return /^New session - \d{4}-\d{2}-\d{2}T/.test(title);
}

// JavaScript's \s: each run of these becomes one space.
const SPACE = /[\t\n\v\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]/;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Titles end up in child environments (`OPENCODE_SESSION_TITLE`): one line, no control characters or NUL, bounded.
 * One pass that stops once MAX_TITLE_LENGTH characters are kept, so a huge input costs what it keeps, not its size.
 */
export function normalizeTitle(raw: string): string {
  let out = "";
  let kept = 0;
  let space = false;
  for (let i = 0; i < raw.length; ) {
    const char = String.fromCodePoint(raw.codePointAt(i)!);
    i += char.length;
    if (SPACE.test(char)) {
      space = kept > 0;
      continue;
    }
    if (CONTROL.test(char)) continue;
    // A space is kept only before a character that fits after it: a title never ends with one.
    if (kept + (space ? 2 : 1) > MAX_TITLE_LENGTH) break;
    if (space) {
      out += " ";
      kept++;
      space = false;
    }
    out += char;
    kept++;
  }
  return out;
}

/**
 * How the session's title came about, for an abort of a turn that started no generation of its own: from the last
 * generation trace, or from who set the title.
 */
export function titleStateBefore(trace: { success: boolean; skipped?: boolean } | undefined, source: string): TitleGenerationState {
  if (trace?.skipped || (!trace && source === "user")) return "skipped";
  if (!trace) return source === "generated" ? "completed_before_abort" : "not_started";
  return trace.success ? "completed_before_abort" : "failed_before_abort";
}
