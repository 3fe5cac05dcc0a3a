import type { AbortDiagnostic } from "../session/abort.js";
import type { ExportDocument } from "../export/snapshot.js";
import { Axis } from "./axis.js";
import { renderConversation } from "./conversation.js";
import { abortLabel, clock, count, duration, plural } from "./format.js";
import { html, type Html } from "./html.js";
import { page } from "./page.js";
import { intervals, renderTimeline, sessionTimeline } from "./timeline.js";

export interface SessionTotals {
  tokens: { input: number; output: number; reasoning: number; cacheRead: number; cacheWrite: number };
  cost: number;
}

export function sessionTotals(doc: ExportDocument): SessionTotals {
  const tokens = { input: 0, output: 0, reasoning: 0, cacheRead: 0, cacheWrite: 0 };
  let cost = 0;
  for (const { info } of doc.messages) {
    if (info.role !== "assistant") continue;
    tokens.input += info.tokens.input;
    tokens.output += info.tokens.output;
    tokens.reasoning += info.tokens.reasoning;
    tokens.cacheRead += info.tokens.cache.read;
    tokens.cacheWrite += info.tokens.cache.write;
    cost += info.cost;
  }
  return { tokens, cost };
}

function row(name: string, value: Html | string): Html {
  return html`<tr><th>${name}</th><td>${value}</td></tr>`;
}

function header(doc: ExportDocument): Html {
  const { tokens, cost } = sessionTotals(doc);
  const rt = doc.runtime;
  const last = doc.diagnostics.loop.last;
  return html`<table class="facts">${[
    row("session", html`<code>${doc.info.id}</code>`),
    row("directory", html`<code>${doc.info.directory}</code>`),
    row("created", `${clock(doc.info.time.created)} · updated ${clock(doc.info.time.updated)}`),
    row("release", `ode ${rt.app_version} (${rt.channel}) · session written by ${doc.info.version} · ${rt.platform}/${rt.arch} · node ${rt.node_version}`),
    row("models", rt.models.join(", ") || "none"),
    row(
      "tokens",
      `${count(tokens.input)} in · ${count(tokens.output)} out · ${count(tokens.reasoning)} reasoning · ${count(tokens.cacheRead)} cache read · ${count(tokens.cacheWrite)} cache write`,
    ),
    row("cost", `$${cost.toFixed(4)}`),
    row("contents", [plural(rt.stats.messages, "message"), plural(rt.stats.tool_calls, "tool call"), plural(rt.stats.runs, "run"), plural(rt.stats.aborts, "abort")].join(" · ")),
    last ? row("last run", html`<span class="outcome ${last.outcome ?? "running"}">${last.outcome ?? "running"}</span> · ${last.kind}${last.finish ? ` · finish ${last.finish}` : ""}`) : "",
    row("exported", clock(doc.exported_at)),
  ]}</table>`;
}

function abortList(doc: ExportDocument): Html {
  if (doc.diagnostics.aborts.length === 0) return html``;
  return html`<ol class="aborts">${doc.diagnostics.aborts.filter((a): a is AbortDiagnostic => "run_id" in a).map(
    (a) => html`<li><b>${a.source}</b> ${abortLabel(a)} <span class="dim">· ${clock(a.recorded_at)} · run ${a.run_id}</span></li>`,
  )}</ol>`;
}

/**
 * One session: header, timeline, aborts, conversation. `anchor` turns an id into this page's element id, so
 * several sessions (a loop's iterations) can share one page.
 */
export function sessionSection(doc: ExportDocument, anchor: (id: string) => string = (id) => id): Html {
  const timeline = sessionTimeline(doc, anchor);
  const axis = new Axis(intervals(timeline));
  let first = Infinity;
  let last = -Infinity;
  for (const bar of timeline.bars) {
    first = Math.min(first, bar.start);
    last = Math.max(last, bar.end);
  }
  const span = last > first ? last - first : 0;
  return html`<h2 class="session-title">${doc.info.title}</h2>${header(doc)}<h3>Timeline <span class="dim">· ${duration(span)} from first to last activity</span></h3>${renderTimeline(timeline, axis)}${abortList(doc)}<h3>Conversation</h3>${renderConversation(doc, anchor)}`;
}

export function renderSessionReport(doc: ExportDocument, options: { sanitized?: boolean } = {}): string {
  return page(`ode report · ${doc.info.title}`, html`<h1>ode session report</h1>${options.sanitized ? html`<p class="sanitized">Sanitized: every prompt, output, path, title and error text is redacted.</p>` : ""}${sessionSection(doc)}`);
}
