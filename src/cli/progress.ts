import type { Colors } from "./screen.js";
import type { OdeEvent } from "../events.js";
import type { ToolPart } from "../session/schema.js";
import { describeCompaction } from "../session/compaction.js";
import { colorsFor, displayLine, Screen } from "./screen.js";

/** Output lines of a running command kept in the live area. */
const TAIL_LINES = 4;
/** How often the live area's elapsed times move on a terminal. */
const TICK_MS = 1000;
/** How often a pipe is told that a command is still running (plain lines, so a log shows a stalled command). */
const PIPE_TICK_MS = 10_000;
/** Output faster than this is drawn in batches: a chatty command must not flood the terminal with redraws. */
const REDRAW_MS = 80;
/** A finished call says how long it took when it took at least this long. */
const SHOW_ELAPSED_MS = 1000;

interface Running {
  tool: string;
  label: string;
  start: number;
  tail: string[];
  /** Output after the last newline, not yet a line. */
  partial: string;
}

export function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

/** What a call is about, in a few words: the command, the file, the pattern. */
export function toolLabel(part: ToolPart): string {
  const state = part.state;
  const input = (state.input ?? {}) as Record<string, unknown>;
  const title = state.status === "running" || state.status === "completed" ? state.title : undefined;
  const value =
    title || (input.description ?? input.command ?? input.filePath ?? input.pattern ?? input.path ?? Object.values(input).find((v) => typeof v === "string"));
  if (typeof value !== "string") return "";
  const [first = "", ...rest] = value.trim().split("\n");
  return displayLine(rest.length ? `${first} …` : first);
}

/**
 * `ode run` and the interactive prompt in text mode, as things happen: the answer streams on stdout; each tool call
 * gets a line on stderr when it starts and, when it matters, when it ends (exit code, time, error); a running
 * command's output and elapsed time show in a live area on a terminal, or as plain lines on a pipe.
 */
export class TextProgress {
  private readonly screen: Screen;
  private readonly c: Colors;
  private readonly running = new Map<string, Running>();
  /** Tool names by call id, to say which tool an abort interrupted. */
  private readonly tools = new Map<string, string>();
  private readonly ticker: NodeJS.Timeout;
  private redraw?: NodeJS.Timeout;

  constructor(screen = new Screen()) {
    this.screen = screen;
    this.c = colorsFor(process.stderr);
    this.ticker = setInterval(() => this.tick(), screen.live ? TICK_MS : PIPE_TICK_MS);
    this.ticker.unref();
  }

  toolName(callID: string | undefined): string | undefined {
    return callID ? this.tools.get(callID) : undefined;
  }

  handle(event: OdeEvent): void {
    switch (event.type) {
      case "message.part.delta":
        if (event.properties.partType === "text") this.screen.text(event.properties.delta);
        break;
      case "message.part.output":
        this.output(event.properties.partID, event.properties.chunk);
        break;
      case "message.part.updated": {
        const part = event.properties.part;
        if (part.type === "text" && part.time?.end !== undefined) this.screen.endText();
        if (part.type === "tool") this.toolUpdate(part);
        break;
      }
      case "session.compacted":
        this.note(`compacted the history: ${describeCompaction(event.properties.compaction)}`);
        break;
      default:
        break;
    }
  }

  /** A persistent note on stderr ("waiting for the session title ..."). */
  note(text: string): void {
    this.screen.line(this.c.dim(text));
  }

  stop(): void {
    clearInterval(this.ticker);
    clearTimeout(this.redraw);
    this.screen.close();
  }

  private prefix(tool: string): string {
    return `${this.c.dim("|")} ${this.c.bold(tool)}`;
  }

  private toolUpdate(part: ToolPart): void {
    this.tools.set(part.callID, part.tool);
    const state = part.state;
    if (state.status === "running" && !this.running.has(part.id)) {
      const label = toolLabel(part);
      this.running.set(part.id, { tool: part.tool, label, start: state.time.start, tail: [], partial: "" });
      this.screen.line(`${this.prefix(part.tool)}  ${label}`);
      this.drawArea();
      return;
    }
    if (state.status !== "completed" && state.status !== "error") return;
    const run = this.running.get(part.id);
    this.running.delete(part.id);
    this.drawArea();
    if (run && !this.screen.live && run.partial) this.pipeLine(run.partial);
    const elapsed = state.time.end !== undefined ? state.time.end - state.time.start : 0;
    const took = elapsed >= SHOW_ELAPSED_MS ? seconds(elapsed) : "";
    if (state.status === "error") {
      const what = state.metadata?.interrupted ? this.c.yellow("interrupted") : this.c.red(`error: ${displayLine(state.error.split("\n")[0] ?? "")}`);
      this.screen.line(`${this.prefix(part.tool)}  ${[what, took].filter(Boolean).join(", ")}`);
    } else {
      const exit = state.metadata.exit;
      const notes = [typeof exit === "number" && exit !== 0 ? this.c.red(`exit ${exit}`) : "", took].filter(Boolean);
      // A call that never reached "running" here (attached late, or too quick to be seen) still gets its line.
      if (!run) this.screen.line(`${this.prefix(part.tool)}  ${toolLabel(part)}`);
      if (notes.length) this.screen.line(`${this.prefix(part.tool)}  ${notes.join(", ")}`);
    }
  }

  private output(partID: string, chunk: string): void {
    const run = this.running.get(partID);
    if (!run) return;
    const lines = (run.partial + chunk).split(/\r?\n/);
    run.partial = lines.pop() ?? "";
    if (!this.screen.live) {
      for (const line of lines) this.pipeLine(line);
      return;
    }
    // A progress bar redraws its line with \r: only the last state of a line is worth showing.
    run.tail.push(...lines.map((l) => l.slice(l.lastIndexOf("\r") + 1)));
    run.tail.splice(0, Math.max(0, run.tail.length - TAIL_LINES));
    this.redraw ??= setTimeout(() => {
      this.redraw = undefined;
      this.drawArea();
    }, REDRAW_MS);
  }

  private pipeLine(line: string): void {
    this.screen.line(`${this.c.dim("|")}   ${displayLine(line)}`);
  }

  private tick(): void {
    if (this.running.size === 0) return;
    if (this.screen.live) return this.drawArea();
    const now = Date.now();
    for (const run of this.running.values()) this.screen.line(`${this.prefix(run.tool)}  still running, ${seconds(now - run.start)}`);
  }

  private drawArea(): void {
    if (!this.screen.live) return;
    const width = this.screen.columns - 1;
    const now = Date.now();
    const lines: string[] = [];
    for (const run of this.running.values()) {
      const head = `${run.tool}  ${run.label}`;
      const time = `  ${seconds(now - run.start)}`;
      lines.push(`${this.c.cyan("…")} ${this.c.bold(displayLine(head, width - 2 - time.length))}${this.c.dim(time)}`);
      const tail = run.partial ? [...run.tail, run.partial.slice(run.partial.lastIndexOf("\r") + 1)] : run.tail;
      for (const line of tail.slice(-TAIL_LINES)) lines.push(this.c.dim(`  ${displayLine(line, width - 2)}`));
    }
    this.screen.setArea(lines);
  }
}
