import type { TitleTrace } from "./agent/title.js";
import type { IterationRecord, LoopStopReason, StopDetail } from "./loop/loops.js";
import type { AbortDiagnostic } from "./session/abort.js";
import type { CompactionRecord } from "./session/compaction.js";
import type { RunKind, RunOutcome } from "./session/runs.js";
import type { MessageInfo, Part, SessionInfo } from "./session/schema.js";

/** Every event a runtime emits, by name: the one list subscribers (server, `--format json`, title, tracing) read. */
export interface OdeEventMap {
  "session.created": { info: SessionInfo };
  "session.updated": { info: SessionInfo };
  "session.deleted": Record<string, never>;
  "message.updated": { info: MessageInfo };
  "message.part.updated": { part: Part };
  "message.part.delta": { messageID: string; partID: string; partType: "text" | "reasoning"; delta: string };
  /** Output of a running tool call (bash) as it arrives; not stored, the completed part holds the result. */
  "message.part.output": { messageID: string; partID: string; callID: string; chunk: string };
  "session.title.generated": { trace: TitleTrace };
  "run.started": { runID: string; kind: RunKind };
  "run.aborted": { runID: string; abort: AbortDiagnostic };
  "run.finished": { runID: string; outcome: RunOutcome };
  /** A compaction ended (also a failed one): the record stored on its summary message. */
  "session.compacted": { runID: string; compaction: CompactionRecord };
  // Loop events carry the session of the current iteration ("" before the first one).
  "loop.started": { loopID: string; name: string; resumed: boolean };
  "loop.iteration.started": { loopID: string; iteration: number; runID: string };
  "loop.iteration.finished": { loopID: string; iteration: IterationRecord };
  "loop.finished": { loopID: string; stop_reason: LoopStopReason; stop_detail: StopDetail; iterations: number };
}

export type OdeEventType = keyof OdeEventMap;

/** One event: its name, the session it belongs to, and the payload that name carries. */
export type OdeEvent<K extends OdeEventType = OdeEventType> = K extends OdeEventType
  ? { type: K; sessionID: string; properties: OdeEventMap[K] }
  : never;

export type OdeEventListener = (event: OdeEvent) => void;

/**
 * A runtime's own event stream. Listeners run synchronously inside the emitting call, so a subscriber sees every
 * change in order; two runtimes in one process never see each other's events.
 */
export class RuntimeEvents {
  private readonly listeners = new Set<OdeEventListener>();

  /**
   * `onListenerError` hears what a listener threw. By default it is thrown again on the next tick, as an
   * EventTarget's listener errors are: a listener's bug surfaces, but never inside the store write that emitted.
   */
  constructor(private readonly onListenerError: (error: unknown) => void = rethrowLater) {}

  /** Every listener hears the event, whatever one before it throws: the emitter has already written its change. */
  emit<K extends OdeEventType>(type: K, sessionID: string, properties: OdeEventMap[K]): void {
    if (this.listeners.size === 0) return;
    const event = { type, sessionID, properties } as OdeEvent;
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }

  subscribe(listener: OdeEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

function rethrowLater(error: unknown): void {
  process.nextTick(() => {
    throw error;
  });
}
