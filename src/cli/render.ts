import type { OdeEvent, RuntimeEvents } from "../events.js";

export type OutputFormat = "text" | "json";

/**
 * Prints a session's live events: JSON lines (each with its `sessionID`) for scripts, or streamed text on stdout
 * with one line per tool call on stderr for people.
 */
export function renderEvents(events: RuntimeEvents, format: OutputFormat, sessionID: () => string | undefined): () => void {
  return events.subscribe((event) => {
    const current = sessionID();
    if (current && event.sessionID !== current) return;
    renderEvent(format, event);
  });
}

/** Prints one event; `ode run --attach` feeds it the server's events so both print the same. */
export function renderEvent(format: OutputFormat, event: OdeEvent): void {
  if (format === "json") {
    process.stdout.write(JSON.stringify({ ...event.properties, type: event.type, sessionID: event.sessionID, timestamp: Date.now() }) + "\n");
    return;
  }
  if (event.type === "message.part.delta" && event.properties.partType === "text") {
    process.stdout.write(event.properties.delta);
    return;
  }
  if (event.type !== "message.part.updated") return;
  const part = event.properties.part;
  if (part.type === "text" && part.time?.end !== undefined && part.text) process.stdout.write("\n");
  if (part.type !== "tool") return;
  const state = part.state;
  if (state.status === "completed") process.stderr.write(`| ${part.tool}  ${state.title}\n`);
  if (state.status === "error") process.stderr.write(`| ${part.tool}  error: ${state.error.split("\n")[0]}\n`);
}
