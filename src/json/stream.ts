import { JsonSyntaxError } from "./errors.js";
import { firstInvalidUtf8 } from "./parse.js";
import { JsonScanner, type ScanWatcher } from "./scanner.js";

/** How many bytes of `bytes` end on a whole UTF-8 sequence: a sequence cut by the end of a chunk waits for the next. */
function wholeSequences(bytes: Uint8Array): number {
  const n = bytes.length;
  for (let k = n - 1; k >= Math.max(0, n - 4); k--) {
    const byte = bytes[k]!;
    if ((byte & 0xc0) === 0x80) continue;
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return k + length > n ? k : n;
  }
  return n;
}

/**
 * Scans a JSON document given as text or as bytes in chunks of any size (a file or a pipe read as it comes), so it
 * is never whole in memory: the bytes are decoded strictly as they arrive and `watcher` gets the keys and values it
 * asks for. The first problem in the document is thrown as a JsonSyntaxError, with the line and column parseJson
 * would give: invalid UTF-8 (with its byte offset) or a syntax error, whichever comes first.
 */
export function scanJson(source: string | Iterable<Uint8Array>, watcher: ScanWatcher): void {
  const scanner = new JsonScanner({ watcher });
  if (typeof source === "string") {
    scanner.write(source);
    return scanner.end();
  }
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  let cut: Uint8Array | undefined;
  /** Offset in the input of the first byte not yet decoded (the cut sequence's, if any). */
  let offset = 0;
  let started = false;
  const decode = (chunk: Uint8Array, final: boolean) => {
    const bytes = cut ? Buffer.concat([cut, chunk]) : chunk;
    const whole = final ? bytes.length : wholeSequences(bytes);
    // Copied (a Buffer's `slice` is a view): a reader may fill the same buffer again for its next chunk.
    cut = whole < bytes.length ? new Uint8Array(bytes.subarray(whole)) : undefined;
    const piece = bytes.subarray(0, whole);
    let text: string;
    let invalid: number | undefined;
    try {
      text = decoder.decode(piece);
    } catch {
      // What precedes the invalid byte is scanned first: a syntax error before it is the first problem.
      ({ valid: text, byte: invalid } = firstInvalidUtf8(piece));
    }
    if (!started && text) {
      started = true;
      // A byte order mark is not part of the document (as TextDecoder drops it from a whole file).
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    scanner.write(text);
    if (invalid === undefined) {
      offset += whole;
      return;
    }
    scanner.checkCaptured();
    throw new JsonSyntaxError(`${scanner.position()}: invalid UTF-8 (byte ${offset + invalid})`);
  };
  for (const chunk of source) decode(chunk, false);
  decode(new Uint8Array(0), true);
  scanner.end();
}
