export type IdPrefix = "ses" | "msg" | "prt" | "run" | "lop" | "evt";

/** The id grammar: what `newId` makes, and what opencode's ids look like too. */
export function idPattern(prefix: IdPrefix): RegExp {
  return new RegExp(`^${prefix}_[0-9a-f]{12}[0-9A-Za-z]{14}$`);
}

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
let lastMs = 0;
let counter = 0;

/**
 * `<prefix>_` + 12 hex digits of (ms * 0x1000 + counter) + 14 base62 characters: sortable by creation time and
 * monotonic within a process even when many ids are made in one millisecond.
 */
export function newId(prefix: IdPrefix): string {
  let ms = Date.now();
  if (ms <= lastMs) {
    ms = lastMs;
    counter++;
    if (counter >= 0x1000) {
      ms = lastMs + 1;
      counter = 0;
    }
  } else {
    counter = 0;
  }
  lastMs = ms;
  const stamp = (BigInt(ms) * 0x1000n + BigInt(counter)).toString(16).padStart(12, "0").slice(-12);
  // The Web Crypto global loads Node's crypto module on first use, not with every command that only reads ids.
  const bytes = crypto.getRandomValues(new Uint8Array(14));
  let rand = "";
  for (const b of bytes) rand += BASE62[b % 62];
  return `${prefix}_${stamp}${rand}`;
}
