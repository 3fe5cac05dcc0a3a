import { isDeepStrictEqual } from "node:util";
import { z } from "zod";
import type { TitleTrace } from "../agent/title.js";
import { JsonSyntaxError } from "../json/errors.js";
import type { ScanWatcher, Token } from "../json/scanner.js";
import { scanJson } from "../json/stream.js";
import { checkTree, MAX_JSON_DEPTH } from "../json/tree.js";
import { cancelSources, reportedTitleStates, runPhases } from "../session/abort.js";
import { runKinds, runOutcomes } from "../session/runs.js";
import { killModes } from "../shell/spawn.js";
import type { Runtime } from "../runtime.js";
import { fieldPath, OdeError } from "../session/errors.js";
import { sqliteCode } from "../storage/db.js";
import {
  id,
  messageInfoSchema,
  partSchema,
  sessionInfoSchema,
  timestamp,
  type MessageWithParts,
  type SessionInfo,
} from "../session/schema.js";
import { defaultTitle, isDefaultTitle, normalizeTitle } from "../session/title.js";
import { buildDiagnostics, messageAbortOf, type MessageAbort, type RunRecord } from "./diagnostics.js";
import { EXPORT_FORMAT, EXPORT_SCHEMA_VERSION } from "./snapshot.js";

export class ImportValidationError extends OdeError {
  override name = "ImportValidationError";
  override readonly status = 400;
}

export class SessionExistsError extends OdeError {
  override name = "SessionExistsError";
  override readonly status = 409;
  constructor(readonly sessionID: string) {
    super(`session ${sessionID} already exists; pass --force to replace it`);
  }
}

const messageSchema = z.object({ info: messageInfoSchema, parts: z.array(partSchema) });

/**
 * The messages are read and checked one at a time as they come (`messageSchema`): at the top, `messages` is only
 * checked to be an array. Strict: a key ode does not know would otherwise be dropped without a word.
 */
const opencodeSchema = z.strictObject({ info: sessionInfoSchema, messages: z.array(z.unknown()) });

const abortSchema = z.looseObject({
  recorded_at: timestamp,
  run_id: id("run"),
  message_id: id("msg").optional(),
  source: z.enum(cancelSources),
  mode: z.enum(killModes),
  phase: z.enum(runPhases),
  via_ctx_abort: z.boolean(),
  title_generation_state: z.enum(reportedTitleStates),
});

/** An abort the export derived from an aborted message no run accounts for: read again from that message. */
const importedAbortSchema = z.looseObject({ recorded_at: z.number(), message_id: z.string(), source: z.literal("unknown") });

// Strict: runs are stored in columns, so a key this schema does not name could not be kept.
const runSchema = z.strictObject({
  run_id: id("run"),
  kind: z.enum(runKinds),
  started_at: timestamp,
  ended_at: timestamp.nullable(),
  outcome: z.enum(runOutcomes).nullable(),
  user_message_id: id("msg").nullable(),
  assistant_message_ids: z.array(id("msg")),
  steps: z.number().int().min(0),
  finish: z.string().nullable(),
  attempted_input: z.string().nullable(),
  cancel_count: z.number().int().min(0),
  // Exports written before tracing have none; a sanitized export keeps it (an id).
  trace_id: z.string().regex(/^[0-9a-f]{32}$/, "must be 32 lowercase hex digits").nullable().optional(),
});

const traceSchema = z.looseObject({
  started_at: timestamp,
  completed_at: timestamp.optional(),
  success: z.boolean(),
  applied: z.boolean(),
  model: z.string(),
  user_message_id: id("msg"),
  assistant_message_id: id("msg").optional(),
  // Derived on export from the aborts; absent, it is derived again.
  completed_after_abort: z.boolean().optional(),
});

/** Keys only an ode export has: any of them makes a document an ode export, with or without `format`. */
const ODE_KEYS = ["format", "schema_version", "exported_at", "runtime", "diagnostics"];
/** Every key either kind of export may have at the top: any other is refused as soon as it is read. */
const TOP_KEYS = new Set([...ODE_KEYS, "info", "messages"]);

