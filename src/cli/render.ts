import type { OdeEvent, RuntimeEvents } from "../events.js";
import { abortSummary, type AbortDiagnostic } from "../session/abort.js";
import type { RunOutcome } from "../session/runs.js";
import { outcomeExitCode } from "./fail.js";
import { TextProgress } from "./progress.js";

export type OutputFormat = "text" | "json";

export interface RunEnd {
  outcome: RunOutcome;
  error?: { data: { message?: string; statusCode?: unknown } };
  abort?: AbortDiagnostic;
}

/**
 * Prints a session's live events: JSON lines (each with its `sessionID`) for scripts, or, for people, the answer
 * streaming on stdout and the progress of tool calls on stderr. It also remembers what the end-of-run line needs
 * (the abort diagnostic, the tool it interrupted), for a local run and `ode run --attach` alike.
 */
export class Renderer {
  private readonly progress?: TextProgress;
  /** The diagnostic of the last run that was aborted, as the runtime announced it. */
  abort?: AbortDiagnostic;

  constructor(private readonly format: OutputFormat) {
    if (format === "text") this.progress = new TextProgress();
  }

  handle(event: OdeEvent): void {
    if (event.type === "run.aborted") this.abort = event.properties.abort;
    if (this.format === "json") {
      process.stdout.write(JSON.stringify({ ...event.properties, type: event.type, sessionID: event.sessionID, timestamp: Date.now() }) + "\n");
      return;
    }
    this.progress!.handle(event);
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

/** Renders the events of one session (the current one, which the interactive prompt can switch). */
export function renderEvents(events: RuntimeEvents, format: OutputFormat, sessionID: () => string | undefined): { renderer: Renderer; stop(): void } {
  const renderer = new Renderer(format);
  const unsubscribe = events.subscribe((event) => {
    const current = sessionID();
    if (current && event.sessionID !== current) return;
    renderer.handle(event);
  });
  return {
    renderer,
    stop: () => {
      unsubscribe();
      renderer.stop();
    },
  };
}
