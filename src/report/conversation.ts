import type { RunRecord } from "../export/diagnostics.js";
import type { ExportDocument } from "../export/snapshot.js";
import type { AbortDiagnostic } from "../session/abort.js";
import type { AssistantMessage, MessageWithParts, Part, ToolPart } from "../session/schema.js";
import { abortLabel, bytes, clock, count, duration, toolTime, truncate } from "./format.js";
import { html, trusted, type Html } from "./html.js";

/** Characters shown of one long value; the rest is left out and its size said, so the file stays small. */
const OUTPUT_LIMIT = 1200;
const REASONING_LIMIT = 1200;
const TEXT_LIMIT = 6000;
/** Turns drawn in the page as it loads; the rest come in groups of this many when the reader opens them. */
const TURNS_PER_GROUP = 100;

function clipped(text: string, limit: number): Html {
  const { shown, omitted } = truncate(text, limit);
  const note = omitted > 0 ? html`<div class="omitted">… ${count(omitted)} more characters not shown (${bytes(Buffer.byteLength(text))} in all)</div>` : "";
  return html`<pre>${shown}</pre>${note}`;
}

function json(value: unknown): string {
  return typeof value === "string" ? value : (JSON.stringify(value, null, 2) ?? "");
}

/** A failed or unfinished call has no title: its first string argument (a command, a path) stands in. */
function inputSummary(input: unknown): string {
  const first = input && typeof input === "object" ? Object.values(input).find((v) => typeof v === "string") : input;
  return typeof first === "string" ? truncate(first.split("\n")[0]!, 120).shown : "";
}

function toolPart(part: ToolPart, anchor: (id: string) => string): Html {
  const state = part.state;
  const time = toolTime(state);
  const took = time?.end !== undefined ? ` · ${duration(time.end - time.start)}` : "";
  const title = "title" in state && typeof state.title === "string" ? state.title : inputSummary(state.input);
  const result =
    state.status === "completed"
      ? html`<div class="label">output · ${bytes(Buffer.byteLength(state.output))}</div>${clipped(state.output, OUTPUT_LIMIT)}`
      : state.status === "error"
        ? html`<div class="label">error</div>${clipped(state.error, OUTPUT_LIMIT)}`
        : html`<div class="label">${state.status}</div>`;
  const interrupted = state.status === "error" && state.metadata?.interrupted === true ? html` · <b>interrupted</b>` : "";
  return html`<details class="tool ${state.status}" id="${anchor(part.id)}"><summary><b>${part.tool}</b> ${title} <span class="dim">· ${state.status}${took}</span>${interrupted}</summary><div class="label">input</div>${clipped(json(state.input), OUTPUT_LIMIT)}${result}</details>`;
}

function part(p: Part, anchor: (id: string) => string): Html {
  switch (p.type) {
    case "text":
      return html`<div class="text">${clipped(p.text, TEXT_LIMIT)}</div>`;
    case "reasoning":
      return html`<details class="reasoning"><summary>reasoning <span class="dim">· ${count(p.text.length)} characters</span></summary>${clipped(p.text, REASONING_LIMIT)}</details>`;
    case "tool":
      return toolPart(p as ToolPart, anchor);
    case "file":
      return html`<div class="file">file <b>${p.filename ?? ""}</b> <span class="dim">${p.mime} · ${p.url.length > 200 ? `${p.url.slice(0, 200)}…` : p.url}</span></div>`;
    case "compaction": {
      // The marker of a compaction: the summary that answers it is the next message.
      const why = p.overflow === true ? "after a context-length error" : p.auto === true ? "the history did not fit the model" : "asked for";
      return html`<div class="dim">history compacted (${why}); the model gets the summary below in place of the turns it summarises</div>`;
    }
    default:
      return html``;
  }
}

function abortCallout(abort: AbortDiagnostic): Html {
  return html`<div class="abort-note"><b>Aborted</b> ${abortLabel(abort)}${abort.error_message ? html`<div class="dim">${abort.error_message}</div>` : ""}</div>`;
}