const odeSchema = z.strictObject({
  format: z.literal(EXPORT_FORMAT),
  schema_version: z.literal(EXPORT_SCHEMA_VERSION),
  // Describe the process that exported; a re-export describes its own.
  exported_at: timestamp.optional(),
  runtime: z.looseObject({}).optional(),
  info: sessionInfoSchema,
  messages: z.array(z.unknown()),
  diagnostics: z.strictObject({
    // By source, so an abort of ode's own that lacks a field is refused naming that field.
    aborts: z.array(z.discriminatedUnion("source", [abortSchema, importedAbortSchema])),
    title_generations: z.array(traceSchema),
    // Derived on export from the summary messages (`info.diagnostics.compaction`), which carry them; older exports
    // have none.
    compactions: z.array(z.looseObject({})).optional(),
    loop: z.strictObject({ runs: z.array(runSchema), last: runSchema.nullable().optional() }),
  }),
});

type AbortEntry = z.infer<typeof abortSchema>;
type TraceEntry = z.infer<typeof traceSchema>;

/** What an ode export says beside its messages (an opencode export: nothing). */
interface Diagnostics {
  runs: RunRecord[];
  aborts: AbortEntry[];
  traces: TraceEntry[];
}

/** A document ready to be stored: the session, its messages, and (from ode exports) runs and title traces. */
export interface ImportDocument extends Diagnostics {
  info: SessionInfo;
  messages: MessageWithParts[];
}

/** Where a checked document goes, in the order it is read: the session, each of its messages, then the rest. */
interface SessionSink {
  begin(info: SessionInfo): void;
  message(message: MessageWithParts, index: number): void;
  end(diagnostics: Diagnostics): void;
}

/** A document's text, its bytes, or its bytes in chunks of any size (a file or stdin, read as it comes). */
export type ImportSource = string | Uint8Array | Iterable<Uint8Array>;

function invalid(path: readonly PropertyKey[], message: string): never {
  throw new ImportValidationError(`${fieldPath(path, "(document)")}: ${message}`);
}

/** `raw` checked by `schema`; its first problem is named by its path in the document (`raw` is at `at`). */
function valid<T>(schema: z.ZodType<T>, raw: unknown, at: PropertyKey[] = []): T {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  if (issue.code === "unrecognized_keys") invalid([...at, ...issue.path, issue.keys[0]!], "unknown key: ode would not keep it, so it refuses it");
  invalid([...at, ...issue.path], issue.message);
}

/** What any JSON value must be before a schema reads it (see checkTree); `depth`: how deep `at` is. */
function checkValue(raw: unknown, at: PropertyKey[], depth: number): void {
  const problem = checkTree(raw, MAX_JSON_DEPTH, { path: at, depth });
  if (problem) invalid(problem.path, problem.message);
}

/**
 * Reads an ode export or an opencode export (`{info, messages}`) as the scanner finds it, so a long session is never
 * whole in memory: first what any JSON file must be (UTF-8, JSON, at most MAX_JSON_DEPTH deep, well-formed strings),
 * then the store's own schemas, then what the schemas cannot see: every message and part belongs to this session,
 * and the diagnostics agree with the runs, messages and traces of the file. Each message is checked and handed on
 * as soon as it is read; the rest of the top level is small and kept for the end, where what needs the whole
 * document is checked. An id that appears twice is found by the database when stored, so nothing that grows with
 * the file is kept here. The error names the first invalid field met in the file.
 */
class DocumentReader implements ScanWatcher {
  readonly depth = 2;
  private notObject = false;
  /** The top-level key whose value comes next. */
  private key = "";
  /** The top level but the messages (an empty list stands for them once read). */
  private readonly top: Record<string, unknown> = {};
  private inMessages = false;
  private count = 0;
  private info: SessionInfo | undefined;
  /** Messages read before `info` (neither ode nor opencode writes them first): kept until it comes. */
  private waiting: MessageWithParts[] = [];
  private begun = false;
  /** The aborts copied onto messages, checked against `diagnostics.aborts` at the end. */
  private readonly abortCopies: Array<{ index: number; abort: unknown }> = [];

