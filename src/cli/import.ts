import type { Command } from "commander";
import { action } from "./fail.js";
import { openModelFreeRuntime } from "./open.js";

export function registerImport(program: Command): void {
  program
    .command("import")
    .description("store a session from an ode or opencode export: all of it in one transaction, or nothing")
    .argument("<file>", "the export (`-` for stdin)")
    .option("--force", "replace a session that has the same id")
    .action(
      action(async (file: string, opts: { force?: boolean }) => {
        const fs = await import("node:fs");
        const { importSession, parseImport, ImportValidationError } = await import("../export/import.js");
        // Bytes, not text: decoding here would silently turn invalid UTF-8 into U+FFFD.
        const read = () => {
          try {
            return fs.readFileSync(file === "-" ? 0 : file);
          } catch (error) {
            throw new ImportValidationError(`cannot read ${file}: ${(error as Error).message}`);
          }
        };
        // The file names where the error is, whether parsing or storing (an id taken, a contradiction) found it.
        const named = (error: unknown) => (error instanceof ImportValidationError ? new ImportValidationError(`${file}: ${error.message}`) : error);
        let bytes: Uint8Array | undefined = read();
        // Handed over and forgotten here, so parseImport can let go of the bytes once it has decoded them.
        const handOver = () => {
          const all = bytes!;
          bytes = undefined;
          return all;
        };
        let doc;
        try {
          doc = parseImport(handOver());
        } catch (error) {
          throw named(error);
        }
        const rt = await openModelFreeRuntime();
        try {
          const result = importSession(rt, doc, { force: opts.force });
          process.stdout.write(
            `${result.replaced ? "replaced" : "imported"} ${result.sessionID}: ${result.messages} messages, ${result.parts} parts\n`,
          );
        } catch (error) {
          throw named(error);
        } finally {
          rt.close();
        }
      }),
    );
}
