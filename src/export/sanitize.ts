import type { MessageInfo, Part, SessionInfo } from "../session/schema.js";
import type { ExportDocument } from "./snapshot.js";

type Json = Record<string, unknown>;
type Sanitizer = (value: unknown, ownerID: string) => unknown;

function redacted(kind: string, id: string): string {
  return `[redacted:${kind}:${id}]`;
}

// A key that does not look like a field name may itself be data: opencode keys some tool metadata by file path.
const FIELD_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Data of unknown shape: numbers, booleans and null carry no text and stay; every string is redacted. */
function opaque(value: unknown, kind: string, id: string): unknown {
  if (typeof value === "string") return redacted(kind, id);
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((item) => opaque(item, kind, id));
  const out: Json = {};
  for (const key of Object.keys(value)) {
    if (!FIELD_NAME.test(key)) return redacted(kind, id);
    out[key] = opaque((value as Json)[key], kind, id);
  }
  return out;
}

/**
 * What may survive of an object of known shape. It is an allow-list: a field not named here goes through
 * `opaque`, so text in fields this code has never heard of (opencode's extras, newer versions) is still redacted.
 */
interface Rules {
  /** Strings that are ids, statuses, sources, phases, names of tools and models: kept as they are. */
  keep?: readonly string[];
  /** Free text or paths, replaced whole by a marker of this kind (null stays null: there was nothing). */
  redact?: Readonly<Record<string, string>>;
  nested?: Readonly<Record<string, Sanitizer>>;
  /** The kind of marker for other fields; by default the field's own name. */
  rest?: string;
}

function scrub(value: unknown, id: string, rules: Rules, kind: string): unknown {
  if (!isObject(value)) return opaque(value, kind, id);
  const out: Json = {};
  for (const key of Object.keys(value)) {
    if (!FIELD_NAME.test(key)) continue;
    const item = value[key];
    if (rules.keep?.includes(key) && (item === null || typeof item !== "object")) out[key] = item;
    else if (rules.redact && Object.hasOwn(rules.redact, key)) out[key] = item === null ? null : redacted(rules.redact[key]!, id);
    else if (rules.nested && Object.hasOwn(rules.nested, key)) out[key] = rules.nested[key]!(item, id);
    else out[key] = opaque(item, rules.rest ?? key, id);
  }
  return out;
}

const ownID = (value: unknown, field: string, fallback: string): string =>
  isObject(value) && typeof value[field] === "string" ? (value[field] as string) : fallback;

const abortRules: Rules = {
  keep: ["run_id", "message_id", "source", "mode", "via", "phase", "tool_call_id", "title_generation_state"],
  redact: { reason: "reason", error_message: "error" },
};
const abort: Sanitizer = (value, owner) => scrub(value, ownID(value, "run_id", owner), abortRules, "abort");

const traceRules: Rules = {
  keep: ["model", "user_message_id", "assistant_message_id"],
  redact: { title: "title", error_message: "error" },
};
const titleTrace: Sanitizer = (value, owner) => scrub(value, ownID(value, "user_message_id", owner), traceRules, "title-generation");

const messageIDs: Sanitizer = (ids, owner) =>
  Array.isArray(ids) && ids.every((id) => typeof id === "string" && id.startsWith("msg_")) ? ids : opaque(ids, "message-ids", owner);

const runRules: Rules = {
  keep: ["run_id", "kind", "outcome", "user_message_id", "finish"],
  redact: { attempted_input: "attempted-input" },
  nested: { assistant_message_ids: messageIDs },
};
const run: Sanitizer = (value, owner) => scrub(value, ownID(value, "run_id", owner), runRules, "run");

const errorRules: Rules = {
  keep: ["name"],
  nested: { data: (data, id) => scrub(data, id, { keep: ["providerID"], rest: "error" }, "error") },
};

const modelRef: Sanitizer = (model, id) => scrub(model, id, { keep: ["id", "providerID", "modelID", "variant"] }, "model");

const sessionRules: Rules = {
  keep: ["id", "parentID", "version", "slug", "projectID", "agent"],
  redact: { title: "title", directory: "directory" },
  nested: { model: modelRef },
};

const messageRules: Rules = {
  keep: ["id", "sessionID", "role", "parentID", "agent", "mode", "modelID", "providerID", "finish"],
  nested: {
    path: (path, id) => opaque(path, "path", id),
    model: modelRef,
    error: (error, id) => scrub(error, id, errorRules, "error"),
    diagnostics: (diagnostics, id) =>
      scrub(diagnostics, id, { nested: { abort, title_generation: titleTrace } }, "diagnostics"),
  },
};

const toolStateRules: Rules = {
  keep: ["status"],
  redact: { input: "tool-input", raw: "tool-input", output: "tool-output", title: "tool-title", error: "tool-error" },
  nested: { metadata: (metadata, id) => opaque(metadata, "tool-metadata", id) },
};

const partBase = ["id", "sessionID", "messageID", "type"];
const partRules = new Map<string, Rules>([
  ["text", { keep: partBase, redact: { text: "text" } }],
  ["reasoning", { keep: partBase, redact: { text: "reasoning" } }],
  ["tool", { keep: [...partBase, "tool", "callID"], nested: { state: (state, id) => scrub(state, id, toolStateRules, "tool-state") } }],
  ["step-finish", { keep: [...partBase, "reason"] }],
  ["file", { keep: [...partBase, "mime"], redact: { filename: "file", url: "url" } }],
]);
const otherPart: Rules = { keep: partBase };

function part(value: Part): Part {
  return scrub(value, value.id, partRules.get(value.type) ?? otherPart, "part") as Part;
}

/**
 * The export with every free-text or path value replaced by `[redacted:<kind>:<id>]`, `id` being the object that
 * owned it (part, message, run, session, or the user message of a title generation). Ids, timings, token counts,
 * statuses, sources, phases and versions stay, so the document still says who aborted, when, and during what.
 */
export function sanitizeExport(doc: ExportDocument): ExportDocument {
  const sessionID = doc.info.id;
  const runs = doc.diagnostics.loop.runs.map((r) => run(r, sessionID) as typeof r);
  return {
    ...doc,
    info: scrub(doc.info, sessionID, sessionRules, "session") as SessionInfo,
    messages: doc.messages.map((m) => ({
      info: scrub(m.info, m.info.id, messageRules, "message") as MessageInfo,
      parts: m.parts.map(part),
    })),
    diagnostics: {
      aborts: doc.diagnostics.aborts.map((a) => abort(a, sessionID) as typeof a),
      title_generations: doc.diagnostics.title_generations.map((t) => titleTrace(t, sessionID) as typeof t),
      loop: { runs, last: runs.at(-1) ?? null },
    },
  };
}
