import { sanitizeExport } from "../export/sanitize.js";
import { buildExport } from "../export/snapshot.js";
import { loopStopReasons, type StopDetail } from "../loop/loops.js";
import type { Runtime } from "../runtime.js";
import { cancelSources, cancelVias, runPhases } from "../session/abort.js";
import { runOutcomes } from "../session/runs.js";
import type { LoopAbort, LoopIterationView, LoopView } from "./loop.js";

const LOOP_ID = /^lop_[0-9a-f]{12}[0-9A-Za-z]{14}$/;
const marker = (kind: string, id: string) => `[redacted:${kind}:${id}]`;
const oneOf = <T extends string>(set: readonly T[], value: string | undefined, kind: string, owner: string) =>
  value === undefined || (set as readonly string[]).includes(value) ? value : marker(kind, owner);

/**
 * The loop's abort with the sanitize rules of the export: closed sets kept when they pass, reason and error text
 * redacted. (An iteration's own abort comes from its sanitized export instead.)
 */
function sanitizeAbort(abort: LoopAbort, owner: string): LoopAbort {
  return {
    recorded_at: abort.recorded_at,
    source: oneOf(cancelSources, abort.source, "source", owner)!,
    mode: oneOf(["soft", "hard"], abort.mode, "mode", owner),
    via: oneOf(cancelVias, abort.via, "via", owner),
    phase: oneOf(runPhases, abort.phase, "phase", owner),
    reason: abort.reason === undefined ? undefined : marker("reason", owner),
  };
}

/**
 * A stored loop as the loop view shows it: its record, its iterations and each iteration's export. Sanitized, it
 * keeps what the sanitized export keeps (ids in the generated shape, closed sets, numbers) and nothing else: the
 * prompt, the completion promise, the `--until` command, the name and the stop message become markers.
 */
export function loopView(rt: Pick<Runtime, "store" | "runs" | "loops">, loopID: string, sanitize = false): LoopView {
  const loop = rt.loops.get(loopID);
  const iterations = rt.loops.iterations(loop.id);
  const id = !sanitize || LOOP_ID.test(loop.id) ? loop.id : marker("loop", "loop");
  const text = (kind: string, value: string | undefined) => (value === undefined ? null : sanitize ? marker(kind, id) : value);
  const spec = loop.spec;
  const options: LoopView["options"] = {};
  for (const [key, value] of Object.entries(spec)) {
    if (key === "prompt" || value === undefined) continue;
    options[key] = sanitize && typeof value === "string" ? marker("option", id) : (value as string | number | boolean);
  }
  const detail: StopDetail | null = loop.stop_detail;
  const views: LoopIterationView[] = iterations.map((it, i) => {
    const doc = buildExport(rt, it.session_id);
    const shown = sanitize ? sanitizeExport(doc) : doc;
    const abort = it.abort && sanitize ? (shown.diagnostics.aborts.find((a) => a.run_id === it.abort!.run_id) ?? null) : it.abort;
    const last = i === iterations.length - 1;
    return {
      n: it.n,
      session_id: shown.info.id,
      title: shown.info.title,
      outcome: it.outcome === null ? "running" : (oneOf(runOutcomes, it.outcome, "outcome", id) ?? "running"),
      stop: last ? loop.stop_reason : null,
      abort,
      started_at: it.started_at,
      ended_at: it.ended_at,
      tokens: it.tokens,
      files_changed: it.files_changed,
      promise: it.promise,
      until_exit: it.until_exit,
      export: shown,
    };
  });
  return {
    id,
    name: text("name", loop.name) ?? "",
    stop_reason: loop.stop_reason === null ? null : (oneOf(loopStopReasons, loop.stop_reason, "stop", id) ?? null),
    stop_message: text("stop", detail?.message),
    abort: detail?.abort ? (sanitize ? sanitizeAbort(detail.abort, id) : detail.abort) : null,
    started_at: loop.started_at,
    ended_at: loop.ended_at,
    prompt: text("prompt", spec.prompt ?? (spec.promptFile ? `(read from ${spec.promptFile})` : undefined)) ?? "",
    options,
    iterations: views,
  };
}