function assistant(m: MessageWithParts & { info: AssistantMessage }, step: number, anchor: (id: string) => string, aborts: Map<string, AbortDiagnostic>): Html {
  const info = m.info;
  const took = info.time.completed !== undefined ? ` · ${duration(info.time.completed - info.time.created)}` : "";
  const tokens = info.tokens.input + info.tokens.output + info.tokens.reasoning;
  const error = info.error && info.error.name !== "MessageAbortedError" ? html`<div class="error"><b>${info.error.name}</b> ${info.error.data.message ?? ""}</div>` : "";
  const abort = aborts.get(info.id);
  return html`<div class="msg assistant" id="${anchor(info.id)}"><div class="who">step ${step} <span class="dim">· ${info.providerID}/${info.modelID}${took} · ${count(tokens)} tokens${info.finish ? ` · ${info.finish}` : ""}</span></div>${m.parts.map((p) => part(p, anchor))}${error}${abort ? abortCallout(abort) : ""}</div>`;
}

/**
 * The conversation, one block per turn (a user message and the steps that answered it), in document order. Tool
 * calls and reasoning are collapsed; long values are cut with their size shown.
 */
export function renderConversation(doc: ExportDocument, anchor: (id: string) => string): Html {
  const runByUser = new Map<string, RunRecord>();
  for (const run of doc.diagnostics.loop.runs) if (run.user_message_id) runByUser.set(run.user_message_id, run);
  const abortByMessage = new Map<string, AbortDiagnostic>();
  const abortByRun = new Map<string, AbortDiagnostic>();
  for (const abort of doc.diagnostics.aborts) {
    // An abort derived from an imported message has no provenance to show beyond its message's error.
    if (!("run_id" in abort)) continue;
    if (abort.message_id) abortByMessage.set(abort.message_id, abort);
    else abortByRun.set(abort.run_id, abort);
  }

  const turns: Html[] = [];
  let body: Html[] = [];
  let head: Html = html``;
  let step = 0;
  const flush = () => {
    if (body.length > 0) turns.push(html`<section class="turn">${head}${body}</section>`);
    body = [];
  };
  for (const m of doc.messages) {
    if (m.info.role === "user") {
      flush();
      step = 0;
      const run = runByUser.get(m.info.id);
      const outcome = run ? html` · <span class="outcome ${run.outcome ?? "running"}">${run.outcome ?? "running"}</span>${run.ended_at ? ` · ${duration(run.ended_at - run.started_at)}` : ""}` : "";
      const queued = run && abortByRun.get(run.run_id);
      head = html`<div class="turn-head" id="${anchor(m.info.id)}">turn ${turns.length + 1} <span class="dim">· ${clock(m.info.time.created)}</span>${outcome}</div>`;
      body.push(html`<div class="msg user"><div class="who">user</div>${m.parts.map((p) => part(p, anchor))}${queued ? abortCallout(queued) : ""}</div>`);
    } else {
      step++;
      body.push(assistant(m as MessageWithParts & { info: AssistantMessage }, step, anchor, abortByMessage));
    }
  }
  flush();
  const orphans = [...abortByRun.values()].filter((a) => !doc.diagnostics.loop.runs.some((r) => r.run_id === a.run_id && r.user_message_id));
  const groups: Html[][] = [];
  for (let i = 0; i < turns.length; i += TURNS_PER_GROUP) groups.push(turns.slice(i, i + TURNS_PER_GROUP));
  const [first = [], ...later] = groups;
  if (later.length === 0) return html`<div class="conversation">${first}${orphans.map(abortCallout)}</div>`;
  // Later turns stay out of the document until their group is opened: the browser scans a script's text without
  // building anything, where tens of thousands of elements would take seconds to parse and lay out.
  const data = JSON.stringify(later.map((group) => group.map((turn) => turn.text))).replace(/</g, "\\u003c");
  const summaries = later.map((group, g) => {
    const from = (g + 1) * TURNS_PER_GROUP + 1;
    return html`<details class="turns-lazy" data-group="${g}"><summary>turns ${count(from)}–${count(from + group.length - 1)} <span class="dim">· shown when opened (needs JavaScript)</span></summary><div class="turns-body"></div></details>`;
  });
  return html`<div class="conversation">${first}${summaries}${orphans.map(abortCallout)}<script type="application/json" class="turn-data">${trusted(data)}</script></div>`;
}
