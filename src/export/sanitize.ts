import { cancelSources, cancelVias, reportedTitleStates, runPhases } from "../session/abort.js";
import { compactionTriggers } from "../session/compaction.js";
import { runKinds, runOutcomes } from "../session/runs.js";
import { killModes } from "../shell/spawn.js";
import type { MessageInfo, MessageWithParts, Part, SessionInfo } from "../session/schema.js";
import { IMPORTED_VIA, type Diagnostics } from "./diagnostics.js";
import { EXPORT_FORMAT, EXPORT_SCHEMA_VERSION, type ExportDocument, type RuntimeInfo } from "./snapshot.js";

/*
 * `--sanitize` keeps a string only when a strict check for its kind says it cannot carry anyone's text: ids in the
 * shape ode and opencode generate, values of a closed set (statuses, sources, phases, finish reasons, error names,
 * built-in tool and agent names, ...), versions. Every other string, in a known field or not, is replaced by
 * `[redacted:<kind>:<id>]`. What each kind of field becomes, and why:
 *
 * - ids (session, message, part, run): kept when in the generated shape, `<prefix>_` + 12 hex digits (time) + 14
 *   base62 characters; ode's and opencode's ids are both so (the 14 characters are random, so an id in this shape
 *   holds at most 14 letters or digits of anything else). An id of another shape (import only checks the prefix)
 *   becomes a pseudonym `<prefix>_000000000000redacted<n>` (n in base62, counted per prefix in document order),
 *   the same one wherever that id appears, so references still resolve and the document still imports; a marker
 *   cannot stand in for an id, import requires the prefix and unique ids. (Pseudonyms sort before generated ids,
 *   so a document mixing both may list messages in another order once re-imported.)
 * - tool call ids (`callID`, an abort's `tool_call_id`): written by the model provider, so any text. Always
 *   replaced by `call:<part id>` of the tool part holding the call; an abort's `tool_call_id` maps to the same
 *   pseudonym (looked up in the aborted message's tool parts), or to a `tool-call` marker when no part has it.
 * - model ids: chosen by whoever configured the provider (fine-tune and deployment names carry organisation and
 *   project names), and no pattern tells a public model name from private text (`gpt-<secret>`), so every model
 *   id is redacted. The marker names the first object in the document that names the model (`:<n>` after the id
 *   when that object already owns one for another model) and is reused for every later use of the same id: the
 *   document still tells whether two messages used the same model. `runtime.models` (`provider/model` pairs of the
 *   same values) comes first, so the models it lists carry the session's markers, and the first message carrying
 *   one is the first that used the model. ode's own `user/shell` pair (the assistant side of a prompt-shell run)
 *   stays.
 * - provider ids: ode's are config keys the user named; kept only when one of the public providers' well-known
 *   ids below, else redacted like model ids.
 * - agent and assistant `mode`: kept when a built-in agent's name; `slug` (opencode's generated words): always
 *   redacted; `projectID`: kept only as opencode's "global" (else a repository's root commit).
 * - versions (`version`, `runtime.app_version`): semver with an optional well-known pre-release tag, or `local`.
 * - tool names: kept when one of ode's or opencode's built-in tools (an MCP or invented tool name is data).
 * - closed sets: role, part type, tool status, finish reasons, error names (opencode's and ode's), abort source,
 *   mode, phase and title generation state, run kind and outcome, model variant, file mime type.
 * - abort `via`: kept when one of the paths ode writes (`SIGINT`, `SIGTERM`, `cli`, `esc`, `ctrl-c`, `timeout`,
 *   `POST /session/:id/abort`, `imported-message`).
 * - tool input: the marker is wrapped in an object, `{redacted: "[redacted:tool-input:<id>]"}`, as opencode's own
 *   sanitizer does, because opencode's importer requires an object there.
 * - `runtime`: describes the machine running `ode export` (import never stores it), not the session. Platform,
 *   arch and channel from closed sets, time zone when the time zone database knows it, Node version and locale by
 *   strict pattern, `os_release` when in a kernel release's shape (numbers, then at most six short alphanumeric
 *   words: a distribution's flavour, or a custom kernel's local version, which is kept). `instructions` (paths of
 *   the AGENTS.md / CLAUDE.md files used, also on each user message) are paths: each one is redacted.
 * - field names are strings too: only names from a fixed vocabulary are written. An unknown field of an object of
 *   known shape is dropped; an object of unknown shape with any unknown key (opencode keys some tool metadata by
 *   file path, and user messages' `tools` by tool name) is redacted whole.
 */

