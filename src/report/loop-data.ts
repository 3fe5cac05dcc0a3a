import type { LoopExportDocument } from "../export/loop-export.js";
import type { AbortDiagnostic } from "../session/abort.js";
import type { LoopAbort, LoopIterationView, LoopView } from "./loop.js";

/**
 * The loop view of a loop export document. Given the sanitized document (`sanitizeLoopExport`), the page holds
 * nothing that document does not: every shown string comes from it.
 */
export function loopView(doc: LoopExportDocument): LoopView {
  const { loop } = doc;
  const options: LoopView["options"] = {};
  for (const [key, value] of Object.entries(loop.spec)) {
    if (key !== "prompt" && (typeof value === "string" || typeof value === "number" || typeof value === "boolean")) options[key] = value;
  }
  const sessionOf = new Map(doc.sessions.map((s) => [s.info.id, s]));
  const iterations: LoopIterationView[] = [];
  doc.iterations.forEach((it, i) => {
    const session = sessionOf.get(it.session_id);
    // A deleted session leaves its iteration row but nothing to show under it.
    if (!session) return;
    iterations.push({
      n: it.n,
      session_id: it.session_id,
      title: session.info.title,
      outcome: it.outcome ?? "running",
      stop: i === doc.iterations.length - 1 ? loop.stop_reason : null,
      abort: it.abort as AbortDiagnostic | null,
      started_at: it.started_at,
      ended_at: it.ended_at,
      tokens: it.tokens,
      files_changed: it.files_changed,
      promise: it.promise,
      until_exit: it.until_exit,
      export: session,
    });
  });
  return {
    id: loop.id,
    name: loop.name,
    stop_reason: loop.stop_reason,
    stop_message: loop.stop_detail?.message ?? null,
    abort: (loop.stop_detail?.abort as LoopAbort | undefined) ?? null,
    started_at: loop.started_at,
    ended_at: loop.ended_at,
    prompt: loop.spec.prompt ?? loop.spec.promptFile ?? "",
    options,
    iterations,
  };
}
