import pc from "picocolors";
import { erase } from "sisteransi";
import stringWidth from "string-width";
import stripAnsi from "strip-ansi";

type Stream = NodeJS.WriteStream;

export type Colors = ReturnType<typeof pc.createColors>;

/** Colour only on a terminal, never with `NO_COLOR` or `TERM=dumb`: a pipe or a log file gets plain text. */
export function colorsFor(stream: Stream, env: NodeJS.ProcessEnv = process.env): Colors {
  return pc.createColors(Boolean(stream.isTTY) && !env.NO_COLOR && env.TERM !== "dumb");
}

const segmenter = new Intl.Segmenter();

/**
 * One line of a command's output made safe to show: escape sequences and control characters removed (a program's
 * own colours or cursor moves would break the status area), tabs expanded, and cut to `width` columns.
 */
export function displayLine(text: string, width = Infinity): string {
  // eslint-disable-next-line no-control-regex
  const plain = stripAnsi(text).replace(/\t/g, "  ").replace(/[\x00-\x1f\x7f]/g, "");
  if (stringWidth(plain) <= width) return plain;
  let out = "";
  let used = 0;
  for (const { segment } of segmenter.segment(plain)) {
    const w = stringWidth(segment);
    if (used + w > width - 1) break;
    out += segment;
    used += w;
  }
  return out + "…";
}

/**
 * The terminal as two streams: stdout gets the answer, stderr gets progress. On a terminal, stderr also holds a
 * live area at the bottom (running tools and their output) that is erased before anything else is written and
 * drawn again after, so it always stays below the persistent lines. On a pipe there is no live area and no
 * escape code: every line is written once.
 */
export class Screen {
  readonly live: boolean;
  /** True while stdout's last write did not end its line (an answer streaming in). */
  private midLine = false;
  private drawn = 0;
  private area: string[] = [];

  constructor(
    private readonly out: Stream = process.stdout,
    private readonly err: Stream = process.stderr,
  ) {
    this.live = Boolean(err.isTTY);
  }

  get columns(): number {
    return this.err.columns || 80;
  }

  /** Both streams are the same terminal: a write on one moves the cursor the other's live area relies on. */
  private get shared(): boolean {
    return this.live && Boolean(this.out.isTTY);
  }

  private erase(): void {
    if (this.drawn === 0) return;
    this.err.write(erase.lines(this.drawn));
    this.drawn = 0;
  }

  private draw(): void {
    if (!this.live || this.area.length === 0 || (this.shared && this.midLine)) return;
    this.err.write(this.area.join("\n"));
    this.drawn = this.area.length;
  }

  /** Answer text, as it streams. The live area waits until the line is complete. */
  text(chunk: string): void {
    if (!chunk) return;
    if (this.shared) this.erase();
    this.out.write(chunk);
    this.midLine = !chunk.endsWith("\n");
    if (this.shared) this.draw();
  }

  /** Ends a streamed answer's line, so what follows starts on its own. */
  endText(): void {
    if (this.midLine) this.text("\n");
  }

  /** A persistent progress line on stderr, above the live area. */
  line(text: string): void {
    this.endText();
    this.erase();
    this.err.write(text + "\n");
    this.draw();
  }

  /** Replaces the live area (terminal only). */
  setArea(lines: string[]): void {
    if (!this.live) return;
    this.erase();
    this.area = lines;
    this.draw();
  }

  /** Erases the live area for good: the command is done and prints its last lines. */
  close(): void {
    this.area = [];
    this.erase();
    this.endText();
  }
}