type Json = Record<string, unknown>;
type IdPrefix = "ses" | "msg" | "prt" | "run";
/** The kinds of id other objects refer to. */
type RefPrefix = Exclude<IdPrefix, "prt">;
/** Sanitizes one field's value; `owner` is the sanitized id of the object holding it, `parent` that object as is. */
type Field = (value: unknown, owner: string, ctx: Context, parent: Json) => unknown;

function redacted(kind: string, id: string): string {
  return `[redacted:${kind}:${id}]`;
}

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * `^<prefix>_[0-9a-f]{12}[0-9A-Za-z]{14}$`, the shape ode's `newId` and opencode give ids; written out because it
 * runs for every id and a regular expression costs several times more.
 */
function generatedID(value: string, prefix: IdPrefix): boolean {
  if (value.length !== 30 || value.charCodeAt(3) !== 95 || !value.startsWith(prefix)) return false;
  for (let i = 4; i < 16; i++) {
    const c = value.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  for (let i = 16; i < 30; i++) {
    const c = value.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122))) return false;
  }
  return true;
}

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** Fixed-width base62 in the order of `BASE62`, which is also ASCII order, so pseudonyms sort as they were made. */
function base62(n: number, width: number): string {
  let out = "";
  for (let i = 0; i < width; i++, n = Math.floor(n / 62)) out = BASE62[n % 62] + out;
  return out;
}

// Built-in tools: ode's, then opencode's.
const TOOL_NAMES = [
  "bash", "read", "write", "edit", "glob", "grep", "list",
  "task", "todowrite", "todoread", "webfetch", "websearch", "codesearch", "patch", "multiedit", "apply_patch",
  "batch", "skill", "lsp", "lsp_diagnostics", "lsp_hover", "invalid", "question", "plan_enter", "plan_exit",
];
const AGENTS = ["build", "plan", "general", "explore", "shell", "compaction", "title", "summary"];
const PROVIDERS = new Set([
  "openai", "anthropic", "google", "google-vertex", "google-vertex-anthropic", "azure", "amazon-bedrock", "openrouter",
  "groq", "mistral", "xai", "deepseek", "togetherai", "fireworks-ai", "cerebras", "github-copilot", "opencode",
  "ollama", "lmstudio",
]);
const FINISH_REASONS = ["stop", "length", "content-filter", "tool-calls", "error", "other", "unknown"];
const ERROR_NAMES = [
  // opencode's message errors (ode writes the first four).
  "MessageAbortedError", "APIError", "ProviderAuthError", "UnknownError", "MessageOutputLengthError",
  "ContextOverflowError", "StructuredOutputError",
  // ode's named errors.
  "SessionNotFoundError", "SessionBusyError", "ConfigError", "InvalidInputError", "ToolError", "ToolInterruptedError",
  "ImportValidationError", "SessionExistsError", "RemoteError", "ServerClosingError", "NotFoundError", "UnauthorizedError",
];
const PART_TYPES = [
  "text", "reasoning", "tool", "step-start", "step-finish", "file", "patch", "snapshot", "agent", "subtask", "retry", "compaction",
];
const MIME_TYPES = [
  "text/plain", "text/markdown", "text/html", "text/css", "text/csv", "text/xml", "text/javascript", "text/x-python",
  "text/x-typescript", "application/json", "application/pdf", "application/xml", "application/javascript",
  "application/typescript", "application/octet-stream", "application/zip", "application/x-directory", "image/png",
  "image/jpeg", "image/gif", "image/webp", "image/svg+xml", "image/bmp",
];
/** Whether an error name is one of the known, text-free names (opencode's and ode's), kept by sanitize. */
export function isKnownErrorName(name: unknown): boolean {
  return typeof name === "string" && ERROR_NAMES.includes(name);
}
const VARIANTS = ["default", "none", "minimal", "low", "medium", "high", "xhigh", "max"];
const CHANNELS = ["latest", "local", "next", "beta", "alpha", "rc", "dev", "preview", "nightly"];
const PLATFORMS = ["aix", "android", "darwin", "freebsd", "haiku", "linux", "openbsd", "netbsd", "sunos", "win32", "cygwin"];
const ARCHS = ["arm", "arm64", "ia32", "loong64", "mips", "mipsel", "ppc", "ppc64", "riscv64", "s390", "s390x", "x64"];
const VERSION = /^\d{1,6}\.\d{1,6}\.\d{1,6}(-(alpha|beta|rc|next|dev|preview|nightly)([.-]?\d{1,14})*)?$/;

