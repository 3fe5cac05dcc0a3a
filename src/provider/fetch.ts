/** Request bodies longer than this are encoded as they are sent rather than all at once. */
const STREAM_ABOVE_CHARS = 4 * 2 ** 20;
const SLICE_CHARS = 2 ** 20;

/**
 * The providers' fetch. A long session's request body is its whole history as one JSON string, and fetch would
 * copy it into one UTF-8 buffer before sending: a second copy of the history alive during every step. Here a large
 * body is encoded slice by slice as the connection takes it, with its length announced so the request is unchanged
 * on the wire.
 */
export const providerFetch: typeof fetch = (input, init) => {
  const body = init?.body;
  if (typeof body !== "string" || body.length < STREAM_ABOVE_CHARS) return fetch(input, init);
  const headers = new Headers(init!.headers);
  headers.set("content-length", String(Buffer.byteLength(body, "utf8")));
  let offset = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= body.length) return controller.close();
      let end = Math.min(body.length, offset + SLICE_CHARS);
      // A slice never ends between the two halves of a surrogate pair.
      const last = body.charCodeAt(end - 1);
      if (end < body.length && last >= 0xd800 && last <= 0xdbff) end -= 1;
      controller.enqueue(Buffer.from(body.slice(offset, end), "utf8"));
      offset = end;
    },
  });
  return fetch(input, { ...init, headers, body: stream, duplex: "half" } as RequestInit);
};
