import { once } from "node:events";
import fs from "node:fs";
import path from "node:path";
import type { Writable } from "node:stream";

/** About what one write system call takes well: chunks are joined up to this before writing. */
const BATCH_CHARS = 64 * 1024;

function* batched(chunks: Iterable<string>): Generator<string> {
  let batch = "";
  for (const chunk of chunks) {
    batch += chunk;
    if (batch.length >= BATCH_CHARS) {
      yield batch;
      batch = "";
    }
  }
  if (batch) yield batch;
}

/**
 * Writes the chunks to a stream, asking for the next one only while the stream takes more (`write` returning false
 * waits for `drain`), so a slow reader holds back the writer instead of a queue growing in memory. A stream error
 * ends the writing (the iteration is closed) and is thrown.
 */
export async function writeChunks(chunks: Iterable<string>, out: Writable): Promise<void> {
  let failed: unknown;
  const onError = (error: unknown) => (failed ??= error);
  out.on("error", onError);
  try {
    for (const batch of batched(chunks)) {
      if (failed) break;
      // `once` rejects when the stream errors while we wait.
      if (!out.write(batch)) await once(out, "drain");
    }
    if (failed) throw failed;
  } finally {
    out.off("error", onError);
  }
}

/**
 * The chunks as a byte stream that asks for the next one only when its reader wants more (an HTTP response whose
 * client reads slowly holds the export back). `done` runs once, when the chunks end, fail or the reader cancels.
 */
export function readableChunks(chunks: Iterable<string>, done: () => void): ReadableStream<Uint8Array> {
  const batches = batched(chunks)[Symbol.iterator]();
  const encoder = new TextEncoder();
  let open = true;
  const finish = () => {
    if (!open) return;
    open = false;
    batches.return?.(undefined);
    done();
  };
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      try {
        const next = batches.next();
        if (next.done) {
          finish();
          controller.close();
        } else controller.enqueue(encoder.encode(next.value));
      } catch (error) {
        finish();
        controller.error(error);
      }
    },
    cancel: finish,
  });
}

/**
 * Writes the chunks to a temporary file beside `file` and renames it over `file` once all are written, so `file` is
 * either the whole document or as it was before: a full disk, a size limit or an error of the chunks' source leaves
 * no half-written file. A file system error names `file`, not the temporary one.
 */
export function writeFileAtomically(file: string, chunks: Iterable<string>): void {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now().toString(36)}.tmp`);
  let fd: number | undefined;
  try {
    fd = fs.openSync(temp, "wx");
    for (const batch of batched(chunks)) writeAll(fd, batch);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(temp, file);
  } catch (error) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(temp, { force: true });
    if (error instanceof Error && "syscall" in error) (error as NodeJS.ErrnoException).path = file;
    throw error;
  }
}

/** `writeSync` may write part of a buffer (a file reaching a size limit): the rest is written or its error thrown. */
function writeAll(fd: number, text: string): void {
  const bytes = Buffer.from(text);
  for (let done = 0; done < bytes.length; ) done += fs.writeSync(fd, bytes, done);
}