/** Every field name a sanitized export may contain. */
const KNOWN_KEYS = new Set([
  ...TOOL_NAMES,
  // export document and runtime
  "format", "schema_version", "exported_at", "runtime", "app_version", "channel", "platform", "arch", "node_version",
  "os_release", "locale", "timezone", "models", "stats", "messages", "parts", "tool_calls", "runs", "aborts", "info",
  "diagnostics", "title_generations", "loop", "last", "instructions",
  // sessions
  "id", "slug", "projectID", "workspaceID", "directory", "path", "parentID", "title", "agent", "model", "variant",
  "version", "summary", "additions", "deletions", "files", "diffs", "cost", "tokens", "total", "input", "output",
  "reasoning", "cache", "permission", "pattern", "action", "share", "url", "revert", "messageID", "partID", "snapshot",
  "diff", "time", "created", "updated", "completed", "compacting", "archived", "initialized",
  // messages
  "sessionID", "role", "system", "tools", "mode", "modelID", "providerID", "finish", "error", "name", "data", "message",
  "statusCode", "isRetryable", "responseBody", "responseHeaders", "metadata", "cwd", "root", "file", "before", "after",
  "status", "body", "structured", "abort", "title_generation",
  // parts, tool states and tool metadata
  "type", "text", "synthetic", "ignored", "start", "end", "tool", "callID", "state", "raw", "attachments", "mime",
  "filename", "source", "value", "hash", "prompt", "description", "command", "attempt", "auto", "reason", "range",
  "kind", "uri", "clientName", "line", "character", "exit", "truncated", "interrupted", "timedOut", "outputPath",
  "replacements", "count", "matches", "offset", "lines", "more", "bytes", "filepath", "exists", "preview", "loaded",
  "filediff", "todos", "sessionId",
  // aborts, title traces and runs
  "recorded_at", "run_id", "message_id", "via", "via_ctx_abort", "phase", "tool_call_id", "error_message",
  "title_generation_state", "started_at", "completed_at", "success", "applied", "skipped", "user_message_id",
  "assistant_message_id", "completed_after_abort", "ended_at", "outcome", "assistant_message_ids", "steps",
  "attempted_input", "cancel_count", "trace_id",
  // compactions (the marker part's `auto` is above)
  "compactions", "compaction", "overflow", "tail_start_id", "trigger", "tokens_before", "tokens_after", "budget",
]);

/** What one sanitization has handed out, so each private value gets the same stand-in wherever it appears. */
class Context {
  // Only ids not in the generated shape are kept here, keyed by the value itself (no composed keys): this runs
  // for every id field of every message and part.
  private readonly ids: Record<RefPrefix, Map<string, string>> = { ses: new Map(), msg: new Map(), run: new Map() };
  private readonly counts: Record<IdPrefix, number> = { ses: 0, msg: 0, prt: 0, run: 0 };
  private readonly names = { model: new Map<string, string>(), provider: new Map<string, string>() };
  private readonly markers = new Set<string>();
  /** The tool call ids aborts name, and the tool parts found holding them: [message id, pseudonym]. */
  private readonly calls = new Map<string, Array<[unknown, string]>>();
  /** The last id asked for and its answer, per prefix: parts name the same session and message one after another. */
  private readonly last: Record<RefPrefix, { value?: string; out: string }> = { ses: { out: "" }, msg: { out: "" }, run: { out: "" } };

  private pseudonym(prefix: IdPrefix): string {
    return `${prefix}_000000000000redacted${base62(++this.counts[prefix], 6)}`;
  }

  /** A session, message or run id, wherever it appears. */
  id(prefix: RefPrefix, value: string): string {
    const last = this.last[prefix];
    if (value === last.value) return last.out;
    const ids = this.ids[prefix];
    let out = ids.get(value);
    if (out === undefined) {
      if (generatedID(value, prefix)) out = value;
      else ids.set(value, (out = this.pseudonym(prefix)));
    }
    last.value = value;
    last.out = out;
    return out;
  }