  constructor(private readonly sink: SessionSink) {}

  start(kind: Token, depth: number, first: string): boolean {
    if (depth === 0) {
      this.notObject = first !== "{";
      return false;
    }
    if (this.notObject) return false;
    // Inside the top level only the elements of `messages` are reported: every other value is captured whole.
    if (depth === 2) return true;
    if (kind === "value" && this.key === "messages" && first === "[") {
      this.inMessages = true;
      this.top.messages = [];
      return false;
    }
    return true;
  }

  end(kind: Token, depth: number, value: unknown): void {
    if (depth === 0 || this.notObject) return;
    if (depth === 2) return this.message(value, this.count++);
    if (kind === "key") return this.topKey(value as string);
    if (this.inMessages) {
      this.inMessages = false;
      return;
    }
    this.topValue(value);
  }

  private topKey(key: string): void {
    if (!TOP_KEYS.has(key)) invalid([key], "unknown key: ode would not keep it, so it refuses it");
    // Messages are stored as they are read: neither they nor the session they were checked against can be replaced.
    if ((key === "messages" && "messages" in this.top) || (key === "info" && this.begun)) {
      invalid([key], "appears twice at the top level (ode stores the messages as it reads them)");
    }
    this.key = key;
  }

  private topValue(raw: unknown): void {
    const key = this.key;
    checkValue(raw, [key], 1);
    this.top[key] = raw;
    if (key !== "info") return;
    this.info = valid(sessionInfoSchema, raw, ["info"]);
    const waiting = this.waiting;
    this.waiting = [];
    waiting.forEach((message, i) => this.accept(message, i));
  }

  private message(raw: unknown, index: number): void {
    const at = ["messages", index];
    checkValue(raw, at, 2);
    const message = valid(messageSchema, raw, at) as MessageWithParts;
    if (this.info) this.accept(message, index);
    else this.waiting.push(message);
  }

  /** Ids that appear twice are found when stored (the database has them all): only what a row cannot tell is here. */
  private accept({ info, parts }: MessageWithParts, i: number): void {
    const sessionID = this.info!.id;
    if (info.sessionID !== sessionID) invalid(["messages", i, "info", "sessionID"], `${info.sessionID} is not the session's id ${sessionID}`);
    parts.forEach((part, j) => {
      if (part.messageID !== info.id) invalid(["messages", i, "parts", j, "messageID"], `${part.messageID} is not the id of the message it is in (${info.id})`);
      if (part.sessionID !== sessionID) invalid(["messages", i, "parts", j, "sessionID"], `${part.sessionID} is not the session's id ${sessionID}`);
    });
    const copy = (info as { diagnostics?: { abort?: unknown } }).diagnostics?.abort;
    if (copy !== undefined) this.abortCopies.push({ index: i, abort: copy });
    this.begin();
    this.sink.message({ info, parts }, i);
  }

  private begin(): void {
    if (this.begun) return;
    this.begun = true;
    this.sink.begin(this.info!);
  }

  /** The document has ended: what needs all of it. */
  finish(): void {
    if (this.notObject) invalid([], "expected an ode or opencode session export (a JSON object)");
    const raw = this.top;
    const odeKeys = ODE_KEYS.filter((key) => key in raw);
    if (odeKeys.length > 0 && !("format" in raw)) {
      invalid(["format"], `missing, but the document has ode's ${odeKeys.join(", ")}: refusing to read it as an opencode export and drop them`);
    }
    const diagnostics = odeKeys.length > 0 ? fromOde(raw) : (valid(opencodeSchema, raw), { runs: [], aborts: [], traces: [] });
    checkRuns(diagnostics.runs);
    checkAborts(diagnostics, this.abortCopies);
    this.begin();
    this.sink.end(diagnostics);
  }
}

