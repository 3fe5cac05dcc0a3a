import type { ExportDocument } from "../export/snapshot.js";
import type { AbortDiagnostic } from "../session/abort.js";
import { Axis } from "./axis.js";
import { abortLabel, clock, count, duration, plural } from "./format.js";
import { html, type Html } from "./html.js";
import { page } from "./page.js";
import { sessionSection } from "./session.js";
import { pct, renderMarker, renderScale, type Bar } from "./timeline.js";

/** One iteration of a loop as the report shows it: a row of the loop's table, and its session's export. */
export interface LoopIterationView {
  n: number;
  session_id: string;
  title: string;
  /** How the iteration's run ended: completed, aborted, error, ... */
  outcome: string;
  /** The loop stop reason this iteration caused, when it was the last. */
  stop: string | null;
  /** Who aborted it, when it was aborted. */
  abort: AbortDiagnostic | null;
  started_at: number;
  ended_at: number | null;
  tokens: number;
  files_changed: number | null;
  /** Whether the iteration's final answer held the completion promise; null when the loop has none. */
  promise: boolean | null;
  /** Exit code of the `--until` command, when one ran. */
  until_exit: number | null;
  export: ExportDocument;
}

/** Who aborted a loop: an iteration's abort diagnostic, or a cancel that came between iterations. */
export interface LoopAbort {
  recorded_at: number;
  source: string;
  mode?: string;
  via?: string;
  phase?: string;
  reason?: string;
}

export interface LoopView {
  id: string;
  name: string;
  /** Why the loop stopped (completed, max_iterations, aborted, ...); null while it runs. */
  stop_reason: string | null;
  /** The loop's own account of its stop (the limit hit, the command that completed it, ...). */
  stop_message: string | null;
  /** The abort that stopped the loop, for stop reason `aborted`. */
  abort: LoopAbort | null;
  started_at: number;
  ended_at: number | null;
  prompt: string;
  /** The options the loop ran with (max_iterations, until, ...), shown as they are. */
  options: Record<string, string | number | boolean>;
  iterations: LoopIterationView[];
}

const anchorOf = (n: number) => `iter-${n}`;

function loopAbortLabel(a: LoopAbort): string {
  return [`aborted by ${a.source}`, a.via ? `via ${a.via}` : "", a.mode ? `(${a.mode})` : "", a.phase ? `during ${a.phase}` : "", a.reason ? `reason: ${JSON.stringify(a.reason)}` : ""]
    .filter(Boolean)
    .join(" ");
}

function stopBox(loop: LoopView): Html {
  if (!loop.stop_reason) return html`<div class="stop">Running · ${plural(loop.iterations.length, "iteration")} so far</div>`;
  const why = [loop.stop_message, loop.abort ? loopAbortLabel(loop.abort) : null].filter(Boolean).join(" · ");
  return html`<div class="stop${loop.stop_reason === "completed" ? "" : " bad"}" data-stop="${loop.stop_reason}">Stopped: <b>${loop.stop_reason}</b>${why ? ` · ${why}` : ""}</div>`;
}

function iterationRow(it: LoopIterationView, axis: Axis, end: number): Html {
  const stop = it.ended_at ?? end;
  const bar: Bar = {
    lane: "runs",
    start: it.started_at,
    end: stop,
    kind: `run ${it.outcome}`,
    label: `#${it.n}`,
    tip: `iteration ${it.n} · ${it.outcome} · ${duration(stop - it.started_at)}`,
    href: anchorOf(it.n),
    key: it.session_id,
    row: 0,
  };
  const marker = it.abort ? renderMarker({ at: Math.min(Math.max(it.abort.recorded_at, it.started_at), stop), bar, abort: it.abort }, axis) : "";
  const provenance = it.abort ? abortLabel(it.abort) : (it.stop ?? "");
  const check = [it.promise === null ? "" : it.promise ? "promise found" : "no promise", it.until_exit === null ? "" : `until exit ${it.until_exit}`]
    .filter(Boolean)
    .join(" · ");
  return html`<tr class="iteration-row" data-n="${it.n}"><td><a href="#${anchorOf(it.n)}">${it.n}</a></td><td><a href="#${anchorOf(it.n)}">${it.title}</a><div class="dim"><code>${it.session_id}</code></div></td><td><span class="outcome ${it.outcome}">${it.outcome}</span></td><td class="span">${provenance}</td><td>${duration(stop - it.started_at)}</td><td>${count(it.tokens)}</td><td>${it.files_changed === null ? "—" : count(it.files_changed)}</td><td>${check || "—"}</td><td class="span"><div class="track"><a class="bar ${bar.kind}" href="#${bar.href}" title="${bar.tip}" style="left:${pct(axis.x(bar.start))};width:${pct(axis.width(bar.start, bar.end))};top:2px">${bar.label}</a>${marker}</div></td></tr>`;
}

/**
 * A loop: why it stopped, one row per iteration on a shared time axis, then each iteration's session in full.
 * Takes plain data so any store of loops can feed it; values are shown as given (sanitize them before).
 */
export function renderLoopReport(loop: LoopView, options: { sanitized?: boolean } = {}): string {
  const end = loop.ended_at ?? Math.max(loop.started_at, ...loop.iterations.map((it) => it.ended_at ?? it.started_at));
  const axis = new Axis(loop.iterations.map((it) => [it.started_at, it.ended_at ?? end]));
  const tokens = loop.iterations.reduce((sum, it) => sum + it.tokens, 0);
  const options_ = Object.entries(loop.options).map(([k, v]) => `${k} ${v}`).join(" · ");
  const body = html`<h1>ode loop report</h1>${options.sanitized ? html`<p class="sanitized">Sanitized: every prompt, output, path, title and error text is redacted.</p>` : ""}<h2>${loop.name} <span class="dim"><code>${loop.id}</code></span></h2>${stopBox(loop)}<table class="facts">${[
    html`<tr><th>prompt</th><td>${loop.prompt}</td></tr>`,
    html`<tr><th>ran</th><td>${clock(loop.started_at)} → ${loop.ended_at ? clock(loop.ended_at) : "running"} · ${duration(end - loop.started_at)}</td></tr>`,
    html`<tr><th>iterations</th><td>${plural(loop.iterations.length, "iteration")} · ${count(tokens)} tokens</td></tr>`,
    options_ ? html`<tr><th>options</th><td>${options_}</td></tr>` : "",
  ]}</table><h3>Iterations</h3><table class="loop"><thead><tr><th>#</th><th>session</th><th>outcome</th><th>stop / abort</th><th>duration</th><th>tokens</th><th>files</th><th>promise / until</th><th class="scale-head">${renderScale(axis)}</th></tr></thead><tbody>${loop.iterations.map((it) => iterationRow(it, axis, end))}</tbody></table>${loop.iterations.map(
    (it) => html`<section class="iteration" id="${anchorOf(it.n)}"><h2>Iteration ${it.n} <span class="dim">· <span class="outcome ${it.outcome}">${it.outcome}</span></span></h2>${sessionSection(it.export, (id) => `i${it.n}-${id}`)}</section>`,
  )}`;
  return page(`ode loop report · ${loop.id}`, body);
}