  /** A part's own id: nothing else in a document refers to a part by id, so it is needed once, in order. */
  partID(value: string): string {
    return generatedID(value, "prt") ? value : this.pseudonym("prt");
  }

  /**
   * The marker of a model or provider name: the first object that used it owns it. A second name first used by the
   * same object (a title model beside the turn's model) gets `:2` after the id, so distinct names never share one.
   */
  name(kind: "model" | "provider", value: string, owner: string): string {
    const names = this.names[kind];
    let marker = names.get(value);
    if (marker === undefined) {
      marker = redacted(kind, owner);
      for (let n = 2; this.markers.has(marker); n++) marker = redacted(kind, `${owner}:${n}`);
      names.set(value, marker);
      this.markers.add(marker);
    }
    return marker;
  }

  provider(value: string, owner: string): string {
    return PROVIDERS.has(value) ? value : this.name("provider", value, owner);
  }

  model(providerID: unknown, modelID: string, owner: string): string {
    return providerID === "user" && modelID === "shell" ? modelID : this.name("model", modelID, owner);
  }

  /** `provider/model`, as in `runtime.models` and title traces. */
  modelPath(value: string, owner: string): string {
    const slash = value.indexOf("/");
    if (slash < 0) return this.model(undefined, value, owner);
    const providerID = value.slice(0, slash);
    return `${this.provider(providerID, owner)}/${this.model(providerID, value.slice(slash + 1), owner)}`;
  }

  /** Remembers a tool call id an abort names (before any part is sanitized), to be looked up by `toolCall`. */
  wantCall(callID: unknown): void {
    if (typeof callID === "string" && !this.calls.has(callID)) this.calls.set(callID, []);
  }

  /** The pseudonym of a tool part's call id: its part's id. */
  callID(messageID: unknown, callID: string, partID: string): string {
    const pseudonym = `call:${partID}`;
    this.calls.get(callID)?.push([messageID, pseudonym]);
    return pseudonym;
  }

  /** An abort's tool call: the pseudonym of the part holding it, in the aborted message if there is one. */
  toolCall(messageID: unknown, callID: string, owner: string): string {
    const found = this.calls.get(callID) ?? [];
    return (found.find(([inMessage]) => inMessage === messageID) ?? found[0])?.[1] ?? redacted("tool-call", owner);
  }
}

/** Data of unknown shape: numbers, booleans and null carry no text and stay; every string is redacted. */
function opaque(value: unknown, kind: string, id: string): unknown {
  if (typeof value === "string") return redacted(kind, id);
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((item) => opaque(item, kind, id));
  const out: Json = {};
  for (const key of Object.keys(value)) {
    // A key that is not a known field name may itself be data: a file path, a tool or model name.
    if (!KNOWN_KEYS.has(key)) return redacted(kind, id);
    out[key] = opaque((value as Json)[key], kind, id);
  }
  return out;
}

/**
 * What may survive of an object of known shape. It is an allow-list: a field not named here goes through `opaque`
 * (marker kind `rest`, by default the field's own name), so text in fields this code has never heard of is still
 * redacted; a field whose name is not in the vocabulary is left out.
 */
interface Rules {
  /** Without a prototype, so any key can be looked up directly. */
  fields: Readonly<Record<string, Field | undefined>>;
  rest?: string;
}

function rules(fields: Record<string, Field> = {}, rest?: string): Rules {
  return { fields: Object.assign(Object.create(null) as Record<string, Field>, fields), rest };
}

function scrub(value: unknown, owner: string, rules: Rules, kind: string, ctx: Context): unknown {
  if (!isObject(value)) return opaque(value, kind, owner);
  const out: Json = {};
  for (const key of Object.keys(value)) {
    const field = rules.fields[key];
    if (field !== undefined) out[key] = field(value[key], owner, ctx, value);
    else if (KNOWN_KEYS.has(key)) out[key] = opaque(value[key], rules.rest ?? key, owner);
  }
  return out;
}

/** A string kept when `test` passes and redacted as `kind` otherwise. */
const checked =
  (kind: string, test: (value: string) => boolean): Field =>
  (value, owner) =>
    typeof value === "string" ? (test(value) ? value : redacted(kind, owner)) : opaque(value, kind, owner);

