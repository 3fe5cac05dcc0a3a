import type { Runtime } from "../runtime.js";
import { opencodeMessage } from "../session/opencode.js";
import { Runs } from "../session/runs.js";
import { Store } from "../session/store.js";
import type { MessageWithParts } from "../session/schema.js";
import type { Diagnostics } from "./diagnostics.js";
import { ExportSanitizer, GENERATED_PART_ID_GLOB, NAMING_PART_TYPES } from "./sanitize.js";
import { planExport, type ExportHead, type ExportPlan, type RuntimeInfo } from "./snapshot.js";

type ExportReader = Pick<Runtime, "store" | "runs">;

/**
 * A read-only connection of its own to the data directory, for an export written while the runtime goes on working
 * (a server): the export's open read keeps its connection busy, and the runtime's must stay free for its writes.
 */
export function openExportReader(dataDir: string): ExportReader & { close(): void } {
  const store = Store.open(dataDir, undefined, { readonly: true });
  return { store, runs: new Runs(store), close: () => store.close() };
}

export interface ExportChunkOptions {
  sanitize?: boolean;
  /** Indented by two spaces with a final newline, as `ode export` writes; compact otherwise (the HTTP route). */
  pretty?: boolean;
}

/**
 * A session's export as text, one message at a time: the chunks joined are `JSON.stringify` of `buildExport`'s
 * document (of `sanitizeExport`'s with `sanitize`), the same bytes but for `exported_at`, while only the message
 * being written is in memory. An unknown session throws here, before any chunk; the rest is read as the chunks are
 * asked for, inside one read transaction, so the document is one moment of the session even while a run writes to
 * it. The reader's connection stays busy until the iteration ends (finishing or `return()`): give it a connection
 * of its own (`openExportReader`) when anything else uses the runtime's meanwhile.
 */
export function exportChunks(rt: ExportReader, sessionID: string, options: ExportChunkOptions = {}): Generator<string> {
  rt.store.getSession(sessionID);
  return documentChunks(rt, sessionID, options);
}

function* documentChunks(rt: ExportReader, sessionID: string, options: ExportChunkOptions): Generator<string> {
  const { db } = rt.store;
  // A caller already in a transaction has the one moment this would give.
  const own = !db.inTransaction;
  if (own) db.exec("BEGIN");
  try {
    const { head, diagnostics, messages } = options.sanitize ? sanitizedPlan(rt, sessionID) : plainPlan(rt, sessionID);
    yield* jsonDocument(options.pretty ?? false, head, messages, diagnostics);
  } finally {
    if (own) db.exec("COMMIT");
  }
}

interface WritablePlan {
  head: ExportHead;
  messages: Iterable<MessageWithParts>;
  /** Asked for once the messages are written. */
  diagnostics: () => Diagnostics;
}

function plainPlan(rt: ExportReader, sessionID: string): WritablePlan {
  const { head, diagnostics, messages } = planExport(rt, sessionID);
  return { head, messages: messages(), diagnostics: () => diagnostics };
}

/**
 * `sanitizeExport`'s document, piece by piece. Its `runtime` comes first in the document but is sanitized last
 * there: a model it names carries the marker of the first object that used that model. So a second sanitizer
 * rehearses the document first, from the messages' infos and only those parts that can hand out a marker or take
 * a pseudonym (`messagesWithPartsOutside`; a part with a generated id and no model changes nothing it keeps), and
 * its `runtime` is the one written.
 */
function sanitizedPlan(rt: ExportReader, sessionID: string): WritablePlan {
  const sanitizer = new ExportSanitizer(sessionID);
  const rehearsal = new ExportSanitizer(sessionID);
  const plan = planExport(rt, sessionID, (info) => {
    sanitizer.expect(info);
    rehearsal.expect(info);
  });
  sanitizer.expectAborts(plan.diagnostics.aborts);
  rehearsal.expectAborts(plan.diagnostics.aborts);
  const runtime = rehearsedRuntime(rehearsal, rt, sessionID, plan);
  const head = { ...plan.head, runtime, info: sanitizer.session(plan.head.info) };
  // After the messages: their parts hold the tool calls the aborts name.
  return { head, messages: sanitizedMessages(sanitizer, plan), diagnostics: () => sanitizer.diagnostics(plan.diagnostics) };
}

function rehearsedRuntime(rehearsal: ExportSanitizer, rt: ExportReader, sessionID: string, plan: ExportPlan): RuntimeInfo {
  rehearsal.session(plan.head.info);
  // Infos as exported; the parts kept are either reduced to what a pseudonym needs or of a type opencode leaves as is.
  for (const { info, parts } of rt.store.messagesWithPartsOutside(sessionID, GENERATED_PART_ID_GLOB, NAMING_PART_TYPES)) {
    rehearsal.message({ info: opencodeMessage(info), parts });
  }
  rehearsal.diagnostics(plan.diagnostics);
  return rehearsal.runtime(plan.head.runtime);
}

function* sanitizedMessages(sanitizer: ExportSanitizer, plan: ExportPlan): Generator<MessageWithParts> {
  for (const message of plan.messages()) yield sanitizer.message(message);
}

/**
 * `JSON.stringify` of `{...head, messages, diagnostics}` (with `pretty`, `JSON.stringify(doc, null, 2)` and a
 * newline), written a message at a time.
 */
function* jsonDocument(
  pretty: boolean,
  head: ExportHead,
  messages: Iterable<MessageWithParts>,
  diagnostics: () => Diagnostics,
): Generator<string> {
  const [nl, colon] = pretty ? ["\n", ": "] : ["", ":"];
  const field = (key: string, value: string) => `${nl}${pretty ? "  " : ""}${JSON.stringify(key)}${colon}${value}`;
  let out = "{";
  for (const [key, value] of Object.entries(head)) out += `${field(key, json(value, pretty, 1))},`;
  yield `${out}${field("messages", "[")}`;
  let count = 0;
  for (const message of messages) yield `${count++ ? "," : ""}${nl}${pretty ? "    " : ""}${json(message, pretty, 2)}`;
  const close = count && pretty ? "\n  ]" : "]";
  yield `${close},${field("diagnostics", json(diagnostics(), pretty, 1))}${nl}}${nl}`;
}

/** A value as it appears `depth` levels down in the document. */
function json(value: unknown, pretty: boolean, depth: number): string {
  if (!pretty) return JSON.stringify(value);
  // Stringified `depth` arrays down, so JSON.stringify indents it itself; the arrays' brackets are cut off.
  let wrapped: unknown = value;
  for (let i = 0; i < depth; i++) wrapped = [wrapped];
  const text = JSON.stringify(wrapped, null, 2);
  return text.slice(2 * depth + depth * (depth + 1), text.length - (2 * depth + depth * (depth - 1)));
}
