import fs from "node:fs";
import path from "node:path";

export const MAX_LINES = 2000;
export const MAX_BYTES = 51_200;

const NEWLINE = 0x0a;

export interface TruncateOptions {
  dataDir: string;
  /** Names the saved file; usually the tool call id. */
  id: string;
}

export interface TruncateResult {
  output: string;
  truncated: boolean;
  outputPath?: string;
  /** Why the full output could not be saved (disk full, read-only data directory); the tail is kept anyway. */
  saveError?: string;
}

/**
 * Keeps the end of a tool's output (errors and summaries come last) within MAX_LINES and
 * MAX_BYTES; the full text is saved so the model can still read or grep it.
 */
export function truncateOutput(text: string, opts: TruncateOptions): TruncateResult {
  const bytes = Buffer.from(text, "utf8");
  const start = tailStart(bytes);
  if (start === 0) return { output: text, truncated: false };
  const outputPath = outputFilePath(opts);
  const kept = bytes.subarray(start);
  try {
    fs.mkdirSync(path.dirname(outputPath), { recursive: true });
    fs.writeFileSync(outputPath, bytes);
  } catch (error) {
    fs.rmSync(outputPath, { force: true });
    const saveError = describeSaveError(error, outputPath);
    return { output: withHeader(kept, countLines(bytes), undefined, saveError), truncated: true, saveError };
  }
  return { output: withHeader(kept, countLines(bytes), outputPath), truncated: true, outputPath };
}

/**
 * Collects streamed output without holding all of it: once more than MAX_BYTES arrive,
 * everything goes to the full-output file and memory keeps only about the last 2 × MAX_BYTES.
 * Call finish() even when the producer fails, so the file gets closed.
 */
export class OutputTail {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private totalBytes = 0;
  private newlines = 0;
  private lastByte = -1;
  private fd: number | undefined;
  private result: TruncateResult | undefined;
  /** Set when writing the full-output file failed: from then on only the tail is kept. */
  private saveError: string | undefined;
  private readonly outputPath: string;

  constructor(private readonly opts: TruncateOptions) {
    this.outputPath = outputFilePath(opts);
  }

  get bytes(): number {
    return this.totalBytes;
  }

  get lines(): number {
    return this.newlines + (this.totalBytes > 0 && this.lastByte !== NEWLINE ? 1 : 0);
  }

  /** Bytes currently held in memory. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  push(chunk: Buffer | string): void {
    if (this.result) throw new Error("OutputTail.push after finish");
    const buf = typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk;
    if (buf.length === 0) return;
    this.totalBytes += buf.length;
    this.newlines += countByte(buf, NEWLINE);
    this.lastByte = buf[buf.length - 1]!;
    this.chunks.push(buf);
    this.buffered += buf.length;

    if (this.saveError === undefined && this.buffered > MAX_BYTES) this.spill(buf);

    // Compacting only past twice the limit keeps the copying amortised over many small chunks.
    if (this.buffered > 2 * MAX_BYTES) {
      const all = Buffer.concat(this.chunks, this.buffered);
      // Copy so a huge incoming chunk is not kept alive by a view into it.
      this.chunks = [Buffer.from(all.subarray(all.length - MAX_BYTES))];
      this.buffered = MAX_BYTES;
    }
  }

  /** Writes to the full-output file, opened once the output outgrows MAX_BYTES; a failure ends the file. */
  private spill(buf: Buffer): void {
    try {
      if (this.fd === undefined) {
        fs.mkdirSync(path.dirname(this.outputPath), { recursive: true });
        this.fd = fs.openSync(this.outputPath, "w");
        for (const c of this.chunks) writeFully(this.fd, c);
      } else {
        writeFully(this.fd, buf);
      }
    } catch (error) {
      this.saveError = describeSaveError(error, this.outputPath);
      if (this.fd !== undefined) fs.closeSync(this.fd);
      this.fd = undefined;
      fs.rmSync(this.outputPath, { force: true });
    }
  }

  finish(): TruncateResult {
    this.result ??= this.computeResult();
    return this.result;
  }

  private computeResult(): TruncateResult {
    const tail = Buffer.concat(this.chunks, this.buffered);
    if (this.saveError !== undefined) {
      this.chunks = [];
      this.buffered = 0;
      const kept = tail.subarray(tailStart(tail));
      return { output: withHeader(kept, this.lines, undefined, this.saveError), truncated: true, saveError: this.saveError };
    }
    if (this.fd === undefined) return truncateOutput(tail.toString("utf8"), this.opts);
    fs.closeSync(this.fd);
    this.fd = undefined;
    this.chunks = [];
    this.buffered = 0;
    return {
      output: withHeader(tail.subarray(tailStart(tail)), this.lines, this.outputPath),
      truncated: true,
      outputPath: this.outputPath,
    };
  }
}

/** Where the kept suffix of `buf` begins: the later of the MAX_LINES and MAX_BYTES cut points. */
function tailStart(buf: Buffer): number {
  let start = Math.max(0, buf.length - MAX_BYTES);
  // Never begin inside a multi-byte UTF-8 character.
  while (start < buf.length && (buf[start]! & 0xc0) === 0x80) start++;

  // A final newline ends the last line rather than starting a new one.
  let pos = buf[buf.length - 1] === NEWLINE ? buf.length - 2 : buf.length - 1;
  let breaks = 0;
  while (pos >= start) {
    const nl = buf.lastIndexOf(NEWLINE, pos);
    if (nl < start) break;
    if (++breaks === MAX_LINES) return nl + 1;
    pos = nl - 1;
  }
  return start;
}

function withHeader(kept: Buffer, totalLines: number, outputPath: string | undefined, saveError?: string): string {
  const saved = outputPath ? `full output saved to ${outputPath}` : `the full output could not be saved: ${saveError}`;
  return (
    `[output truncated: showing the last ${countLines(kept)} lines / ${kept.length} bytes ` +
    `of ${totalLines} lines; ${saved}]\n${kept.toString("utf8")}`
  );
}

function describeSaveError(error: unknown, outputPath: string): string {
  const code = (error as NodeJS.ErrnoException).code;
  const why = code === "ENOSPC" ? "the disk is full" : code === "EROFS" ? "the file system is read-only" : String((error as Error).message ?? error);
  return `${why} (${code ?? "error"}, ${outputPath})`;
}

function countLines(buf: Buffer): number {
  if (buf.length === 0) return 0;
  return countByte(buf, NEWLINE) + (buf[buf.length - 1] === NEWLINE ? 0 : 1);
}

function countByte(buf: Buffer, byte: number): number {
  let n = 0;
  for (let i = buf.indexOf(byte); i !== -1; i = buf.indexOf(byte, i + 1)) n++;
  return n;
}

function writeFully(fd: number, buf: Buffer): void {
  for (let off = 0; off < buf.length; ) off += fs.writeSync(fd, buf, off);
}

function outputFilePath(opts: TruncateOptions): string {
  // The id comes from outside; keep it from naming a path elsewhere.
  const name = opts.id.replace(/[^A-Za-z0-9._-]/g, "_");
  return path.join(opts.dataDir, "tool-output", `${name}.txt`);
}
