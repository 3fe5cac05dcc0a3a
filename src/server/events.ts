import type { ServerResponse } from "node:http";
import type { OdeEvent, RuntimeEvents } from "../events.js";
import { newId } from "../ids.js";
import type { Log } from "../log.js";
import type { WireEvent } from "./opencode-events.js";

export interface EventStreamOptions {
  heartbeatMs?: number;
  /** Bytes a client may leave unread before it is disconnected. */
  maxQueuedBytes?: number;
}

const encoder = new TextEncoder();

/**
 * opencode's envelope, `{id, type, properties: {sessionID, ...}}`; `sessionID` is repeated at the top for clients
 * written against ode's earlier envelope.
 */
function frame(event: WireEvent): Uint8Array {
  const body = { id: newId("evt"), type: event.type, properties: event.properties, ...(event.sessionID ? { sessionID: event.sessionID } : {}) };
  return encoder.encode(`data: ${JSON.stringify(body)}\n\n`);
}

/**
 * `GET /event`: every runtime event as a server-sent event. Events are emitted synchronously from inside the runs, so a
 * client never gets to push back on it: each client has its own queue (its response's buffer), bounded in bytes, and a
 * client whose queue is full is disconnected (it can reconnect and re-read the session) instead of making the server
 * buffer for it.
 */
export class EventStreams {
  /** Each open stream's response, with what ends it. */
  private readonly streams = new Map<ServerResponse, () => void>();
  private readonly heartbeatMs: number;
  private readonly maxQueuedBytes: number;
  // The runtime hands the same event object to every listener: it is translated and serialized once however many
  // clients read, and once only, since translating keeps state.
  private lastEvent?: OdeEvent;
  private lastFrames: Uint8Array[] = [];

  constructor(
    private readonly events: RuntimeEvents,
    private readonly translate: (event: OdeEvent) => WireEvent[],
    private readonly log: Log,
    options: EventStreamOptions = {},
  ) {
    this.heartbeatMs = options.heartbeatMs ?? 10_000;
    this.maxQueuedBytes = options.maxQueuedBytes ?? 1024 * 1024;
  }

  private encodeOnce(event: OdeEvent): Uint8Array[] {
    if (event !== this.lastEvent) {
      this.lastEvent = event;
      this.lastFrames = this.translate(event).map(frame);
    }
    return this.lastFrames;
  }

  get clients(): number {
    return this.streams.size;
  }

  /**
   * Streams the events of one session, or of all, on `res`. Written on the response directly rather than handed
   * to the HTTP adapter as a ReadableStream: the adapter chains one promise per chunk onto the previous one, and on
   * a stream that never ends that chain (two objects per event) lives as long as the client stays connected.
   */
  open(sessionID: string | undefined, res: ServerResponse): void {
    // A client gone before its stream opened never gets a "close" again: it would stay subscribed for good.
    if (res.destroyed) return;
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", "x-accel-buffering": "no" });
    const send = (chunk: Uint8Array) => {
      // What the socket has not taken yet: what the client left unread once the kernel's buffers are full.
      if (res.writableLength >= this.maxQueuedBytes) {
        stop();
        this.log.warn("event stream client too slow: disconnected", { queuedLimit: this.maxQueuedBytes });
        // Cut, not ended: ending would wait for the client to read what is queued.
        res.destroy();
        return;
      }
      res.write(chunk);
    };
    const unsubscribe = this.events.subscribe((event) => {
      if (!sessionID || event.sessionID === sessionID) for (const chunk of this.encodeOnce(event)) send(chunk);
    });
    const heartbeat = setInterval(
      () => send(frame({ type: "server.heartbeat", properties: { time: Date.now() } })),
      this.heartbeatMs,
    );
    const stop = () => {
      unsubscribe();
      clearInterval(heartbeat);
      this.streams.delete(res);
    };
    this.streams.set(res, () => {
      stop();
      res.end();
    });
    res.once("close", stop);
    send(frame({ type: "server.connected", properties: sessionID ? { sessionID } : {} }));
  }

  /**
   * Settles once every client's events have been taken by its connection, or after `maxMs`. A prompt answers after
   * its run's events went out: opencode's `run --attach` exits on the answer, and events still queued were lost.
   */
  async flushed(maxMs = 1000): Promise<void> {
    const deadline = Date.now() + maxMs;
    const queued = () => [...this.streams.keys()].some((res) => res.writableLength > 0);
    while (queued() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 2));
  }

  /** Ends every stream (at shutdown), letting what is queued reach the clients. */
  closeAll(): void {
    for (const close of [...this.streams.values()]) close();
  }
}
