import { describeAbort } from "../session/abort.js";
import type { IterationRecord, LoopRecord } from "./loops.js";

function seconds(from: number, to: number | null): string {
  return to === null ? "-" : `${((to - from) / 1000).toFixed(1)} s`;
}

/** Who or what ended an iteration, in one phrase: the abort's provenance, or the error. */
export function iterationProvenance(it: IterationRecord): string {
  if (it.abort) return describeAbort(it.abort);
  if (it.error) {
    const status = (it.error.data as { statusCode?: unknown }).statusCode;
    return `${it.error.name}${typeof status === "number" ? ` ${status}` : ""}: ${(it.error.data.message ?? "").split("\n")[0]}`;
  }
  return "";
}

/** The line printed when an iteration ends. */
export function iterationLine(it: IterationRecord): string {
  const parts = [`#${it.n} ${it.session_id} ${it.outcome ?? "running"}`, seconds(it.started_at, it.ended_at), `${it.tokens} tokens`];
  if (it.files_changed !== null) parts.push(`${it.files_changed} files changed`);
  if (it.promise !== null) parts.push(`promise ${it.promise ? "found" : "not found"}`);
  if (it.until_exit !== null) parts.push(`until exit ${it.until_exit}`);
  const why = iterationProvenance(it);
  return parts.join(", ") + (why ? `: ${why}` : "");
}

/** The loop's stop in one line: reason, then what caused it. */
export function stopLine(loop: LoopRecord): string {
  if (!loop.stop_reason) return "running";
  const abort = loop.stop_detail?.abort;
  let cause = loop.stop_detail?.message;
  if (abort && "phase" in abort) cause = describeAbort(abort);
  else if (abort) cause = `aborted by ${abort.source}${abort.via ? ` via ${abort.via}` : ""}${abort.reason ? ` reason: ${JSON.stringify(abort.reason)}` : ""}`;
  return `${loop.stop_reason}${cause ? `: ${cause}` : ""}`;
}

/** `ode loop show`: the loop, then a table of its iterations. */
export function loopTable(loop: LoopRecord, iterations: IterationRecord[], titleOf: (sessionID: string) => string): string {
  const out = [
    `loop      ${loop.id}`,
    `name      ${loop.name}`,
    `directory ${loop.directory}`,
    `started   ${new Date(loop.started_at).toISOString()}`,
    `ended     ${loop.ended_at ? new Date(loop.ended_at).toISOString() : "-"}`,
    `stopped   ${stopLine(loop)}`,
    "",
  ];
  const header = ["n", "session", "title", "outcome", "duration", "tokens", "files", "promise", "until", "stop / abort provenance"];
  const rows = iterations.map((it) => [
    String(it.n),
    it.session_id,
    titleOf(it.session_id),
    it.outcome ?? "running",
    seconds(it.started_at, it.ended_at),
    String(it.tokens),
    it.files_changed === null ? "-" : String(it.files_changed),
    it.promise === null ? "-" : it.promise ? "yes" : "no",
    it.until_exit === null ? "-" : String(it.until_exit),
    iterationProvenance(it),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd();
  out.push(line(header), ...rows.map(line));
  return out.join("\n");
}
