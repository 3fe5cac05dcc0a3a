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
        const { loadExport } = await import("./export.js");
        const { renderSessionReport } = await import("../report/session.js");
        const { id, doc } = await loadExport(sessionID, opts.sanitize, "report");
        const page = renderSessionReport(doc, { sanitized: opts.sanitize });
        if (opts.output === "-") {
          process.stdout.write(page);
          return;
        }
        // Named after the id as given, not the sanitized pseudonym, so the user finds it.
        const file = opts.output ?? `${id}${opts.sanitize ? ".sanitized" : ""}.html`;
        fs.writeFileSync(file, page);
        process.stderr.write(`ode: report written to ${file}\n`);
      }),
    );
}
