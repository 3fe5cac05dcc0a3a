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
        const fs = await import("node:fs");
        const { SessionNotFoundError } = await import("../session/errors.js");
        const { buildExport } = await import("../export/snapshot.js");
        const { sanitizeExport } = await import("../export/sanitize.js");
        const rt = await openModelFreeRuntime({ readOnlyFallback: true });
        try {
          let document: object;
          if (opts.loop) {
            const { buildLoopExport, sanitizeLoopExport } = await import("../export/loop-export.js");
            const doc = buildLoopExport(rt, opts.loop);
            document = opts.sanitize ? sanitizeLoopExport(doc) : doc;
          } else {
            const id = sessionID ?? rt.store.listSessions(rt.directory)[0]?.id;
            if (!id) throw new SessionNotFoundError(`(no session in ${rt.directory} to export)`);
            const doc = buildExport(rt, id);
            document = opts.sanitize ? sanitizeExport(doc) : doc;
          }
          const text = JSON.stringify(document, null, 2) + "\n";
          if (opts.output) fs.writeFileSync(opts.output, text);
          else process.stdout.write(text);
        } finally {
          rt.close();
        }
      }),
    );
}