const oneOf = (kind: string, values: readonly string[]): Field => {
  const set = new Set(values);
  return checked(kind, (value) => set.has(value));
};

/** Free text or a path, replaced whole (null stays null: there was nothing). */
const redact =
  (kind: string): Field =>
  (value, owner) =>
    value === null ? null : redacted(kind, owner);

const id =
  (prefix: RefPrefix): Field =>
  (value, owner, ctx) =>
    typeof value === "string" ? ctx.id(prefix, value) : opaque(value, "id", owner);

/** An object's own id field: the owner is already its sanitized value. */
const ownIDField: Field = (value, owner) => (typeof value === "string" ? owner : opaque(value, "id", owner));

const messageIDs: Field = (ids, owner, ctx) =>
  Array.isArray(ids) ? ids.map((item) => (typeof item === "string" ? ctx.id("msg", item) : opaque(item, "id", owner))) : opaque(ids, "id", owner);

const nested =
  (rules: Rules, kind: string): Field =>
  (value, owner, ctx) =>
    scrub(value, owner, rules, kind, ctx);

const providerID: Field = (value, owner, ctx) => (typeof value === "string" ? ctx.provider(value, owner) : opaque(value, "provider", owner));
const modelID: Field = (value, owner, ctx, parent) =>
  typeof value === "string" ? ctx.model(parent.providerID, value, owner) : opaque(value, "model", owner);
const modelPath: Field = (value, owner, ctx) => (typeof value === "string" ? ctx.modelPath(value, owner) : opaque(value, "model", owner));

const agent = oneOf("agent", AGENTS);
const finish = oneOf("finish", FINISH_REASONS);

const toolCallID: Field = (value, owner, ctx, parent) =>
  typeof value === "string" ? ctx.toolCall(parent.message_id, value, owner) : opaque(value, "tool-call", owner);

const abortRules = rules({
  run_id: id("run"),
  message_id: id("msg"),
  source: oneOf("source", [...cancelSources, "unknown"]),
  mode: oneOf("mode", killModes),
  via: oneOf("via", [...cancelVias, IMPORTED_VIA]),
  phase: oneOf("phase", runPhases),
  tool_call_id: toolCallID,
  title_generation_state: oneOf("title-generation-state", reportedTitleStates),
  reason: redact("reason"),
  error_message: redact("error"),
});

/** The sanitized id of an object's own id field, or `fallback` when it has none. */
function ownID(value: unknown, field: string, prefix: RefPrefix, fallback: string, ctx: Context): string {
  return isObject(value) && typeof value[field] === "string" ? ctx.id(prefix, value[field] as string) : fallback;
}

// An abort derived from an imported message has no run: it is owned by that message, like the error it copies.
const abort: Field = (value, owner, ctx) =>
  scrub(value, ownID(value, "run_id", "run", ownID(value, "message_id", "msg", owner, ctx), ctx), abortRules, "abort", ctx);

const traceRules = rules({
  model: modelPath,
  user_message_id: id("msg"),
  assistant_message_id: id("msg"),
  title: redact("title"),
  error_message: redact("error"),
});
const titleTrace: Field = (value, owner, ctx) =>
  scrub(value, ownID(value, "user_message_id", "msg", owner, ctx), traceRules, "title-generation", ctx);

const compactionRules = rules({
  run_id: id("run"),
  message_id: id("msg"),
  tail_start_id: id("msg"),
  trigger: oneOf("trigger", compactionTriggers),
  error_message: redact("error"),
});
const compaction: Field = (value, owner, ctx) =>
  scrub(value, ownID(value, "message_id", "msg", owner, ctx), compactionRules, "compaction", ctx);

const runRules = rules({
  run_id: id("run"),
  kind: oneOf("kind", runKinds),
  outcome: oneOf("outcome", runOutcomes),
  user_message_id: id("msg"),
  assistant_message_ids: messageIDs,
  finish,
  attempted_input: redact("attempted-input"),
  trace_id: checked("trace-id", (value) => /^[0-9a-f]{32}$/.test(value)),
});
const run: Field = (value, owner, ctx) => scrub(value, ownID(value, "run_id", "run", owner, ctx), runRules, "run", ctx);

const errorRules = rules({
  name: oneOf("error-name", ERROR_NAMES),
  data: nested(rules({ providerID }, "error"), "error"),
});

