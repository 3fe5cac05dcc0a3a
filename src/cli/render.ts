import type { OdeEvent } from "../events.js";
import type { Runtime } from "../runtime.js";
import type { Part } from "../session/schema.js";
import type { WireEvent } from "../server/opencode-events.js";

/** `json` is opencode's `run --format json` vocabulary; `events` is ode's own event stream. */
export const OUTPUT_FORMATS = ["text", "json", "events"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** An event of ode's or, translated, of opencode's vocabulary (`session.error`, `session.status`, ...). */
export type RenderedEvent = Required<Pick<WireEvent, "sessionID">> & WireEvent;
type Renderer = (event: RenderedEvent) => void;

/**
 * Prints a session's live events: streamed text on stdout with one line per tool call on stderr for people,
 * opencode's JSON lines (`json`) or ode's events (`events`) for scripts. For `json` the events are first translated
 * as the server sends them, so a local run and an attached one print the same lines.
 */
export async function renderEvents(rt: Runtime, format: OutputFormat, sessionID: () => string | undefined): Promise<() => void> {
  const render = createRenderer(format);
  let translate = (event: OdeEvent): RenderedEvent[] => [event];
  if (format === "json") {
    const { OpencodeEvents } = await import("../server/opencode-events.js");
    const translator = new OpencodeEvents(rt);
    translate = (event) => translator.translate(event).map((wire) => ({ ...wire, sessionID: event.sessionID }));
  }
  return rt.events.subscribe((event) => {
    const current = sessionID();
    if (current && event.sessionID !== current) return;
    for (const each of translate(event)) render(each);
  });
}

/** One renderer per run: opencode's vocabulary prints each part once, when it is complete. */
export function createRenderer(format: OutputFormat): Renderer {
  if (format === "events") {
    return (event) =>
      process.stdout.write(JSON.stringify({ ...event.properties, type: event.type, sessionID: event.sessionID, timestamp: Date.now() }) + "\n");
  }
  return format === "json" ? opencodeLines() : textLines;
}

const textLines: Renderer = (event) => {
  if (event.type === "message.part.delta" && event.properties.partType === "text") {
    process.stdout.write(String(event.properties.delta));
    return;
  }
  if (event.type !== "message.part.updated") return;
  const part = event.properties.part as Part;
  if (part.type === "text" && part.time?.end !== undefined && part.text) process.stdout.write("\n");
  if (part.type !== "tool") return;
  const state = part.state;
  if (state.status === "completed") process.stderr.write(`| ${part.tool}  ${state.title}\n`);
  if (state.status === "error") process.stderr.write(`| ${part.tool}  error: ${state.error.split("\n")[0]}\n`);
};

/** The line type opencode's `run --format json` prints for a part, once the part is complete; undefined before. */
function lineType(part: Part): string | undefined {
  switch (part.type) {
    case "step-start":
      return "step_start";
    case "step-finish":
      return "step_finish";
    case "tool":
      return part.state.status === "completed" || part.state.status === "error" ? "tool_use" : undefined;
    case "text":
    case "reasoning":
      return part.time?.end !== undefined ? part.type : undefined;
    default:
      return undefined;
  }
}

/** `{type, timestamp, sessionID, part}` per finished part and `{type: "error", ..., error}` per session error. */
function opencodeLines(): Renderer {
  const printed = new Set<string>();
  const print = (type: string, sessionID: string, data: object) =>
    process.stdout.write(JSON.stringify({ type, timestamp: Date.now(), sessionID, ...data }) + "\n");
  return (event) => {
    if (event.type === "session.error") {
      print("error", event.sessionID, { error: event.properties.error });
      return;
    }
    if (event.type !== "message.part.updated") return;
    const part = event.properties.part as Part;
    const type = lineType(part);
    if (!type || printed.has(part.id)) return;
    printed.add(part.id);
    print(type, event.sessionID, { part });
  };
}
