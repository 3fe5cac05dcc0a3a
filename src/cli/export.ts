import type { Command } from "commander";
import { action } from "./fail.js";
import { openModelFreeRuntime } from "./open.js";

interface ExportOptions {
  sanitize?: boolean;
  loop?: string;
  output?: string;
}

export function registerExport(program: Command): void {
  program
    .command("export")
    .description("write a session as one JSON document, with its abort and title diagnostics and the release version")
    .argument("[sessionID]", "the session (default: the most recent session of this directory)")
    .option("--sanitize", "redact every prompt, output, path, title and error text; keep structure, ids and timings")
    .option("-o, --output <file>", "write to this file instead of stdout")
    .option("--loop <id>", "export a loop instead: its record, its iterations and every iteration's session")
    .action(
      action(async (sessionID: string | undefined, opts: ExportOptions) => {
        const { SessionNotFoundError } = await import("../session/errors.js");
        const { exportChunks } = await import("../export/stream.js");
        const { writeChunks, writeFileAtomically } = await import("../export/write.js");
        const rt = await openModelFreeRuntime({ readOnlyFallback: true });
        try {
          const options = { sanitize: opts.sanitize, pretty: true };
          // This process does nothing else meanwhile, so the export reads through the runtime's own connection.
          let chunks: Iterable<string>;
          if (opts.loop) {
            const { loopExportChunks } = await import("../export/loop-export.js");
            chunks = loopExportChunks(rt, opts.loop, options);
          } else {
            const id = sessionID ?? rt.store.listSessions(rt.directory)[0]?.id;
            if (!id) throw new SessionNotFoundError(`(no session in ${rt.directory} to export)`);
            chunks = exportChunks(rt, id, options);
          }
          if (opts.output) writeFileAtomically(opts.output, chunks);
          else await writeChunks(chunks, process.stdout);
        } finally {
          rt.close();
        }
      }),
    );
}
