import type { ExportDocument } from "../export/snapshot.js";
import type { AbortDiagnostic } from "../session/abort.js";
import type { MessageInfo, ToolPart } from "../session/schema.js";
import { Axis } from "./axis.js";
import { abortLabel, duration, plural, toolTime } from "./format.js";
import { html, type Html } from "./html.js";

const LANES = ["runs", "steps", "tools", "title"] as const;
type Lane = (typeof LANES)[number];
const LANE_NAMES: Record<Lane, string> = { runs: "runs", steps: "model steps", tools: "tool calls", title: "title" };
const LANE_NOUNS: Record<Lane, string> = { runs: "run", steps: "model step", tools: "tool call", title: "title generation" };
/** Parallel tool calls stack into rows; past this many, later ones share the last row. */
const MAX_ROWS = 6;
const ROW_PX = 20;
/** Past this many bars in one lane, the lane is drawn as density (see renderDensity). */
const DENSE_AFTER = 1000;
const DENSITY_BUCKETS = 400;

export interface Bar {
  lane: Lane;
  start: number;
  end: number;
  /** CSS classes beside `bar`: the kind and the status. */
  kind: string;
  label: string;
  tip: string;
  href: string;
  key: string;
  row?: number;
}

export interface Marker {
  at: number;
  bar: Bar;
  abort: AbortDiagnostic;
}

export interface Timeline {
  bars: Bar[];
  markers: Marker[];
}

const stepEnd = (info: MessageInfo) => (info.role === "assistant" ? (info.time.completed ?? info.time.created) : info.time.created);

/** Runs, model steps (one assistant message each), tool calls and title generations of one session, as bars. */
export function sessionTimeline(doc: ExportDocument, anchor: (id: string) => string): Timeline {
  const bars: Bar[] = [];
  const byKey = new Map<string, Bar>();
  const add = (bar: Bar) => {
    bars.push(bar);
    byKey.set(bar.key, bar);
  };
  const lastActivity = Math.max(doc.info.time.updated, ...doc.diagnostics.loop.runs.map((r) => r.ended_at ?? 0));

  for (const run of doc.diagnostics.loop.runs) {
    const end = run.ended_at ?? lastActivity;
    const outcome = run.outcome ?? "running";
    add({
      lane: "runs",
      start: run.started_at,
      end,
      kind: `run ${outcome}`,
      label: `${run.kind} · ${outcome}`,
      tip: `${run.kind} run ${run.run_id} · ${outcome} · ${duration(end - run.started_at)}`,
      href: anchor(run.user_message_id ?? run.run_id),
      key: run.run_id,
    });
  }

  for (const { info, parts } of doc.messages) {
    if (info.role !== "assistant") continue;
    const end = stepEnd(info);
    const status = info.error ? (info.error.name === "MessageAbortedError" ? "aborted" : "error") : "ok";
    add({
      lane: "steps",
      start: info.time.created,
      end,
      kind: `step ${status}`,
      label: info.modelID,
      tip: `${info.providerID}/${info.modelID} · ${duration(end - info.time.created)} · ${info.finish ?? info.error?.name ?? "unfinished"}`,
      href: anchor(info.id),
      key: info.id,
    });
    for (const part of parts) {
      if (part.type !== "tool") continue;
      const tool = part as ToolPart;
      const time = toolTime(tool.state);
      const start = time?.start ?? info.time.created;
      const stop = time?.end ?? (tool.state.status === "running" ? end : start);
      const title = "title" in tool.state && typeof tool.state.title === "string" ? ` · ${tool.state.title}` : "";
      add({
        lane: "tools",
        start,
        end: stop,
        kind: `tool ${tool.state.status}`,
        label: tool.tool,
        tip: `${tool.tool}${title} · ${tool.state.status} · ${duration(stop - start)}`,
        href: anchor(tool.id),
        key: `${info.id} ${tool.callID}`,
      });
      byKey.set(`* ${tool.callID}`, byKey.get(`${info.id} ${tool.callID}`)!);
    }
  }

  doc.diagnostics.title_generations.forEach((trace, i) => {
    const end = trace.completed_at ?? trace.started_at;
    const status = trace.skipped ? "skipped" : trace.success ? (trace.applied ? "applied" : "unused") : "failed";
    add({
      lane: "title",
      start: trace.started_at,
      end,
      kind: `title ${status}`,
      label: `title ${status}`,
      tip: `title generation · ${status}${trace.completed_after_abort ? " · completed after abort" : ""} · ${duration(end - trace.started_at)}${trace.error_message ? ` · ${trace.error_message}` : ""}`,
      href: anchor(trace.user_message_id),
      key: `title ${i}`,
    });
  });

  const markers: Marker[] = [];
  for (const abort of doc.diagnostics.aborts) {
    // An abort derived from an imported message names no run or tool call to mark.
    if (!("run_id" in abort)) continue;
    // The exact element the abort interrupted: its tool call, else its model step, else its run.
    const bar =
      (abort.tool_call_id && (byKey.get(`${abort.message_id} ${abort.tool_call_id}`) ?? byKey.get(`* ${abort.tool_call_id}`))) ||
      (abort.message_id && byKey.get(abort.message_id)) ||
      byKey.get(abort.run_id);
    if (bar) markers.push({ at: Math.min(Math.max(abort.recorded_at, bar.start), bar.end), bar, abort });
  }
  return { bars, markers };
}