function fromOde(raw: unknown): Diagnostics {
  const { diagnostics } = valid(odeSchema, raw);
  const runs = diagnostics.loop.runs as RunRecord[];
  const { last } = diagnostics.loop;
  // The export writes the last run in its own order (started_at, then id) as `last`.
  const expected = [...runs].sort((a, b) => a.started_at - b.started_at || (a.run_id < b.run_id ? -1 : 1)).at(-1) ?? null;
  if (last !== undefined && !isDeepStrictEqual(last, expected)) {
    invalid(["diagnostics", "loop", "last"], `must be ${expected ? `the last run of diagnostics.loop.runs (${expected.run_id})` : "null (there are no runs)"}`);
  }
  return { runs, aborts: diagnostics.aborts.filter((a): a is AbortEntry => a.source !== "unknown"), traces: diagnostics.title_generations };
}

function checkRuns(runs: RunRecord[]): void {
  const runIDs = new Set<string>();
  let open = 0;
  runs.forEach((run, i) => {
    if (runIDs.has(run.run_id)) invalid(["diagnostics", "loop", "runs", i, "run_id"], `${run.run_id} appears twice`);
    runIDs.add(run.run_id);
    if (run.ended_at === null && ++open > 1) invalid(["diagnostics", "loop", "runs", i, "ended_at"], "a session has at most one unfinished run");
  });
}

/**
 * Aborts are stored on their run, so each must name a run of the file, once; an aborted run must have its abort,
 * and an abort copied onto an assistant message must be in `diagnostics.aborts` too. What is derived on export
 * (`completed_after_abort`) is checked against the traces after storing (`checkDerived`).
 */
function checkAborts({ runs, aborts }: Diagnostics, copies: Array<{ index: number; abort: unknown }>): void {
  const runIDs = new Set(runs.map((run) => run.run_id));
  const aborted = new Set<string>();
  aborts.forEach((abort, i) => {
    const at = ["diagnostics", "aborts", i, "run_id"];
    if (!runIDs.has(abort.run_id)) invalid(at, `${abort.run_id} is not a run of this file (diagnostics.loop.runs)`);
    if (aborted.has(abort.run_id)) invalid(at, `${abort.run_id} has two aborts; a run is aborted once`);
    aborted.add(abort.run_id);
  });
  runs.forEach((run, i) => {
    if (run.outcome === "aborted" && !aborted.has(run.run_id)) {
      invalid(["diagnostics", "loop", "runs", i, "outcome"], `aborted, but diagnostics.aborts has no abort of ${run.run_id}`);
    }
  });
  for (const { index, abort } of copies) {
    const copy = valid(abortSchema, abort, ["messages", index, "info", "diagnostics", "abort"]);
    if (!aborted.has(copy.run_id)) invalid(["messages", index, "info", "diagnostics", "abort", "run_id"], `${copy.run_id} has no abort in diagnostics.aborts`);
  }
}

function readDocument(source: ImportSource, sink: SessionSink): void {
  const reader = new DocumentReader(sink);
  try {
    scanJson(source instanceof Uint8Array ? [source] : source, reader);
  } catch (error) {
    if (error instanceof JsonSyntaxError) throw new ImportValidationError(`not valid JSON: ${error.message}`);
    throw error;
  }
  reader.finish();
}

/**
 * Reads and checks a whole document into memory (see DocumentReader; an id that appears twice is found by
 * `importSession`, when stored); `importStream` stores one as it reads it.
 */
export function parseImport(input: string | Uint8Array): ImportDocument {
  const messages: MessageWithParts[] = [];
  let info: SessionInfo | undefined;
  let diagnostics: Diagnostics | undefined;
  readDocument(input, {
    begin: (read) => (info = read),
    message: (message) => messages.push(message),
    end: (read) => (diagnostics = read),
  });
  return { info: info!, messages, ...diagnostics! };
}

