/**
 * One GET /event client of a server under benchmark: counts the events it receives (one per blank-line-ended
 * frame) until `stop`.
 */
export async function watchEvents(url: string): Promise<{ count: () => number; stop: () => void }> {
  const watcher = new AbortController();
  let events = 0;
  const stream = await fetch(`${url}/event`, { signal: watcher.signal });
  void (async () => {
    try {
      for await (const chunk of stream.body as unknown as AsyncIterable<Uint8Array>) {
        events += Buffer.from(chunk).toString("utf8").split("\n\n").length - 1;
      }
    } catch {
      // Aborted at the end.
    }
  })();
  return { count: () => events, stop: () => watcher.abort() };
}