/** Stacks overlapping bars of one lane into rows; returns how many rows the lane needs. */
function stack(bars: Bar[]): number {
  const rowEnds: number[] = [];
  for (const bar of [...bars].sort((a, b) => a.start - b.start)) {
    let row = rowEnds.findIndex((end) => end <= bar.start);
    if (row === -1) row = rowEnds.length < MAX_ROWS ? rowEnds.length : MAX_ROWS - 1;
    rowEnds[row] = Math.max(rowEnds[row] ?? 0, bar.end);
    bar.row = row;
  }
  return Math.max(1, rowEnds.length);
}

export const pct = (n: number) => `${n.toFixed(3)}%`;

/** Vertical position of a row in a lane, in pixels. */
const rowTop = (row: number) => row * ROW_PX;

function renderBar(b: Bar, axis: Axis): Html {
  return html`<a class="bar ${b.kind}" href="#${b.href}" title="${b.tip}" style="left:${pct(axis.x(b.start))};width:${pct(axis.width(b.start, b.end))};top:${rowTop(b.row!) + 4}px">${b.label}</a>`;
}

/**
 * A lane too full to draw bar by bar at any width (a 10,000-message session has thousands of tool calls in a few
 * hundred pixels) is drawn as DENSITY_BUCKETS slices of the axis, each as dark as the share of its time spent busy,
 * linking to its first element. Abort markers stay exact.
 */
function renderDensity(bars: Bar[], axis: Axis, noun: string): Html {
  const buckets = Array.from({ length: DENSITY_BUCKETS }, () => ({ n: 0, busy: 0, first: undefined as Bar | undefined }));
  for (const bar of bars) {
    const i = Math.min(DENSITY_BUCKETS - 1, Math.floor((axis.x(bar.start) / 100) * DENSITY_BUCKETS));
    const bucket = buckets[i]!;
    bucket.n++;
    bucket.busy += axis.width(bar.start, bar.end);
    if (!bucket.first || bar.start < bucket.first.start) bucket.first = bar;
    bar.row = 0;
  }
  const width = 100 / DENSITY_BUCKETS;
  return html`${buckets.map((b, i) =>
    b.first
      ? html`<a class="bar dense ${b.first.kind}" href="#${b.first.href}" title="${plural(b.n, noun)}" style="left:${pct(i * width)};width:${pct(width)};top:4px;opacity:${Math.min(1, 0.3 + (0.7 * b.busy) / width).toFixed(2)}"></a>`
      : "",
  )}`;
}

export function renderTimeline(timeline: Timeline, axis: Axis): Html {
  const lanes = LANES.map((lane) => {
    const bars = timeline.bars.filter((b) => b.lane === lane);
    if (bars.length === 0) return html``;
    const dense = bars.length > DENSE_AFTER;
    const rows = dense ? 1 : stack(bars);
    const markers = timeline.markers.filter((m) => m.bar.lane === lane);
    const drawn = dense ? renderDensity(bars, axis, LANE_NOUNS[lane]) : bars.map((b) => renderBar(b, axis));
    const name = dense ? html`${LANE_NAMES[lane]}<div class="dim">${plural(bars.length, LANE_NOUNS[lane])}, as density</div>` : LANE_NAMES[lane];
    return html`<div class="lane" data-lane="${lane}"><div class="lane-name">${name}</div><div class="track" style="height:${rowTop(rows) + 6}px">${drawn}${markers.map((m) => renderMarker(m, axis))}</div></div>`;
  });
  return html`<div class="timeline"><div class="scale"><div class="lane-name"></div>${renderScale(axis)}</div>${lanes}</div>`;
}

export function renderMarker(m: Marker, axis: Axis): Html {
  const a = m.abort;
  const label = abortLabel(a);
  const x = axis.x(m.at);
  // Near the right edge the flag and its label open leftwards, so they stay inside the timeline.
  return html`<a class="abort${x > 70 ? " flip" : ""}" href="#${m.bar.href}" style="left:${pct(x)};top:${rowTop(m.bar.row!)}px" aria-label="${label}" data-source="${a.source}" data-via="${a.via ?? ""}" data-mode="${a.mode}" data-phase="${a.phase}" data-reason="${a.reason ?? ""}" data-title-state="${a.title_generation_state}"><span class="flag">■ ${a.source}</span><span class="tip">${label}</span></a>`;
}

/** The time axis: ticks and idle breaks, as a track to put beside or above bars of the same axis. */
export function renderScale(axis: Axis): Html {
  return html`<div class="track">${axis
    .ticks()
    .map((t) => html`<span class="tick" style="left:${pct(t.x)}">${t.label}</span>`)}${axis
    .breaks()
    .map((b) => html`<span class="gap" style="left:${pct(b.x)};width:${pct(b.width)}" title="idle ${duration(b.idleMs)}">${duration(b.idleMs)}</span>`)}</div>`;
}

/** Every interval the timeline draws, for the axis. */
export function intervals(timeline: Timeline): Array<[number, number]> {
  return timeline.bars.map((b) => [b.start, b.end]);
}
