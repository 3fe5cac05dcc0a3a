import type { Runtime } from "../runtime.js";
import { Runs } from "../session/runs.js";
import { Store } from "../session/store.js";
import type { MessageWithParts } from "../session/schema.js";
import type { Diagnostics } from "./diagnostics.js";
import { ExportSanitizer } from "./sanitize.js";
import { planExport, type ExportHead, type ExportPlan } from "./snapshot.js";

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
  const pretty = options.pretty ?? false;
  yield* inOneRead(rt, sessionJson(rt, sessionID, options.sanitize ?? false, pretty)(0));
  if (pretty) yield "\n";
}

/**
 * The chunks read inside one read transaction, ended when they end or the iteration is closed. A caller already in
 * a transaction has the one moment this would give.
 */
export function* inOneRead(rt: ExportReader, chunks: Iterable<string>): Generator<string> {
  const { db } = rt.store;
  const own = !db.inTransaction;
  if (own) db.exec("BEGIN");
  try {
    yield* chunks;
  } finally {
    if (own) db.exec("COMMIT");
  }
}

/** A session's document, `exportChunks`' text without the final newline, at any depth of a larger document (a loop's). */
export function sessionJson(rt: ExportReader, sessionID: string, sanitize: boolean, pretty: boolean): JsonChunks {
  // A generator, so nothing is read before the first chunk is asked for.
  return function* (depth) {
    const { head, diagnostics, messages } = sanitize ? sanitizedPlan(rt, sessionID) : plainPlan(rt, sessionID);
    yield* jsonObject(pretty, depth, [
      ...fieldsOf(head, pretty),
      ["messages", jsonArray(pretty, mapped(messages, (message) => jsonValue(message, pretty)))],
      // Asked for once the messages are written.
      ["diagnostics", (at) => [json(diagnostics(), pretty, at)]],
    ]);
  };
}

/**
 * What other parts of a document refer to in a session's sanitized export: its id and diagnostics exactly as
 * written there. Its messages are sanitized on the way (an abort names its tool call by a part's pseudonym) and
 * dropped, so only the diagnostics are kept in memory.
 */
export function sanitizedReferences(rt: ExportReader, sessionID: string): { info: { id: string }; diagnostics: Diagnostics } {
  const { head, messages, diagnostics } = sanitizedPlan(rt, sessionID);
  for (const message of messages) void message;
  return { info: { id: head.info.id }, diagnostics: diagnostics() };
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
 * `sanitizeExport`'s document, piece by piece, in the order it is written: `runtime` (its models take the
 * session's markers) and the session before the messages.
 */
function sanitizedPlan(rt: ExportReader, sessionID: string): WritablePlan {
  const sanitizer = new ExportSanitizer(sessionID);
  const plan = planExport(rt, sessionID, (info) => sanitizer.expect(info));
  sanitizer.expectAborts(plan.diagnostics.aborts);
  const runtime = sanitizer.runtime(plan.head.runtime);
  const head = { ...plan.head, runtime, info: sanitizer.session(plan.head.info) };
  // After the messages: their parts hold the tool calls the aborts name.
  return { head, messages: sanitizedMessages(sanitizer, plan), diagnostics: () => sanitizer.diagnostics(plan.diagnostics) };
}

function* sanitizedMessages(sanitizer: ExportSanitizer, plan: ExportPlan): Generator<MessageWithParts> {
  for (const message of plan.messages()) yield sanitizer.message(message);
}

/** A JSON value's text as it appears `depth` levels down in a document, in chunks. */
export type JsonChunks = (depth: number) => Iterable<string>;
export type JsonField = [key: string, value: JsonChunks];

/** A value known whole. */
const jsonValue =
  (value: unknown, pretty: boolean): JsonChunks =>
  (depth) => [json(value, pretty, depth)];

/** An object's fields, as values known whole. */
export function fieldsOf(object: object, pretty: boolean): JsonField[] {
  return Object.entries(object).map(([key, value]) => [key, jsonValue(value, pretty)]);
}

function* mapped<T, U>(items: Iterable<T>, map: (item: T) => U): Generator<U> {
  for (const item of items) yield map(item);
}

const indent = (pretty: boolean, depth: number) => (pretty ? `\n${"  ".repeat(depth)}` : "");

/**
 * What `JSON.stringify` (with `pretty`, `JSON.stringify(value, null, 2)`) gives for an object of these fields, each
 * value's text asked for only when it is its turn. At least one field.
 */
export function* jsonObject(pretty: boolean, depth: number, fields: Iterable<JsonField>): Generator<string> {
  let separator = "{";
  for (const [key, value] of fields) {
    yield* prefixed(`${separator}${indent(pretty, depth + 1)}${JSON.stringify(key)}${pretty ? ": " : ":"}`, value(depth + 1));
    separator = ",";
  }
  yield `${indent(pretty, depth)}}`;
}

/** The same for an array, its items asked for one at a time. */
export function jsonArray(pretty: boolean, items: Iterable<JsonChunks>): JsonChunks {
  return function* (depth) {
    let count = 0;
    for (const item of items) yield* prefixed(`${count++ ? "," : "["}${indent(pretty, depth + 1)}`, item(depth + 1));
    yield count ? `${indent(pretty, depth)}]` : "[]";
  };
}

/** The chunks, `prefix` joined to the first (a chunk of its own when there is none). */
function* prefixed(prefix: string, chunks: Iterable<string>): Generator<string> {
  let first = true;
  for (const chunk of chunks) {
    yield first ? prefix + chunk : chunk;
    first = false;
  }
  if (first) yield prefix;
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
