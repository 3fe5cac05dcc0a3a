import type { Command } from "commander";
import { action } from "./fail.js";

interface ReportOptions {
  sanitize?: boolean;
  output?: string;
}

export function registerReport(program: Command): void {
  program
    .command("report")
    .description("write a session as one self-contained HTML page: timeline of runs, steps, tool calls and aborts, then the conversation")
    .argument("[sessionID]", "the session (default: the most recent session of this directory)")
    .option("--sanitize", "build it from the sanitized export: no prompt, output, path, title or error text")
    .option("-o, --output <file>", "write to this file (`-` for stdout; default: <sessionID>.html)")
    .action(
      action(async (sessionID: string | undefined, opts: ReportOptions) => {
        const fs = await import("node:fs");
        const { createRuntime } = await import("../runtime.js");
        const { SessionNotFoundError } = await import("../session/errors.js");
        const { buildExport } = await import("../export/snapshot.js");
        const { sanitizeExport } = await import("../export/sanitize.js");
        const { renderSessionReport } = await import("../report/session.js");
        const rt = createRuntime();
        try {
          const id = sessionID ?? rt.store.listSessions(rt.directory)[0]?.id;
          if (!id) throw new SessionNotFoundError(`(no session in ${rt.directory} to report)`);
          const doc = buildExport(rt, id);
          const page = renderSessionReport(opts.sanitize ? sanitizeExport(doc) : doc, { sanitized: opts.sanitize });
          if (opts.output === "-") {
            process.stdout.write(page);
            return;
          }
          // The file is named after the id as given, not the sanitized pseudonym, so the user finds it.
          const file = opts.output ?? `${id}${opts.sanitize ? ".sanitized" : ""}.html`;
          fs.writeFileSync(file, page);
          process.stderr.write(`ode: report written to ${file}\n`);
        } finally {
          rt.close();
        }
      }),
    );
}