/**
 * Within the import's transaction: the diagnostics an export of the stored rows yields must be the file's, so a
 * re-export shows what was imported. What only the export computes (`completed_after_abort`) is compared here.
 */
function checkDerived(rt: Pick<Runtime, "store" | "runs">, sessionID: string, messageAborts: MessageAbort[], { aborts, traces }: Diagnostics): void {
  const derived = buildDiagnostics(messageAborts, rt.runs.rows(sessionID), rt.store.titleTraces<TitleTrace>(sessionID));
  const byRun = new Map(derived.aborts.flatMap((abort) => ("run_id" in abort ? [[abort.run_id, abort] as const] : [])));
  aborts.forEach((abort, i) => {
    const state = byRun.get(abort.run_id)?.title_generation_state;
    if (state === abort.title_generation_state) return;
    invalid(
      ["diagnostics", "aborts", i, "title_generation_state"],
      state === "completed_after_abort"
        ? `${abort.title_generation_state}, but the title generation of this turn succeeded after the abort (completed_after_abort)`
        : `${abort.title_generation_state}, but no title generation of this turn succeeded after the abort`,
    );
  });
  traces.forEach((trace, i) => {
    const expected = derived.title_generations[i]!.completed_after_abort;
    if (trace.completed_after_abort !== undefined && trace.completed_after_abort !== expected) {
      invalid(["diagnostics", "title_generations", i, "completed_after_abort"], `must be ${expected}: ${expected ? "an abort of this turn was recorded before it completed" : "no abort of this turn was in flight when it completed"}`);
    }
  });
}

/**
 * Messages are written in batches of about this many rows: parsing and checking a batch, then writing it, keeps
 * each in the processor's caches (written one by one as read, the import took about 10% more CPU time).
 */
const BATCH_ROWS = 1000;

export interface ImportResult {
  sessionID: string;
  messages: number;
  parts: number;
  replaced: boolean;
}

/**
 * A row the database refused for its id: held by another session, or (`twice`: the id) written earlier by this
 * import, so the id appears twice in the file (an existing session of the same id was deleted first).
 */
function takenId(error: unknown, at: string, twice?: string): unknown {
  if (!sqliteCode(error)?.startsWith("SQLITE_CONSTRAINT")) return error;
  return new ImportValidationError(twice ? `${at}: ${twice} appears twice` : `${at}: this id already belongs to another session in this data directory`);
}

/**
 * Writes a session as it is read, inside the caller's transaction (so all of it or, on any error, nothing). An
 * existing session with the same id is replaced only with `force`, never merged. Rows are written as they are in
 * the document (not through the store's live-update methods, which would stamp `updated` and publish events), so
 * an export of the imported session is the document again.
 */
class SessionWriter implements SessionSink {
  private sessionID = "";
  private messages = 0;
  private parts = 0;
  private replaced = false;
  private readonly messageAborts: MessageAbort[] = [];
  /** Messages checked but not yet written, and their rows (a message and its parts). */
  private pending: Array<[MessageWithParts, number]> = [];
  private pendingRows = 0;

  constructor(
    private readonly rt: Pick<Runtime, "store" | "runs">,
    private readonly force = false,
  ) {}

  begin(info: SessionInfo): void {
    const { store } = this.rt;
    if (store.findSession(info.id)) {
      if (!this.force) throw new SessionExistsError(info.id);
      this.rt.runs.deleteSession(info.id);
      this.replaced = true;
    }
    const title = normalizeTitle(info.title);
    // An imported title is someone's choice: only a default one may still be replaced by a generated title.
    const titleSource = !title || isDefaultTitle(title) ? "default" : "user";
    try {
      store.insertSessionInfo({ ...info, title: title || defaultTitle(new Date(info.time.created)) }, titleSource);
    } catch (error) {
      throw takenId(error, "info.id");
    }
    this.sessionID = info.id;
  }

