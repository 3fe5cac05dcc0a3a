import { JsonSyntaxError } from "./errors.js";

/** A key or a value of the document. */
export type Token = "key" | "value";

/**
 * Told where the keys and values at most `depth` containers deep start and end (the document itself is depth 0,
 * its keys and values depth 1). While one is captured, nothing inside it is reported.
 */
export interface ScanWatcher {
  readonly depth: number;
  /** A key or value starts with `first` (`{`, `[`, `"`, a digit, ...); true: capture it and hand it to `end`. */
  start(kind: Token, depth: number, first: string): boolean;
  /** It ended; `value` is what it parses to when `start` captured it (undefined otherwise). */
  end(kind: Token, depth: number, value: unknown): void;
}

type Expect = "value" | "value-or-close" | "key" | "key-or-close" | "colon" | "comma-or-close" | "end";

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
/** What could still be part of a number: a number at the end of a piece may go on in the next one. */
const NUMBER_CHARS = /[-+.\deE]*/y;
const ESCAPE = /\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})/y;
/** What ends a run of plain string content; the content itself is skipped natively. */
const STRING_STOP = /["\\\u0000-\u001f]/g;
const LITERALS = ["true", "false", "null"];

interface Capture {
  /** Where it starts in the whole text, and that place's line. */
  from: number;
  line: number;
  lineStart: number;
  /** Its text from the pieces before the current one. */
  parts: string[];
  /** A container's brackets still open (0: a key or scalar, scanned as usual). */
  open: number;
  inString: boolean;
}

/**
 * The JSON grammar, checked as the text arrives (whole, or in pieces of any size): the first problem is thrown as a
 * JsonSyntaxError with its line and column and a short reason, never quoting the input. Nesting is kept on an
 * explicit stack, so depth cannot overflow the call stack. With `jsonc`, comments and trailing commas are accepted
 * and their places collected in `blanks` (offsets into the whole text), so a caller can blank them out.
 *
 * A container a watcher captures is not scanned character by character: it is skimmed for its closing bracket
 * (stepping over strings) and handed to JSON.parse, which checks it natively; only if that fails is it scanned
 * again, to say where. So a document read for its elements costs little more than JSON.parse of each.
 */
export class JsonScanner {
  readonly blanks: Array<[number, number]> = [];
  private readonly stack: string[] = [];
  private expect: Expect = "value";
  /** Offset of the comma just read (jsonc: blanked if a close follows), -1 after anything else. */
  private lastComma = -1;
  /** The text not yet scanned: what a piece left over (a token cut at its end) and the new piece. */
  private text = "";
  /** Offset of `text` in the whole document, in UTF-16 code units as JavaScript strings count them. */
  private base = 0;
  private line = 1;
  private lineStart = 0;
  private string: { start: number; key: boolean } | undefined;
  private comment: { start: number; block: boolean; line: number; lineStart: number } | undefined;
  private capture: Capture | undefined;

  constructor(private readonly options: { jsonc?: boolean; watcher?: ScanWatcher } = {}) {}

  /** The next piece of the document. */
  write(piece: string): void {
    this.text += piece;
    this.run(false);
  }

  /** The document ended: what is still open is a problem. */
  end(): void {
    this.run(true);
  }

  /** Line and column of the end of what was written so far (where a piece that could not be decoded stops). */
  position(): string {
    return `line ${this.line}, column ${this.base + this.text.length - this.lineStart + 1}`;
  }

  private fail(reason: string, offset: number, line = this.line, lineStart = this.lineStart): never {
    throw new JsonSyntaxError(`line ${line}, column ${offset - lineStart + 1}: ${reason}`);
  }

  /** Stops at `keep` (local): what follows waits for the next piece. */
  private suspend(keep: number): void {
    const { text, capture } = this;
    if (capture) capture.parts.push(text.slice(Math.max(capture.from - this.base, 0), keep));
    this.text = text.slice(keep);
    this.base += keep;
  }

  /** True when the watcher captures a container, which is then skimmed to its end (`skim`). */
  private started(kind: Token, first: string, at: number): boolean {
    const watcher = this.options.watcher;
    const depth = this.stack.length;
    // Captures never nest: a key or scalar ends before the next token starts, and a container is skimmed whole.
    if (!watcher || depth > watcher.depth || !watcher.start(kind, depth, first)) return false;
    const open = first === "{" || first === "[" ? 1 : 0;
    this.capture = { from: this.base + at, line: this.line, lineStart: this.lineStart, parts: [], open, inString: false };
    return open > 0;
  }

  /** `at` (local) is just past the token. */
  private ended(kind: Token, at: number): void {
    const watcher = this.options.watcher;
    const depth = this.stack.length;
    if (!watcher || depth > watcher.depth) return;
    const { capture } = this;
    if (!capture) return watcher.end(kind, depth, undefined);
    capture.parts.push(this.text.slice(Math.max(capture.from - this.base, 0), at));
    this.capture = undefined;
    const text = capture.parts.length === 1 ? capture.parts[0]! : capture.parts.join("");
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      this.locate(capture, text, true);
    }
    watcher.end(kind, depth, value);
  }

  /** Throws the first problem of the captured text, scanned as it should have been (from where it starts). */
  private locate(capture: Capture, text: string, final: boolean): void {
    const scanner = new JsonScanner();
    scanner.base = capture.from;
    scanner.line = capture.line;
    scanner.lineStart = capture.lineStart;
    scanner.write(text);
    if (!final) return;
    scanner.end();
    // JSON.parse refused what the grammar accepts: not expected, but never a silent pass.
    throw new JsonSyntaxError(`line ${capture.line}, column ${capture.from - capture.lineStart + 1}: not valid JSON`);
  }

  /**
   * Before a problem found outside the grammar (invalid UTF-8 after what was written): throws the first syntax
   * problem of a container being captured, if it has one so far, since it comes first in the document.
   */
  checkCaptured(): void {
    const { capture } = this;
    if (capture?.open) this.locate(capture, capture.parts.join("") + this.text.slice(Math.max(capture.from - this.base, 0)), false);
  }

  /**
   * Just past the captured container's closing bracket, or -(where to resume)-1 when the piece ends first. Strings
   * are stepped over with indexOf (a quote is escaped when an odd run of backslashes precedes it); between them a
   * plain loop counts brackets and newlines.
   */
  private skim(from: number, final: boolean): number {
    const { text } = this;
    const n = text.length;
    const capture = this.capture!;
    const more = (keep: number) => {
      if (final) this.locate(capture, capture.parts.join("") + text.slice(Math.max(capture.from - this.base, 0)), true);
      return -keep - 1;
    };
    let i = from;
    for (;;) {
      if (capture.inString) {
        let quote = text.indexOf('"', i);
        for (; quote !== -1; quote = text.indexOf('"', quote + 1)) {
          let k = quote - 1;
          while (text.charCodeAt(k) === 0x5c) k--;
          if ((quote - 1 - k) % 2 === 0) break;
        }
        if (quote === -1) {
          // A run of backslashes at the end goes on in the next piece: which quote it escapes is decided there.
          let keep = n;
          while (keep > i && text.charCodeAt(keep - 1) === 0x5c) keep--;
          return more(keep);
        }
        capture.inString = false;
        i = quote + 1;
      }
      for (; i < n; i++) {
        const code = text.charCodeAt(i);
        if (code === 0x22) break;
        if (code === 0x7b || code === 0x5b) capture.open++;
        else if (code === 0x7d || code === 0x5d) {
          if (--capture.open === 0) return i + 1;
        } else if (code === 0x0a) {
          this.line++;
          this.lineStart = this.base + i + 1;
        }
      }
      if (i >= n) return more(n);
      capture.inString = true;
      i++;
    }
  }

  private afterValue(): void {
    this.expect = this.stack.length ? "comma-or-close" : "end";
  }

  private run(final: boolean): void {
    const { text, base } = this;
    const jsonc = this.options.jsonc;
    const n = text.length;
    let i = 0;
    const unexpected = (): never =>
      i >= n ? this.fail("unexpected end of input", base + i) : this.fail(`unexpected character ${JSON.stringify(String.fromCodePoint(text.codePointAt(i)!))}`, base + i);

    for (;;) {
      if (this.capture?.open) {
        const end = this.skim(i, final);
        if (end < 0) return this.suspend(-end - 1);
        i = end;
        this.ended("value", i);
        this.afterValue();
        continue;
      }
      if (this.string) {
        const end = this.stringEnd(i, final);
        if (end < 0) return this.suspend(-end - 1);
        i = end;
        const { key } = this.string;
        this.string = undefined;
        this.ended(key ? "key" : "value", i);
        if (key) this.expect = "colon";
        else this.afterValue();
        continue;
      }
      if (this.comment) {
        const end = this.commentEnd(i, final);
        if (end < 0) return this.suspend(-end - 1);
        i = end;
        continue;
      }
      for (; i < n; i++) {
        const code = text.charCodeAt(i);
        if (code === 0x0a) {
          this.line++;
          this.lineStart = base + i + 1;
        } else if (code !== 0x20 && code !== 0x09 && code !== 0x0d) break;
      }
      if (i >= n) {
        if (!final) return this.suspend(n);
        if (this.expect === "end") return;
        unexpected();
      }
      const c = text[i]!;
      if (jsonc && c === "/") {
        if (i + 1 >= n && !final) return this.suspend(i);
        const next = text[i + 1];
        if (next === "/" || next === "*") {
          this.comment = { start: base + i, block: next === "*", line: this.line, lineStart: this.lineStart };
          i += 2;
          continue;
        }
      }
      const expect = this.expect;
      if (expect === "end") this.fail(`unexpected ${JSON.stringify(c)} after the end of the document`, base + i);
      if (expect === "colon") {
        if (c !== ":") this.fail("expected ':' after a property name", base + i);
        i++;
        this.expect = "value";
        continue;
      }
      const closes = c === "}" || c === "]";
      if (closes && (expect === "comma-or-close" || expect === "value-or-close" || expect === "key-or-close")) {
        if (this.stack.at(-1) !== (c === "}" ? "{" : "[") || (expect === "value-or-close" && c === "}") || (expect === "key-or-close" && c === "]")) {
          unexpected();
        }
        if (expect !== "comma-or-close" && this.lastComma !== -1) this.blanks.push([this.lastComma, this.lastComma + 1]);
        this.stack.pop();
        i++;
        this.lastComma = -1;
        this.ended("value", i);
        this.afterValue();
        continue;
      }
      if (expect === "comma-or-close") {
        const open = this.stack.at(-1);
        if (c !== ",") this.fail(`expected ',' or '${open === "{" ? "}" : "]"}'`, base + i);
        this.lastComma = base + i++;
        // A trailing comma is a JSONC allowance: strict JSON wants another element after it.
        this.expect = open === "{" ? (jsonc ? "key-or-close" : "key") : jsonc ? "value-or-close" : "value";
        continue;
      }
      this.lastComma = -1;
      const key = expect === "key" || expect === "key-or-close";
      if (c === '"') {
        this.started(key ? "key" : "value", c, i);
        this.string = { start: base + i, key };
        i++;
        continue;
      }
      if (key) this.fail("expected a property name in double quotes", base + i);
      if (c === "{" || c === "[") {
        if (this.started("value", c, i)) {
          i++;
          continue;
        }
        this.stack.push(c);
        i++;
        this.expect = c === "{" ? "key-or-close" : "value-or-close";
        continue;
      }
      const literal = LITERALS.find((word) => text.startsWith(word, i));
      let end: number;
      if (literal) end = i + literal.length;
      else {
        if (!final && n - i < 5 && LITERALS.some((word) => word.startsWith(text.slice(i)))) return this.suspend(i);
        NUMBER_CHARS.lastIndex = i;
        NUMBER_CHARS.test(text);
        if (!final && NUMBER_CHARS.lastIndex === n) return this.suspend(i);
        NUMBER.lastIndex = i;
        if (!NUMBER.test(text)) unexpected();
        end = NUMBER.lastIndex;
      }
      this.started("value", c, i);
      i = end;
      this.ended("value", i);
      this.afterValue();
    }
  }

  /** Just past the open string's closing quote, or -(where to resume)-1 when the piece ends first. */
  private stringEnd(from: number, final: boolean): number {
    const { text, base } = this;
    for (let i = from; ; ) {
      STRING_STOP.lastIndex = i;
      if (!STRING_STOP.test(text)) {
        if (final) this.fail("unterminated string", this.string!.start);
        return -text.length - 1;
      }
      const at = STRING_STOP.lastIndex - 1;
      const code = text.charCodeAt(at);
      if (code === 0x22) return at + 1;
      if (code < 0x20) this.fail("control character inside a string (escape it)", base + at);
      ESCAPE.lastIndex = at;
      if (ESCAPE.test(text)) {
        i = ESCAPE.lastIndex;
        continue;
      }
      // `\u` and its four digits may be cut by the end of the piece.
      if (!final && text.length - at < 6) return -at - 1;
      this.fail("invalid escape in a string", base + at);
    }
  }

  /** Just past the open comment (its place added to `blanks`), or -(where to resume)-1 when the piece ends first. */
  private commentEnd(from: number, final: boolean): number {
    const { text, base } = this;
    const comment = this.comment!;
    const end = comment.block ? text.indexOf("*/", from) : text.indexOf("\n", from);
    if (end === -1 && !final) {
      // A block comment's `*` may be the piece's last character, its `/` the next piece's first.
      const keep = comment.block && text.endsWith("*") ? text.length - 1 : text.length;
      this.countLines(from, keep);
      return -keep - 1;
    }
    if (end === -1 && comment.block) this.fail("unterminated comment", comment.start, comment.line, comment.lineStart);
    const stop = end === -1 ? text.length : comment.block ? end + 2 : end;
    this.countLines(from, stop);
    this.blanks.push([comment.start, base + stop]);
    this.comment = undefined;
    return stop;
  }

  private countLines(from: number, to: number): void {
    for (let nl = this.text.indexOf("\n", from); nl !== -1 && nl < to; nl = this.text.indexOf("\n", nl + 1)) {
      this.line++;
      this.lineStart = this.base + nl + 1;
    }
  }
}