/** A user message's `model` (providerID, modelID) or a session's (id, providerID, variant). */
const modelRef = nested(rules({ id: modelID, providerID, modelID, variant: oneOf("variant", VARIANTS) }), "model");

const version = checked("version", (value) => value === "local" || VERSION.test(value));

const sessionRules = rules({
  id: ownIDField,
  parentID: id("ses"),
  version,
  slug: redact("slug"),
  projectID: checked("project", (value) => value === "global"),
  agent,
  title: redact("title"),
  directory: redact("directory"),
  model: modelRef,
});

const messageRules = rules({
  id: ownIDField,
  sessionID: id("ses"),
  role: oneOf("role", ["user", "assistant"]),
  parentID: id("msg"),
  agent,
  mode: oneOf("mode", AGENTS),
  modelID,
  providerID,
  finish,
  model: modelRef,
  error: nested(errorRules, "error"),
  diagnostics: nested(rules({ abort, title_generation: titleTrace, compaction }), "diagnostics"),
});

const toolStateRules = rules({
  status: oneOf("status", ["pending", "running", "completed", "error"]),
  // opencode's importer requires an object here, so the marker is wrapped as opencode's own sanitizer does.
  input: (value, owner) => (value === null ? null : { redacted: redacted("tool-input", owner) }),
  raw: redact("tool-input"),
  output: redact("tool-output"),
  title: redact("tool-title"),
  error: redact("tool-error"),
  // A record the import requires to stay an object: unknown keys are dropped rather than the whole redacted.
  metadata: nested(rules({}, "tool-metadata"), "tool-metadata"),
});

const toolCall: Field = (value, owner, ctx, parent) =>
  typeof value === "string" ? ctx.callID(parent.messageID, value, owner) : opaque(value, "tool-call", owner);

const partBase: Record<string, Field> = { id: ownIDField, sessionID: id("ses"), messageID: id("msg"), type: oneOf("type", PART_TYPES) };
const partRules = new Map<string, Rules>([
  ["text", rules({ ...partBase, text: redact("text") })],
  ["reasoning", rules({ ...partBase, text: redact("reasoning") })],
  ["tool", rules({ ...partBase, tool: oneOf("tool", TOOL_NAMES), callID: toolCall, state: nested(toolStateRules, "tool-state") })],
  ["step-finish", rules({ ...partBase, reason: finish })],
  ["file", rules({ ...partBase, mime: oneOf("mime", MIME_TYPES), filename: redact("file"), url: redact("url") })],
  ["subtask", rules({ ...partBase, agent, model: modelRef })],
  ["agent", rules({ ...partBase, name: agent })],
  ["retry", rules({ ...partBase, error: nested(errorRules, "error") })],
  // opencode's marker of a compaction: flags and the first message kept (the summary itself is a text part).
  ["compaction", rules({ ...partBase, tail_start_id: id("msg") })],
]);
const otherPart = rules(partBase);

function part(value: Part, ctx: Context): Part {
  const owner = ctx.partID(value.id);
  return scrub(value, owner, partRules.get(value.type) ?? otherPart, "part", ctx) as Part;
}

/** A name the runtime's time zone database knows (canonical or alias); anything else throws. */
function knownTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

// `6.8.0-1021-azure`, `6.6.87.2-microsoft-standard-WSL2`, `23.1.0`, `10.0.22631`: numbers, then a few short words.
const OS_RELEASE = /^\d{1,5}(\.\d{1,6}){1,3}([-+._~][0-9A-Za-z]{1,16}){0,6}$/;
// Language, script, region, and the few Unicode extensions a resolved date format can carry.
const LOCALE = /^[a-z]{2,3}(-[A-Z][a-z]{3})?(-([A-Z]{2}|\d{3}))?(-u(-(ca|nu|hc|co|kf|kn)-[a-z0-9]{2,8})+)?$/;

const runtimeRules = rules({
  app_version: version,
  channel: oneOf("channel", CHANNELS),
  platform: oneOf("platform", PLATFORMS),
  arch: oneOf("arch", ARCHS),
  node_version: checked("node-version", (value) => /^v\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(value)),
  os_release: checked("os-release", (value) => value.length <= 64 && OS_RELEASE.test(value)),
  locale: checked("locale", (value) => LOCALE.test(value)),
  timezone: checked("timezone", knownTimeZone),
  models: (value, owner, ctx) =>
    Array.isArray(value) ? value.map((item) => modelPath(item, owner, ctx, {})) : opaque(value, "model", owner),
  stats: (value, owner) => opaque(value, "stats", owner),
  // Paths of the user's instruction files: every one redacted, the count kept.
  instructions: (value, owner) => opaque(value, "instructions", owner),
});

