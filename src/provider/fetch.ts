import { randomUUID } from "node:crypto";
import { SerialisedHistoryError } from "./wire.js";

/** Request bodies longer than this are encoded as they are sent rather than all at once. */
const STREAM_ABOVE_CHARS = 4 * 2 ** 20;
const SLICE_CHARS = 2 ** 20;

/** The header a model call names its stored history by; taken off before the request leaves. */
const HISTORY_HEADER = "x-ode-history";

/** Serialised histories of the model calls in flight, by the text of the message standing in for each. */
const histories = new Map<string, Buffer>();

/** What a model call sends in place of a serialised history, and must hand back (`release`) when the call is made. */
export interface HistoryStandIn {
  /** The text of the user message that takes the history's place in the prompt. */
  text: string;
  headers: Record<string, string>;
  release(): void;
}

/**
 * Lends `wire` (messages already in the request's JSON, joined by commas) to one model call: the provider converts
 * and stringifies a one-line stand-in, and the fetch below puts the history in its place. A long session's history
 * is then never converted, stringified or encoded again on a step.
 */
export function lendHistory(wire: Buffer): HistoryStandIn {
  const text = `ode-history-${randomUUID()}`;
  histories.set(text, wire);
  return { text, headers: { [HISTORY_HEADER]: text }, release: () => histories.delete(text) };
}

/**
 * Where the message around `at` (the stand-in) starts and ends in `body`: the object that begins with its role and
 * holds `at`. Its strings are ode's own (the role, the stand-in's text, part types), none with a bracket, so
 * counting brackets finds its end whether its content is a string or a list of parts.
 */
function standInBounds(body: string, at: number): { start: number; end: number } {
  const start = body.lastIndexOf('{"role"', at);
  let depth = 0;
  for (let i = start < 0 ? body.length : start; i < body.length; i++) {
    const c = body[i];
    if (c === "{" || c === "[") depth++;
    else if ((c === "}" || c === "]") && --depth === 0) {
      if (i < at) break;
      return { start, end: i + 1 };
    }
  }
  throw new SerialisedHistoryError("the stored history's stand-in is not a message of the request body");
}

/** The body with the history lent under `text` in place of the message standing in for it, in pieces. */
function withHistory(body: RequestInit["body"], text: string): Buffer[] {
  const wire = histories.get(text);
  const at = typeof body === "string" ? body.indexOf(JSON.stringify(text)) : -1;
  if (!wire || at < 0) throw new SerialisedHistoryError("the request lost the stored history it was sent with");
  const json = body as string;
  const { start, end } = standInBounds(json, at);
  return [Buffer.from(json.slice(0, start)), wire, Buffer.from(json.slice(end))];
}

/** Sends the body `next` gives piece by piece (undefined at its end), announcing its `length`: no chunked encoding. */
function sendInPieces(input: Parameters<typeof fetch>[0], init: RequestInit, headers: Headers, length: number, next: () => Uint8Array | undefined) {
  headers.set("content-length", String(length));
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      const piece = next();
      if (piece) controller.enqueue(piece);
      else controller.close();
    },
  });
  return fetch(input, { ...init, headers, body: stream, duplex: "half" } as RequestInit);
}

/**
 * The providers' fetch. A long session's request body is its whole history as one JSON string, and fetch would
 * copy it into one UTF-8 buffer before sending: a second copy of the history alive during every step. Here a large
 * body is encoded slice by slice as the connection takes it; a lent history (`lendHistory`) is put in as the bytes
 * it already is. Either way the length is announced, so the request is unchanged on the wire.
 */
export const providerFetch: typeof fetch = async (input, init) => {
  const body = init?.body;
  const headers = new Headers(init?.headers);
  const lent = headers.get(HISTORY_HEADER);
  if (lent !== null) {
    headers.delete(HISTORY_HEADER);
    const pieces = withHistory(body, lent);
    return sendInPieces(input, init!, headers, pieces.reduce((sum, piece) => sum + piece.length, 0), () => pieces.shift());
  }
  if (typeof body !== "string" || body.length < STREAM_ABOVE_CHARS) return fetch(input, init);
  let offset = 0;
  return sendInPieces(input, init!, headers, Buffer.byteLength(body, "utf8"), () => {
    if (offset >= body.length) return undefined;
    let end = Math.min(body.length, offset + SLICE_CHARS);
    // A slice never ends between the two halves of a surrogate pair.
    const last = body.charCodeAt(end - 1);
    if (end < body.length && last >= 0xd800 && last <= 0xdbff) end -= 1;
    const slice = Buffer.from(body.slice(offset, end), "utf8");
    offset = end;
    return slice;
  });
};
