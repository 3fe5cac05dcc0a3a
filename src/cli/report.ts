import type { Command } from "commander";
import { action } from "./fail.js";
import { openRuntime } from "./open.js";

interface ReportOptions {
  loop?: string;
  sanitize?: boolean;
  output?: string;
}

/** The page of a session (default: the most recent of this directory), and the session's id. */
async function sessionPage(sessionID: string | undefined, sanitize: boolean): Promise<{ id: string; page: string }> {
  const { SessionNotFoundError } = await import("../session/errors.js");
  const { buildExport } = await import("../export/snapshot.js");
  const { sanitizeExport } = await import("../export/sanitize.js");
  const { renderSessionReport } = await import("../report/session.js");
  const rt = await openRuntime();
  try {
    const id = sessionID ?? rt.store.listSessions(rt.directory)[0]?.id;
    if (!id) throw new SessionNotFoundError(`(no session in ${rt.directory} to report)`);
    const doc = buildExport(rt, id);
    return { id, page: renderSessionReport(sanitize ? sanitizeExport(doc) : doc, { sanitized: sanitize }) };
  } finally {
    rt.close();
  }
}

/** The page of a loop: every iteration's row, then each iteration's session. */
async function loopPage(loopID: string, sanitize: boolean): Promise<string> {
  const { buildLoopExport, sanitizeLoopExport } = await import("../export/loop-export.js");
  const { loopView } = await import("../report/loop-data.js");
  const { renderLoopReport } = await import("../report/loop.js");
  const rt = await openRuntime();
  try {
    const doc = buildLoopExport(rt, loopID);
    return renderLoopReport(loopView(sanitize ? sanitizeLoopExport(doc) : doc), { sanitized: sanitize });
  } finally {
    rt.close();
  }
}

export function registerReport(program: Command): void {
  program
    .command("report")
    .description("write a session (or a loop) as one self-contained HTML page: a timeline of runs, steps, tool calls and aborts, then the conversation")
    .argument("[sessionID]", "the session (default: the most recent session of this directory)")
    .option("--loop <loopID>", "a loop instead: one row per iteration, then each iteration's session")
    .option("--sanitize", "build it from the sanitized export: no prompt, output, path, title or error text")
    .option("-o, --output <file>", "write to this file (`-` for stdout; default: <ID>.html)")
    .action(
      action(async (sessionID: string | undefined, opts: ReportOptions) => {
        const { writeFileAtomically } = await import("../export/write.js");
        const { InvalidInputError } = await import("../session/errors.js");
        if (sessionID && opts.loop) throw new InvalidInputError("give a session id or --loop, not both");
        let id: string;
        let page: string;
        if (opts.loop) {
          id = opts.loop;
          page = await loopPage(opts.loop, opts.sanitize === true);
        } else {
          ({ id, page } = await sessionPage(sessionID, opts.sanitize === true));
        }
        if (opts.output === "-") {
          process.stdout.write(page);
          return;
        }
        // Named after the id as given, not the sanitized pseudonym, so the user finds it.
        const file = opts.output ?? `${id}${opts.sanitize ? ".sanitized" : ""}.html`;
        // Whole or not at all: a full disk leaves the previous report (or none), never half a page.
        writeFileAtomically(file, [page]);
        process.stderr.write(`ode: report written to ${file}\n`);
      }),
    );
}
