import { z } from "zod";
import type { TitleTrace } from "../agent/title.js";
import { cancelSources, reportedTitleStates, runPhases } from "../session/abort.js";
import { runKinds, runOutcomes } from "../session/runs.js";
import { killModes } from "../shell/spawn.js";
import type { Runtime } from "../runtime.js";
import { fieldPath, firstIssue, OdeError } from "../session/errors.js";
import { sqliteCode } from "../storage/db.js";
import { messageInfoSchema, partSchema, sessionInfoSchema, type MessageWithParts, type SessionInfo } from "../session/schema.js";
import { defaultTitle, isDefaultTitle, normalizeTitle } from "../session/title.js";
import type { RunRecord } from "./diagnostics.js";
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

const opencodeSchema = z.object({ info: sessionInfoSchema, messages: messagesSchema });

const abortSchema = z.looseObject({
  recorded_at: z.number(),
  run_id: z.string(),
  source: z.enum(cancelSources),
  mode: z.enum(killModes),
  phase: z.enum(runPhases),
  via_ctx_abort: z.boolean(),
  title_generation_state: z.enum(reportedTitleStates),
});

const runSchema = z.looseObject({
  run_id: z.string().regex(/^run_/, "must start with run_"),
  kind: z.enum(runKinds),
  started_at: z.number(),
  ended_at: z.number().nullable(),
  outcome: z.enum(runOutcomes).nullable(),
  user_message_id: z.string().nullable(),
  assistant_message_ids: z.array(z.string()),
  steps: z.number().int(),
  finish: z.string().nullable(),
  attempted_input: z.string().nullable(),
  cancel_count: z.number().int(),
});

const traceSchema = z.looseObject({
  started_at: z.number(),
  completed_at: z.number().optional(),
  success: z.boolean(),
  applied: z.boolean(),
  model: z.string(),
  user_message_id: z.string(),
});

const odeSchema = z.object({
  format: z.literal(EXPORT_FORMAT),
  schema_version: z.literal(EXPORT_SCHEMA_VERSION),
  info: sessionInfoSchema,
  messages: messagesSchema,
  diagnostics: z.object({
    aborts: z.array(abortSchema),
    title_generations: z.array(traceSchema),
    loop: z.object({ runs: z.array(runSchema) }),
  }),
});

type AbortEntry = z.infer<typeof abortSchema>;

/** A document ready to be stored: the session, its messages, and (from ode exports) runs and title traces. */
export interface ImportDocument {
  info: SessionInfo;
  messages: MessageWithParts[];
  runs: RunRecord[];
  aborts: AbortEntry[];
  traces: TitleTrace[];
}

function invalid(path: readonly PropertyKey[], message: string): never {
  throw new ImportValidationError(`${fieldPath(path, "(document)")}: ${message}`);
}

/**
 * Validates an ode export (`format: "ode.session"`) or an opencode export (`{info, messages}`) with the store's
 * own schemas, then what the schemas cannot see: every message and part belongs to this session, every part to
 * the message it sits in, and no id appears twice. The error names the first invalid field.
 */
export function parseImport(text: string): ImportDocument {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ImportValidationError(`not valid JSON: ${(error as Error).message}`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) invalid([], "expected an ode or opencode session export (a JSON object)");
  const doc = "format" in raw ? fromOde(raw) : fromOpencode(raw);
  checkOwnership(doc);
  return doc;
}

function valid<T>(schema: z.ZodType<T>, raw: unknown): T {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  throw new ImportValidationError(firstIssue(result.error, "(document)"));
}

function fromOpencode(raw: unknown): ImportDocument {
  const { info, messages } = valid(opencodeSchema, raw);
  return { info, messages, runs: [], aborts: [], traces: [] };
}

function fromOde(raw: unknown): ImportDocument {
  const { info, messages, diagnostics } = valid(odeSchema, raw);
  return {
    info,
    messages,
    runs: diagnostics.loop.runs as RunRecord[],
    aborts: diagnostics.aborts,
    traces: diagnostics.title_generations as TitleTrace[],
  };
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
        });
      });
      for (const trace of doc.traces) {
        const { completed_after_abort: _derived, ...stored } = trace as TitleTrace & { completed_after_abort?: boolean };
        store.insertTitleTrace(info.id, stored);
      }
    });
  } catch (error) {
    if (sqliteCode(error)?.startsWith("SQLITE_CONSTRAINT")) {
      throw new ImportValidationError(`${at}: this id already belongs to another session in this data directory`);
    }
    throw error;
  }
  return { sessionID: info.id, messages: doc.messages.length, parts, replaced };
}
