import { isDeepStrictEqual } from "node:util";
import { z } from "zod";
import type { TitleTrace } from "../agent/title.js";
import { decodeUtf8, JsonSyntaxError, parseJson } from "../json/parse.js";
import { checkTree } from "../json/tree.js";
import { cancelSources, reportedTitleStates, runPhases } from "../session/abort.js";
import { runKinds, runOutcomes } from "../session/runs.js";
import { killModes } from "../shell/spawn.js";
import type { Runtime } from "../runtime.js";
import { fieldPath, firstIssue, OdeError } from "../session/errors.js";
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
import { buildDiagnostics, messageAbortOf, type RunRecord } from "./diagnostics.js";
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

const messagesSchema = z.array(z.object({ info: messageInfoSchema, parts: z.array(partSchema) }));

// Strict at the top: a key ode does not know would otherwise be dropped without a word.
const opencodeSchema = z.strictObject({ info: sessionInfoSchema, messages: messagesSchema });

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

const odeSchema = z.strictObject({
  format: z.literal(EXPORT_FORMAT),
  schema_version: z.literal(EXPORT_SCHEMA_VERSION),
  // Describe the process that exported; a re-export describes its own.
  exported_at: timestamp.optional(),
  runtime: z.looseObject({}).optional(),
  info: sessionInfoSchema,
  messages: messagesSchema,
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

/** A document ready to be stored: the session, its messages, and (from ode exports) runs and title traces. */
export interface ImportDocument {
  info: SessionInfo;
  messages: MessageWithParts[];
  runs: RunRecord[];
  aborts: AbortEntry[];
  traces: TraceEntry[];
}

function invalid(path: readonly PropertyKey[], message: string): never {
  throw new ImportValidationError(`${fieldPath(path, "(document)")}: ${message}`);
}

/**
 * Validates an ode export or an opencode export (`{info, messages}`), given as the file's bytes or its text: first
 * what any JSON file must be (UTF-8, JSON, at most MAX_JSON_DEPTH deep, well-formed strings), then the store's own
 * schemas, then what the schemas cannot see: every message and part belongs to this session, no id appears twice,
 * and the diagnostics agree with the runs, messages and traces of the file. The error names the first invalid field.
 */
export function parseImport(input: string | Uint8Array): ImportDocument {
  let raw: unknown;
  try {
    let text = typeof input === "string" ? input : decodeUtf8(input);
    // The bytes are not needed once decoded, nor the text once parsed: a large file is not held three times over
    // (only while the caller keeps its own reference, as `ode import` does not).
    input = "";
    raw = parseJson(text);
    text = "";
  } catch (error) {
    if (error instanceof JsonSyntaxError) throw new ImportValidationError(`not valid JSON: ${error.message}`);
    throw error;
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) invalid([], "expected an ode or opencode session export (a JSON object)");
  const problem = checkTree(raw);
  if (problem) invalid(problem.path, problem.message);
  const odeKeys = ODE_KEYS.filter((key) => key in raw);
  if (odeKeys.length > 0 && !("format" in raw)) {
    invalid(["format"], `missing, but the document has ode's ${odeKeys.join(", ")}: refusing to read it as an opencode export and drop them`);
  }
  const doc = odeKeys.length > 0 ? fromOde(raw) : fromOpencode(raw);
  checkOwnership(doc);
  checkDiagnostics(doc);
  return doc;
}

function valid<T>(schema: z.ZodType<T>, raw: unknown): T {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  if (issue.code === "unrecognized_keys") invalid([...issue.path, issue.keys[0]!], "unknown key: ode would not keep it, so it refuses it");
  throw new ImportValidationError(firstIssue(result.error, "(document)"));
}

function fromOpencode(raw: unknown): ImportDocument {
  const { info, messages } = valid(opencodeSchema, raw);
  return { info, messages, runs: [], aborts: [], traces: [] };
}

function fromOde(raw: unknown): ImportDocument {
  const { info, messages, diagnostics } = valid(odeSchema, raw);
  const runs = diagnostics.loop.runs as RunRecord[];
  const { last } = diagnostics.loop;
  // The export writes the last run in its own order (started_at, then id) as `last`.
  const expected = [...runs].sort((a, b) => a.started_at - b.started_at || (a.run_id < b.run_id ? -1 : 1)).at(-1) ?? null;
  if (last !== undefined && !isDeepStrictEqual(last, expected)) {
    invalid(["diagnostics", "loop", "last"], `must be ${expected ? `the last run of diagnostics.loop.runs (${expected.run_id})` : "null (there are no runs)"}`);
  }
  return { info, messages, runs, aborts: diagnostics.aborts.filter((a): a is AbortEntry => a.source !== "unknown"), traces: diagnostics.title_generations };
}

function checkOwnership(doc: ImportDocument): void {
  const sessionID = doc.info.id;
  const messageIDs = new Set<string>();
  const partIDs = new Set<string>();
  doc.messages.forEach(({ info, parts }, i) => {
    if (info.sessionID !== sessionID) invalid(["messages", i, "info", "sessionID"], `${info.sessionID} is not the session's id ${sessionID}`);
    if (messageIDs.has(info.id)) invalid(["messages", i, "info", "id"], `${info.id} appears twice`);
    messageIDs.add(info.id);
    parts.forEach((part, j) => {
      const at = ["messages", i, "parts", j];
      if (part.messageID !== info.id) invalid([...at, "messageID"], `${part.messageID} is not the id of the message it is in (${info.id})`);
      if (part.sessionID !== sessionID) invalid([...at, "sessionID"], `${part.sessionID} is not the session's id ${sessionID}`);
      if (partIDs.has(part.id)) invalid([...at, "id"], `${part.id} appears twice`);
      partIDs.add(part.id);
    });
  });
  const runIDs = new Set<string>();
  let open = 0;
  doc.runs.forEach((run, i) => {
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
function checkDiagnostics(doc: ImportDocument): void {
  const runIDs = new Set(doc.runs.map((run) => run.run_id));
  const aborted = new Set<string>();
  doc.aborts.forEach((abort, i) => {
    const at = ["diagnostics", "aborts", i, "run_id"];
    if (!runIDs.has(abort.run_id)) invalid(at, `${abort.run_id} is not a run of this file (diagnostics.loop.runs)`);
    if (aborted.has(abort.run_id)) invalid(at, `${abort.run_id} has two aborts; a run is aborted once`);
    aborted.add(abort.run_id);
  });
  doc.runs.forEach((run, i) => {
    if (run.outcome === "aborted" && !aborted.has(run.run_id)) {
      invalid(["diagnostics", "loop", "runs", i, "outcome"], `aborted, but diagnostics.aborts has no abort of ${run.run_id}`);
    }
  });
  doc.messages.forEach(({ info }, i) => {
    const copy = (info as { diagnostics?: { abort?: unknown } }).diagnostics?.abort;
    if (copy === undefined) return;
    const at = ["messages", i, "info", "diagnostics", "abort"];
    const result = abortSchema.safeParse(copy);
    if (!result.success) invalid([...at, ...result.error.issues[0]!.path], result.error.issues[0]!.message);
    if (!aborted.has(result.data.run_id)) invalid([...at, "run_id"], `${result.data.run_id} has no abort in diagnostics.aborts`);
  });
}

/**
 * Within the import's transaction: the diagnostics an export of the stored rows yields must be the file's, so a
 * re-export shows what was imported. What only the export computes (`completed_after_abort`) is compared here.
 */
function checkDerived(rt: Pick<Runtime, "store" | "runs">, doc: ImportDocument): void {
  const derived = buildDiagnostics(
    doc.messages.flatMap(({ info }) => messageAbortOf(info) ?? []),
    rt.runs.rows(doc.info.id),
    rt.store.titleTraces<TitleTrace>(doc.info.id),
  );
  const byRun = new Map(derived.aborts.flatMap((abort) => ("run_id" in abort ? [[abort.run_id, abort] as const] : [])));
  doc.aborts.forEach((abort, i) => {
    const state = byRun.get(abort.run_id)?.title_generation_state;
    if (state === abort.title_generation_state) return;
    invalid(
      ["diagnostics", "aborts", i, "title_generation_state"],
      state === "completed_after_abort"
        ? `${abort.title_generation_state}, but the title generation of this turn succeeded after the abort (completed_after_abort)`
        : `${abort.title_generation_state}, but no title generation of this turn succeeded after the abort`,
    );
  });
  doc.traces.forEach((trace, i) => {
    const expected = derived.title_generations[i]!.completed_after_abort;
    if (trace.completed_after_abort !== undefined && trace.completed_after_abort !== expected) {
      invalid(["diagnostics", "title_generations", i, "completed_after_abort"], `must be ${expected}: ${expected ? "an abort of this turn was recorded before it completed" : "no abort of this turn was in flight when it completed"}`);
    }
  });
}

export interface ImportResult {
  sessionID: string;
  messages: number;
  parts: number;
  replaced: boolean;
}

/**
 * Stores the document in one transaction: all of it or, on any error, nothing. An existing session with the same
 * id is replaced only with `force`, never merged. Rows are written as they are in the document (not through the
 * store's live-update methods, which would stamp `updated` and publish events), so an export of the imported
 * session is the document again.
 */
export function importSession(
  rt: Pick<Runtime, "store" | "runs">,
  doc: ImportDocument,
  options: { force?: boolean } = {},
): ImportResult {
  const { store } = rt;
  const { info } = doc;
  const title = normalizeTitle(info.title);
  const session = { ...info, title: title || defaultTitle(new Date(info.time.created)) };
  // An imported title is someone's choice: only a default one may still be replaced by a generated title.
  const titleSource = !title || isDefaultTitle(title) ? "default" : "user";
  // The interrupt stored on a run is what was known at abort time; `completed_after_abort` is the export's reading.
  const interrupts = new Map(
    doc.aborts.map((a) => [
      a.run_id,
      a.title_generation_state === "completed_after_abort" ? { ...a, title_generation_state: "in_flight" } : a,
    ]),
  );
  let at = "info.id";
  let replaced = false;
  let parts = 0;
  try {
    store.transaction(() => {
      if (store.findSession(info.id)) {
        if (!options.force) throw new SessionExistsError(info.id);
        rt.runs.deleteSession(info.id);
        replaced = true;
      }
      store.insertSessionInfo(session, titleSource);
      doc.messages.forEach((message, i) => {
        at = `messages[${i}].info.id`;
        store.insertMessageAsIs(message.info);
        message.parts.forEach((part, j) => {
          at = `messages[${i}].parts[${j}].id`;
          store.insertPartAsIs(part);
        });
        parts += message.parts.length;
      });
      doc.runs.forEach((run, i) => {
        at = `diagnostics.loop.runs[${i}].run_id`;
        const interrupt = interrupts.get(run.run_id);
        rt.runs.insertAsIs({
          id: run.run_id,
          session_id: info.id,
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
      });
      for (const { completed_after_abort: _derived, ...stored } of doc.traces) store.insertTitleTrace(info.id, stored);
      checkDerived(rt, doc);
    });
  } catch (error) {
    if (sqliteCode(error)?.startsWith("SQLITE_CONSTRAINT")) {
      throw new ImportValidationError(`${at}: this id already belongs to another session in this data directory`);
    }
    throw error;
  }
  return { sessionID: info.id, messages: doc.messages.length, parts, replaced };
}
