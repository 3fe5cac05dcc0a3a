import type { OdeEvent } from "../events.js";
import type { Runtime } from "../runtime.js";
import { abortSummary, type AbortDiagnostic } from "../session/abort.js";
import type { RunOutcome } from "../session/runs.js";
import type { Part } from "../session/schema.js";
import type { WireEvent } from "../server/opencode-events.js";
import { outcomeExitCode } from "./fail.js";
import type { OutputFormat } from "./formats.js";
import { TextProgress } from "./progress.js";

/** An event of ode's or, translated, of opencode's vocabulary (`session.error`, `session.status`, ...). */
export type RenderedEvent = Required<Pick<WireEvent, "sessionID">> & WireEvent;
type Lines = (event: RenderedEvent) => void;

export interface RunEnd {
  outcome: RunOutcome;
  error?: { data: { message?: string; statusCode?: unknown } };
  abort?: AbortDiagnostic;
}

/**
 * Prints a session's live events: for people, the answer streaming on stdout and the progress of tool calls on
 * stderr; for scripts, opencode's JSON lines (`json`) or ode's events (`events`). It also remembers what the
 * end-of-run line needs (the abort diagnostic, the tool it interrupted), for a local run and `--attach` alike.
 */
export class Renderer {
  private readonly progress?: TextProgress;
  private readonly lines?: Lines;
  /** The diagnostic of the last run that was aborted, as the runtime announced it. */
  abort?: AbortDiagnostic;

  constructor(format: OutputFormat) {
    if (format === "text") this.progress = new TextProgress();
    else this.lines = format === "json" ? opencodeLines() : eventLines;
  }

  handle(event: RenderedEvent | OdeEvent): void {
    if (event.type === "run.aborted") this.abort = (event.properties as { abort: AbortDiagnostic }).abort;
    if (this.lines) this.lines(event as RenderedEvent);
    else this.progress!.handle(event as OdeEvent);
  }

  /** Why a run stopped, in one line: who aborted it and during what, or the model's HTTP status and message. */
  stopReason(result: RunEnd): string {
    const abort = result.abort ?? this.abort;
    if (result.outcome === "aborted" && abort) return abortSummary(abort, this.progress?.toolName(abort.tool_call_id));
    const data = result.error?.data;
    const status = typeof data?.statusCode === "number" ? `HTTP ${data.statusCode}: ` : "";
    return `run ${result.outcome}: ${status}${data?.message ?? result.outcome}`;
  }

  /**
   * The last line of a run, on stderr so stdout stays the answer: the session id when it completed, otherwise why
   * it stopped; sets the exit code.
   */
  finish(result: RunEnd, sessionID: string): void {
    this.stop();
    if (result.outcome === "completed") {
      process.stderr.write(`session ${sessionID}\n`);
      return;
    }
    process.stderr.write(`ode: ${this.stopReason(result)} (session ${sessionID})\n`);
    process.exitCode = outcomeExitCode(result.outcome);
  }

  /** A line for people on stderr; JSON output stays events only. */
  note(text: string): void {
    this.progress?.note(text);
  }

  stop(): void {
    this.progress?.stop();
  }
}

/**
 * Renders the events of one session (the current one, which the interactive prompt can switch). For `json` the
 * events are first translated as the server sends them, so a local run and an attached one print the same lines.
 */
export async function renderEvents(
  rt: Runtime,
  format: OutputFormat,
  sessionID: () => string | undefined,
): Promise<{ renderer: Renderer; stop(): void }> {
  const renderer = new Renderer(format);
  let translate = (event: OdeEvent): Array<RenderedEvent | OdeEvent> => [event];
  if (format === "json") {
    const { OpencodeEvents } = await import("../server/opencode-events.js");
    const translator = new OpencodeEvents(rt);
    translate = (event) => translator.translate(event).map((wire) => ({ ...wire, sessionID: event.sessionID }));
  }
  const unsubscribe = rt.events.subscribe((event) => {
    const current = sessionID();
    if (current && event.sessionID !== current) return;
    for (const each of translate(event)) renderer.handle(each);
  });
  return {
    renderer,
    stop: () => {
      unsubscribe();
      renderer.stop();
    },
  };
}

const eventLines: Lines = (event) =>
  process.stdout.write(JSON.stringify({ ...event.properties, type: event.type, sessionID: event.sessionID, timestamp: Date.now() }) + "\n");

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
function opencodeLines(): Lines {
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
