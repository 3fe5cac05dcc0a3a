import type { OdeEvent, RuntimeEvents } from "../events.js";
import { newId } from "../ids.js";
import { log } from "../log.js";
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
 * client never gets to push back on it: each client has its own queue, bounded in bytes, and a client whose queue
 * is full is disconnected (it can reconnect and re-read the session) instead of making the server buffer for it.
 */
export class EventStreams {
  private readonly closers = new Set<() => void>();
  private readonly queues = new Set<ReadableStreamDefaultController<Uint8Array>>();
  private readonly heartbeatMs: number;
  private readonly maxQueuedBytes: number;
  // The runtime hands the same event object to every listener: it is translated and serialized once however many
  // clients read, and once only, since translating keeps state.
  private lastEvent?: OdeEvent;
  private lastFrames: Uint8Array[] = [];

  constructor(
    private readonly events: RuntimeEvents,
    private readonly translate: (event: OdeEvent) => WireEvent[],
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
    return this.closers.size;
  }

  /**
   * A stream of the events of one session, or of all. `disconnect` cuts the client's connection: erroring the
   * stream instead would make the HTTP adapter log a stack trace for every slow client.
   */
  open(sessionID: string | undefined, disconnect: () => void): ReadableStream<Uint8Array> {
    let stop = () => {};
    return new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          const send = (chunk: Uint8Array) => {
            if ((controller.desiredSize ?? 0) <= 0) {
              stop();
              log.warn("event stream client too slow: disconnected", { queuedLimit: this.maxQueuedBytes });
              disconnect();
              return;
            }
            controller.enqueue(chunk);
          };
          const unsubscribe = this.events.subscribe((event) => {
            if (!sessionID || event.sessionID === sessionID) for (const chunk of this.encodeOnce(event)) send(chunk);
          });
          const heartbeat = setInterval(
            () => send(frame({ type: "server.heartbeat", properties: { time: Date.now() } })),
            this.heartbeatMs,
          );
          const close = () => {
            stop();
            controller.close();
          };
          stop = () => {
            unsubscribe();
            clearInterval(heartbeat);
            this.closers.delete(close);
            this.queues.delete(controller);
          };
          this.closers.add(close);
          this.queues.add(controller);
          send(frame({ type: "server.connected", properties: sessionID ? { sessionID } : {} }));
        },
        cancel: () => stop(),
      },
      { highWaterMark: this.maxQueuedBytes, size: (chunk) => chunk.byteLength },
    );
  }

  /**
   * Settles once every client's queue has been handed to its connection, or after `maxMs`. A prompt answers after
   * its run's events went out: opencode's `run --attach` exits on the answer, and events still queued were lost.
   */
  async flushed(maxMs = 1000): Promise<void> {
    const deadline = Date.now() + maxMs;
    const queued = () => [...this.queues].some((queue) => (queue.desiredSize ?? this.maxQueuedBytes) < this.maxQueuedBytes);
    while (queued() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 2));
  }

  /** Ends every stream (at shutdown), letting what is queued reach the clients. */
  closeAll(): void {
    for (const close of [...this.closers]) close();
  }
}
