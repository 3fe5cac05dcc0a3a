import type { Command } from "commander";
import { action } from "./fail.js";
import { openModelFreeRuntime } from "./open.js";

/** Large enough that a read costs little next to scanning it, small enough to be nothing next to the session. */
const CHUNK_BYTES = 1 << 20;

export function registerImport(program: Command): void {
  program
    .command("import")
    .description("store a session from an ode or opencode export: all of it in one transaction, or nothing")
    .argument("<file>", "the export (`-` for stdin)")
    .option("--force", "replace a session that has the same id")
    .action(
      action(async (file: string, opts: { force?: boolean }) => {
        const fs = await import("node:fs");
        const { importStream, ImportValidationError } = await import("../export/import.js");
        // A read failure names the file itself; every other problem is prefixed with it below. Declared here: the
        // import module (and zod with it) is loaded only once the command runs.
        class UnreadableFileError extends ImportValidationError {
          override name = "UnreadableFileError";
        }
        const unreadable = (error: unknown) => new UnreadableFileError(`cannot read ${file}: ${(error as Error).message}`);
        let fd: number;
        try {
          fd = file === "-" ? 0 : fs.openSync(file, "r");
        } catch (error) {
          throw unreadable(error);
        }
        // Bytes, not text: decoding here would silently turn invalid UTF-8 into U+FFFD. One buffer, filled again
        // for each chunk: the import decodes each before asking for the next.
        function* chunks(): Generator<Uint8Array> {
          const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
          for (;;) {
            let read: number;
            try {
              read = fs.readSync(fd, buffer, 0, CHUNK_BYTES, null);
            } catch (error) {
              throw unreadable(error);
            }
            if (read === 0) return;
            yield buffer.subarray(0, read);
          }
        }
        const rt = await openModelFreeRuntime();
        try {
          const result = importStream(rt, chunks(), { force: opts.force });
          process.stdout.write(
            `${result.replaced ? "replaced" : "imported"} ${result.sessionID}: ${result.messages} messages, ${result.parts} parts\n`,
          );
        } catch (error) {
          // The file names where the error is, whether reading or storing (an id taken, a contradiction) found it.
          throw error instanceof ImportValidationError && !(error instanceof UnreadableFileError) ? new ImportValidationError(`${file}: ${error.message}`) : error;
        } finally {
          rt.close();
          if (fd !== 0) fs.closeSync(fd);
        }
      }),
    );
}
