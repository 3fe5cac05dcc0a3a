export const MAX_TITLE_LENGTH = 100;

export function defaultTitle(now = new Date()): string {
  return `New session - ${now.toISOString()}`;
}

export function isDefaultTitle(title: string): boolean {
  return /^New session - \d{4}-\d{2}-\d{2}T/.test(title);
}

/**
 * Titles end up in child environments (`OPENCODE_SESSION_TITLE`): one line, no control characters or NUL, bounded.
 */
export function normalizeTitle(raw: string): string {
  const oneLine = raw
    .replace(/[\r\n\t\v\f\u2028\u2029]+/g, " ")
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, "")
    .replace(/\s+/g, " ")
    .trim();
  return Array.from(oneLine).slice(0, MAX_TITLE_LENGTH).join("").trim();
}