/**
 * Sanitizes one document a piece at a time, in document order, so a document written message by message is
 * sanitized as it passes. The calls must come in this order: `expect` for every message and `expectAborts`, then
 * the document's own order, `runtime`, `session`, `message` for each message, `diagnostics`; what one call hands
 * out (pseudonyms, markers) the later ones reuse. The state kept is what must be consistent across the document:
 * the pseudonyms of ids not in the generated shape, model and provider markers, and the tool call ids aborts name.
 */
export class ExportSanitizer {
  private readonly ctx = new Context();
  private readonly sessionID: string;

  constructor(sessionID: string) {
    this.sessionID = this.ctx.id("ses", sessionID);
  }

  /**
   * A message of the document, before any is sanitized: message ids get their pseudonyms in document order, so
   * they sort as the ids they replace did (the store lists by id; parts are pseudonymised in document order
   * anyway), and the tool call its abort names is looked for in the parts.
   */
  expect(info: Pick<MessageInfo, "id" | "diagnostics">): void {
    this.ctx.id("msg", info.id);
    this.ctx.wantCall((info as { diagnostics?: { abort?: { tool_call_id?: unknown } } }).diagnostics?.abort?.tool_call_id);
  }

  expectAborts(aborts: Diagnostics["aborts"]): void {
    for (const a of aborts) if ("tool_call_id" in a) this.ctx.wantCall(a.tool_call_id);
  }

  session(info: SessionInfo): SessionInfo {
    return scrub(info, this.sessionID, sessionRules, "session", this.ctx) as SessionInfo;
  }

  message(m: MessageWithParts): MessageWithParts {
    // Parts first: the message's abort diagnostic names a tool call of one of them.
    const parts = m.parts.map((p) => part(p, this.ctx));
    return { info: scrub(m.info, this.ctx.id("msg", m.info.id), messageRules, "message", this.ctx) as MessageInfo, parts };
  }

  diagnostics(d: Diagnostics): Diagnostics {
    const { sessionID, ctx } = this;
    const aborts = d.aborts.map((a) => abort(a, sessionID, ctx, {}) as typeof a);
    const titleGenerations = d.title_generations.map((t) => titleTrace(t, sessionID, ctx, {}) as typeof t);
    const runs = d.loop.runs.map((r) => run(r, sessionID, ctx, {}) as typeof r);
    const compactions = (d.compactions ?? []).map((c) => compaction(c, sessionID, ctx, {}) as typeof c);
    return { aborts, title_generations: titleGenerations, compactions, loop: { runs, last: runs.at(-1) ?? null } };
  }

  /** First: the models it lists get the session as owner, whoever names them later. */
  runtime(r: RuntimeInfo): RuntimeInfo {
    return scrub(r, this.sessionID, runtimeRules, "runtime", this.ctx) as RuntimeInfo;
  }
}

/**
 * The export with every free-text or path value replaced by `[redacted:<kind>:<id>]`, `id` being the object that
 * owned it (part, message, run, session, or the user message of a title generation), and every other string kept
 * only when it passes the check for its kind (see the top of this file). Ids, timings, token counts, statuses,
 * sources, phases and versions stay, so the document still says who aborted, when, and during what.
 */
export function sanitizeExport(doc: ExportDocument): ExportDocument {
  const sanitizer = new ExportSanitizer(doc.info.id);
  for (const m of doc.messages) sanitizer.expect(m.info);
  sanitizer.expectAborts(doc.diagnostics.aborts);
  return {
    format: EXPORT_FORMAT,
    schema_version: EXPORT_SCHEMA_VERSION,
    exported_at: typeof doc.exported_at === "number" ? doc.exported_at : 0,
    runtime: sanitizer.runtime(doc.runtime),
    info: sanitizer.session(doc.info),
    messages: doc.messages.map((m) => sanitizer.message(m)),
    diagnostics: sanitizer.diagnostics(doc.diagnostics),
  };
}
