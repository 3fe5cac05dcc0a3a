/**
 * JSON from files and request bodies: decoded strictly, parsed natively, and on failure located by line and column
 * with a short reason that never quotes the input (V8's messages quote a slice of the document, newlines and all,
 * and some carry no position at all).
 */

import { JsonSyntaxError } from "./errors.js";
import { JsonScanner } from "./scanner.js";

export { JsonSyntaxError };

export function lineColumn(text: string, offset: number): string {
  let line = 1;
  let start = 0;
  for (let nl = text.indexOf("\n"); nl !== -1 && nl < offset; nl = text.indexOf("\n", nl + 1)) {
    line++;
    start = nl + 1;
  }
  return `line ${line}, column ${offset - start + 1}`;
}

/** Bytes to text, refusing invalid UTF-8 instead of silently replacing it with U+FFFD. */
export function decodeUtf8(bytes: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    const { valid, byte } = firstInvalidUtf8(bytes);
    throw new JsonSyntaxError(`${lineColumn(valid, valid.length)}: invalid UTF-8 (byte ${byte})`);
  }
}

/**
 * Where bytes that failed strict decoding stop being UTF-8: the text before the first invalid byte, and that byte's
 * offset. Only the error path pays for finding it: the first U+FFFD a lenient decoding has that the bytes
 * themselves do not spell out.
 */
export function firstInvalidUtf8(bytes: Uint8Array): { valid: string; byte: number } {
  const lossy = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
  for (let at = lossy.indexOf("\uFFFD"); at !== -1; at = lossy.indexOf("\uFFFD", at + 1)) {
    const byte = Buffer.byteLength(lossy.slice(0, at));
    if (!(bytes[byte] === 0xef && bytes[byte + 1] === 0xbf && bytes[byte + 2] === 0xbd)) return { valid: lossy.slice(0, at), byte };
  }
  // A strict decoder refuses exactly what a lenient one replaces, so this is not reached.
  throw new JsonSyntaxError("invalid UTF-8");
}

/** Strict JSON; `jsonc` also allows comments and trailing commas (config files). */
export function parseJson(text: string, options: { jsonc?: boolean } = {}): unknown {
  const source = options.jsonc ? stripJsonc(text) : text;
  try {
    return JSON.parse(source);
  } catch {
    // Only the error path pays for the scan that finds where.
    const scanner = new JsonScanner();
    scanner.write(source);
    scanner.end();
    throw new JsonSyntaxError("not valid JSON");
  }
}

/** Comments and trailing commas blanked out with spaces, so offsets (and so lines and columns) stay those of the file. */
function stripJsonc(text: string): string {
  const scanner = new JsonScanner({ jsonc: true });
  scanner.write(text);
  scanner.end();
  if (scanner.blanks.length === 0) return text;
  let out = "";
  let from = 0;
  for (const [start, end] of scanner.blanks.sort((a, b) => a[0] - b[0])) {
    out += text.slice(from, start) + text.slice(start, end).replace(/[^\n]/g, " ");
    from = end;
  }
  return out + text.slice(from);
}
