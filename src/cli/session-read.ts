import { describeAbort, type AbortDiagnostic } from "../session/abort.js";
import { compactionRecordOf, describeCompaction } from "../session/compaction.js";
import { InvalidInputError } from "../session/errors.js";
import { action } from "./fail.js";
import { openModelFreeRuntime } from "./open.js";

// `ode session list` and `ode session show`, apart from the command table: `ode` runs their plain spellings
// without commander (src/cli/index.ts), and commander runs the same functions for every other spelling.

export type SessionRead = { command: "list"; format: string } | { command: "show"; id: string };

function time(ms: number | null | undefined): string {
  return ms ? new Date(ms).toISOString() : "-";
}

/** Cents are too coarse for one step of a small model. */
function dollars(value: number): string {
  return `$${value.toFixed(value > 0 && value < 0.01 ? 6 : 4)}`;
}

export async function listSessions(format: string): Promise<void> {
  if (format !== "text" && format !== "json") throw new InvalidInputError(`--format must be text or json, not ${format}`);
  const rt = await openModelFreeRuntime({ readOnlyFallback: true });
  const sessions = rt.store.listSessions();
  if (format === "json") {
    process.stdout.write(JSON.stringify(sessions, null, 2) + "\n");
    return;
  }
  // One write: a write per session converts and queues each line on its own.
  process.stdout.write(sessions.map((s) => `${s.id}  ${time(s.time.updated)}  ${s.title}\n`).join(""));
}

export async function showSession(id: string): Promise<void> {
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
  const compactions = messages.flatMap(({ info }) => compactionRecordOf(info) ?? []);
  if (compactions.length > 0) out.push("", "compactions:");
  for (const record of compactions) out.push(`  ${record.message_id} ${time(record.recorded_at)} ${describeCompaction(record)}`);
  out.push("", "runs:");
  for (const run of rt.runs.rows(id)) {
    const trace = run.trace_id ? ` trace ${run.trace_id}` : "";
    const line = `  ${run.id} ${run.kind.padEnd(6)} ${time(run.started_at)} ${run.outcome ?? "running"}${trace}`;
    const abort = run.interrupt ? (JSON.parse(run.interrupt) as AbortDiagnostic) : undefined;
    const later = run.cancel_count > 0 ? ` (+${run.cancel_count} later cancel${run.cancel_count > 1 ? "s" : ""})` : "";
    out.push(abort ? `${line}: ${describeAbort(abort)}${later}` : line);
  }
  process.stdout.write(out.join("\n") + "\n");
}

/** Runs a command `index.ts` recognised, failing as commander's action wrapper would. */
export async function runSessionRead(read: SessionRead): Promise<void> {
  await action(() => (read.command === "list" ? listSessions(read.format) : showSession(read.id)))();
}
