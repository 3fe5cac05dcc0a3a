import type { Command } from "commander";
import type { AbortDiagnostic } from "../session/abort.js";
import type { CompactionRecord } from "../session/compaction.js";
import { InvalidInputError } from "../session/errors.js";
import { action, outcomeExitCode } from "./fail.js";
import { openModelFreeRuntime, openRuntime } from "./open.js";
import { wireRunSignals } from "./signals.js";

function time(ms: number | null | undefined): string {
  return ms ? new Date(ms).toISOString() : "-";
}

/** Cents are too coarse for one step of a small model. */
function dollars(value: number): string {
  return `$${value.toFixed(value > 0 && value < 0.01 ? 6 : 4)}`;
}

async function abortLine(abort: AbortDiagnostic): Promise<string> {
  const { describeAbort } = await import("../session/abort.js");
  return describeAbort(abort);
}

async function compactionLine(record: CompactionRecord): Promise<string> {
  const { describeCompaction } = await import("../session/compaction.js");
  return describeCompaction(record);
}

export function registerSession(program: Command): void {
  const session = program.command("session").description("list, show, rename, delete, abort and compact sessions");

  session
    .command("list")
    .description("sessions, most recently updated first")
    .option("--format <format>", "text or json", "text")
    .action(
      action(async (opts: { format: string }) => {
        if (opts.format !== "text" && opts.format !== "json") throw new InvalidInputError(`--format must be text or json, not ${opts.format}`);
        const rt = await openModelFreeRuntime({ readOnlyFallback: true });
        const sessions = rt.store.listSessions();
        if (opts.format === "json") {
          process.stdout.write(JSON.stringify(sessions, null, 2) + "\n");
          return;
        }
        for (const s of sessions) process.stdout.write(`${s.id}  ${time(s.time.updated)}  ${s.title}\n`);
      }),
    );

  session
    .command("show")
    .description("a session's messages and runs, with the provenance of every abort")
    .argument("<id>")
    .action(
      action(async (id: string) => {
        const rt = await openModelFreeRuntime({ readOnlyFallback: true });
        const info = rt.store.getSession(id);
        const messages = rt.store.messages(id);
        const cost = messages.reduce((sum, m) => sum + (m.info.role === "assistant" ? m.info.cost : 0), 0);
        const out: string[] = [
          `session   ${info.id}`,
          `title     ${info.title}`,
          `directory ${info.directory}`,
          `created   ${time(info.time.created)}`,
          `updated   ${time(info.time.updated)}`,
          `version   ${info.version}`,
          `cost      ${dollars(cost)}`,
          "",
          "messages:",
        ];
        for (const { info: m, parts } of messages) {
          const text = parts
            .filter((p) => p.type === "text")
            .map((p) => (p as { text: string }).text)
            .join(" ")
            .replace(/\s+/g, " ")
            .slice(0, 80);
          const tools = parts.filter((p) => p.type === "tool").map((p) => `${(p as { tool: string }).tool}:${(p as { state: { status: string } }).state.status}`);
          const error = m.role === "assistant" && m.error ? ` [${m.error.name}]` : "";
          const price = m.role === "assistant" && m.cost > 0 ? ` ${dollars(m.cost)}` : "";
          out.push(`  ${m.id} ${m.role.padEnd(9)} ${text}${tools.length ? ` {${tools.join(", ")}}` : ""}${error}${price}`);
        }
        const compactions = messages.flatMap(({ info: m }) => (m.role === "assistant" && m.diagnostics?.compaction ? [m.diagnostics.compaction as CompactionRecord] : []));
        if (compactions.length > 0) out.push("", "compactions:");
        for (const record of compactions) out.push(`  ${record.message_id} ${time(record.recorded_at)} ${await compactionLine(record)}`);
        out.push("", "runs:");
        for (const run of rt.runs.rows(id)) {
          const trace = run.trace_id ? ` trace ${run.trace_id}` : "";
          const line = `  ${run.id} ${run.kind.padEnd(6)} ${time(run.started_at)} ${run.outcome ?? "running"}${trace}`;
          const abort = run.interrupt ? (JSON.parse(run.interrupt) as AbortDiagnostic) : undefined;
          const later = run.cancel_count > 0 ? ` (+${run.cancel_count} later cancel${run.cancel_count > 1 ? "s" : ""})` : "";
          out.push(abort ? `${line}: ${await abortLine(abort)}${later}` : line);
        }
        process.stdout.write(out.join("\n") + "\n");
      }),
    );

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
