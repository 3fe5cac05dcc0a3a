import type { OdeEvent } from "../events.js";
import type { Runtime } from "../runtime.js";
import { ABORTED_MESSAGE } from "../session/abort.js";
import { opencodeMessage, opencodePart } from "../session/opencode.js";
import type { MessageError } from "../session/schema.js";
import { sessionView } from "./opencode.js";

/** An event as `GET /event` sends it: opencode's envelope, the session named inside `properties`. */
export interface WireEvent {
  type: string;
  sessionID?: string;
  properties: Record<string, unknown>;
}

/**
 * Translates ode's events into opencode's vocabulary, keeping ode's own (`run.*`, `session.title.generated`):
 * a run's start and end also announce `session.status` busy / idle and `session.idle`, and a run that did not
 * complete announces `session.error` first (opencode's clients stop reading at idle). Objects get the fields
 * opencode's clients read (a session's slug and totals, an assistant message's agent, token totals).
 *
 * One per server: it remembers the error of each session's last failed assistant message until its run ends.
 */
export class OpencodeEvents {
  private readonly lastError = new Map<string, MessageError>();

  constructor(private readonly rt: Runtime) {}

  translate(event: OdeEvent): WireEvent[] {
    const { sessionID } = event;
    const wire = (type: string, properties: object): WireEvent => ({ type, sessionID, properties: { sessionID, ...properties } });
    switch (event.type) {
      case "session.created":
      case "session.updated":
        return [wire(event.type, { info: sessionView(this.rt, event.properties.info) })];
      case "message.updated": {
        const { info } = event.properties;
        if (info.role === "assistant" && info.error) this.lastError.set(sessionID, info.error);
        return [wire(event.type, { info: opencodeMessage(info) })];
      }
      case "message.part.updated":
        return [wire(event.type, { part: opencodePart(event.properties.part), time: Date.now() })];
      case "message.part.delta":
        // Text and reasoning parts both grow their `text` field.
        return [wire(event.type, { ...event.properties, field: "text" })];
      case "run.started":
        return [wire(event.type, event.properties), wire("session.status", { status: { type: "busy" } })];
      case "run.finished": {
        const error = this.lastError.get(sessionID);
        this.lastError.delete(sessionID);
        const out = [wire(event.type, event.properties)];
        if (event.properties.outcome !== "completed") {
          const fallback: MessageError =
            event.properties.outcome === "aborted"
              ? { name: "MessageAbortedError", data: { message: ABORTED_MESSAGE } }
              : { name: "UnknownError", data: { message: "the run failed" } };
          out.push(wire("session.error", { error: error ?? fallback }));
        }
        out.push(wire("session.status", { status: { type: "idle" } }), wire("session.idle", {}));
        return out;
      }
      case "session.deleted":
        this.lastError.delete(sessionID);
        return [wire(event.type, event.properties)];
      default:
        return [wire(event.type, event.properties)];
    }
  }
}
