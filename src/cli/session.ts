import type { Command } from "commander";
import { action, outcomeExitCode } from "./fail.js";
import { openModelFreeRuntime, openRuntime } from "./open.js";
import { listSessions, showSession } from "./session-read.js";
import { wireRunSignals } from "./signals.js";

export function registerSession(program: Command): void {
  const session = program.command("session").description("list, show, rename, delete, abort and compact sessions");

  session
    .command("list")
    .description("sessions, most recently updated first")
    .option("--format <format>", "text or json", "text")
    .action(action((opts: { format: string }) => listSessions(opts.format)));

  session
    .command("show")
    .description("a session's messages and runs, with the provenance of every abort")
    .argument("<id>")
    .action(action(showSession));

  session
    .command("rename")
    .description("set a session's title (a generated title never replaces it)")
    .argument("<id>")
    .argument("<title...>")
    .action(
      action(async (id: string, words: string[]) => {
        const info = (await openModelFreeRuntime()).store.renameSession(id, words.join(" "));
        process.stdout.write(`${info.id}  ${info.title}\n`);
      }),
    );

  session
    .command("delete")
    .description("delete a session with its messages and runs")
    .argument("<id>")
    .option("--force", "delete it even while a run is working in it: that run is aborted first")
    .action(
      action(async (id: string, opts: { force?: boolean }) => {
        const rt = await openModelFreeRuntime();
        if (opts.force) await rt.runs.forceDeleteSession(id);
        else rt.runs.deleteSession(id);
        process.stdout.write(`deleted ${id}\n`);
      }),
    );

  session
    .command("abort")
    .description("abort the session's running run, also one run by another ode process")
    .argument("<id>")
    .option("--reason <text>", "why; stored in the abort diagnostic")
    .option("--hard", "kill at once instead of SIGTERM and a grace period")
    .action(
      action(async (id: string, opts: { reason?: string; hard?: boolean }) => {
        const rt = (await openModelFreeRuntime());
        rt.store.getSession(id);
        const result = rt.runs.cancel(id, {
          source: "user",
          via: "cli",
          mode: opts.hard ? "hard" : "soft",
          ...(opts.reason !== undefined ? { reason: opts.reason } : {}),
        });
        process.stdout.write(result.cancelled ? `aborting run ${result.runID} of ${id}\n` : `session ${id} has no running run\n`);
      }),
    );

  session
    .command("compact")
    .description("summarise the session's older turns now, keeping the recent ones; later runs start from the summary")
    .argument("<id>")
    .option("-m, --model <provider/model>", "model that writes the summary (default: the configured model)")
    .action(
      action(async (id: string, opts: { model?: string }) => {
        const { compactSession } = await import("../agent/compaction.js");
        const { describeCompaction } = await import("../session/compaction.js");
        const rt = await openRuntime({ tracing: true });
        const unwire = wireRunSignals(rt, id);
        try {
          const result = await compactSession(rt, { sessionID: id, ...(opts.model ? { model: opts.model } : {}) });
          const line = `${result.runID} ${describeCompaction(result.compaction)}`;
          if (result.outcome === "completed") process.stdout.write(`compacted ${id}: ${line}\n`);
          else process.stderr.write(`ode: compaction ${result.outcome === "aborted" ? "aborted" : "failed"}: ${line}\n`);
          process.exitCode = outcomeExitCode(result.outcome);
        } finally {
          unwire();
          await rt.tracing?.shutdown();
          rt.close();
        }
      }),
    );
}