  message(message: MessageWithParts, i: number): void {
    this.pending.push([message, i]);
    this.pendingRows += message.parts.length + 1;
    if (this.pendingRows >= BATCH_ROWS) this.flush();
  }

  /** Writes the messages checked so far (also when reading fails further on: an id taken there is the first problem). */
  flush(): void {
    const { store } = this.rt;
    const pending = this.pending;
    this.pending = [];
    this.pendingRows = 0;
    for (const [{ info, parts }, i] of pending) {
      let j = -1;
      try {
        store.insertMessageAsIs(info);
        for (j = 0; j < parts.length; j++) store.insertPartAsIs(parts[j]!);
      } catch (error) {
        const [kind, id, at] = j < 0 ? (["message", info.id, `messages[${i}].info.id`] as const) : (["part", parts[j]!.id, `messages[${i}].parts[${j}].id`] as const);
        throw takenId(error, at, store.rowSession(kind, id) === this.sessionID ? id : undefined);
      }
      this.messages++;
      this.parts += parts.length;
      const abort = messageAbortOf(info);
      if (abort) this.messageAborts.push(abort);
    }
  }

  end(diagnostics: Diagnostics): void {
    this.flush();
    const { store, runs } = this.rt;
    const sessionID = this.sessionID;
    // The interrupt stored on a run is what was known at abort time; `completed_after_abort` is the export's reading.
    const interrupts = new Map(
      diagnostics.aborts.map((a) => [a.run_id, a.title_generation_state === "completed_after_abort" ? { ...a, title_generation_state: "in_flight" } : a]),
    );
    diagnostics.runs.forEach((run, i) => {
      const interrupt = interrupts.get(run.run_id);
      try {
        runs.insertAsIs({
          id: run.run_id,
          session_id: sessionID,
          kind: run.kind,
          started_at: run.started_at,
          ended_at: run.ended_at,
          outcome: run.outcome,
          user_message_id: run.user_message_id,
          assistant_message_ids: JSON.stringify(run.assistant_message_ids),
          interrupt: interrupt ? JSON.stringify(interrupt) : null,
          cancel_count: run.cancel_count,
          steps: run.steps,
          finish: run.finish,
          attempted_input: run.attempted_input,
          // Exports older than tracing have no trace id.
          trace_id: run.trace_id ?? null,
        });
      } catch (error) {
        throw takenId(error, `diagnostics.loop.runs[${i}].run_id`);
      }
    });
    for (const { completed_after_abort: _derived, ...stored } of diagnostics.traces) store.insertTitleTrace(sessionID, stored);
    checkDerived(this.rt, sessionID, this.messageAborts, diagnostics);
  }

  result(): ImportResult {
    return { sessionID: this.sessionID, messages: this.messages, parts: this.parts, replaced: this.replaced };
  }
}

/** Stores a document already in memory (checked by parseImport, or built by ode itself) in one transaction. */
export function importSession(rt: Pick<Runtime, "store" | "runs">, doc: ImportDocument, options: { force?: boolean } = {}): ImportResult {
  const writer = new SessionWriter(rt, options.force);
  rt.store.transaction(() => {
    writer.begin(doc.info);
    doc.messages.forEach((message, i) => writer.message(message, i));
    writer.end(doc);
  });
  return writer.result();
}

/**
 * Reads, checks and stores a document in one transaction, one message at a time as the source yields its chunks:
 * memory does not grow with the file. Any problem (the file's, or an id another session holds) rolls all of it
 * back, so nothing is half-written.
 */
export function importStream(rt: Pick<Runtime, "store" | "runs">, source: ImportSource, options: { force?: boolean } = {}): ImportResult {
  const writer = new SessionWriter(rt, options.force);
  rt.store.transaction(() => {
    try {
      readDocument(source, writer);
    } catch (error) {
      // A message read before the problem may hold an id another session has: that is the first problem then.
      writer.flush();
      throw error;
    }
  });
  return writer.result();
}
