// The canary documents of the sanitize tests, shared with every report built from a sanitized export.
import { importSession, parseImport, type ImportDocument } from "../../src/export/import.js";
import { buildExport, type ExportDocument } from "../../src/export/snapshot.js";
import { Runs } from "../../src/session/runs.js";
import { makeProject } from "../support/ode.js";
import { withStore } from "./support.js";

/** Distinct canary strings; `key` makes one that is a valid field name, for keys that are data. */
export class Canaries {
  readonly all: string[] = [];
  c(name: string): string {
    const canary = `canary-${name}-${this.all.length}`;
    this.all.push(canary);
    return canary;
  }
  key(name: string): string {
    const canary = `canary_${name}_${this.all.length}`;
    this.all.push(canary);
    return canary;
  }
}

export interface Ids {
  S: string;
  parent: string;
  U: string;
  A: string;
  A2: string;
  R: string;
  R2: string;
  part: (n: number) => string;
}

/** Ids in the shape ode and opencode generate: `<prefix>_` + 12 hex digits + 14 base62 characters. */
export const GENERATED: Ids = {
  S: "ses_20f58dc95000sanitizeTest01",
  parent: "ses_20f58dc94fffsanitizePrnt01",
  U: "msg_20f58dc95001sanitizeUser01",
  A: "msg_20f58dc95002sanitizeAsst01",
  A2: "msg_20f58dc95003sanitizeAsst02",
  R: "run_20f58dc95000sanitizeRun001",
  R2: "run_20f58dc95009sanitizeRun002",
  part: (n) => `prt_20f58dc950${String(n).padStart(2, "0")}sanitizePart00`,
};

/** Ids that pass import (the prefix is all it checks) and carry a canary. */
export function canaryIds(k: Canaries): Ids {
  const parts = new Map<number, string>();
  return {
    S: `ses_${k.c("session-id")}`,
    parent: `ses_${k.c("parent-session-id")}`,
    U: `msg_${k.c("user-id")}`,
    A: `msg_${k.c("assistant-id")}`,
    A2: `msg_${k.c("assistant2-id")}`,
    R: `run_${k.c("run-id")}`,
    R2: `run_${k.c("run2-id")}`,
    part: (n) => {
      if (!parts.has(n)) parts.set(n, `prt_${k.c(`part${n}-id`)}`);
      return parts.get(n)!;
    },
  };
}

/**
 * Every place a session can carry text, including opencode's extras, fields no version of ode writes, keys that
 * are themselves data, and a canary in every field whose value a sanitized export may keep (ids, names, enums,
 * versions): those must pass their check or be redacted too.
 */
export function richExport(k: Canaries, ids: Ids) {
  const { S, U, A, A2, R, R2 } = ids;
  const c = k.c.bind(k);
  const part = (n: number, messageID: string, fields: object) => ({ id: ids.part(n), sessionID: S, messageID, ...fields });
  const userProvider = c("user-provider");
  const userModel = c("user-model");
  const callID = `call_${c("call-id")}`;
  const abort = (reason: string, error: string, via: string) => ({
    recorded_at: 1795553812700,
    run_id: R,
    message_id: A,
    source: "api",
    mode: "soft",
    via,
    via_ctx_abort: true,
    phase: "tool",
    tool_call_id: callID,
    reason,
    error_message: error,
    title_generation_state: "in_flight",
  });
  const trace = (title: string, error: string, model: string) => ({
    started_at: 1795553811700,
    completed_at: 1795553812900,
    success: true,
    applied: true,
    title,
    error_message: error,
    model,
    user_message_id: U,
    assistant_message_id: A,
  });
  const tokens = { input: 10, output: 5, reasoning: 0, cache: { read: 0, write: 0 } };
  return {
    format: "ode.session",
    schema_version: 1,
    info: {
      id: S,
      parentID: ids.parent,
      slug: c("slug"),
      projectID: c("project"),
      agent: c("session-agent"),
      model: { id: c("session-model"), providerID: c("session-provider"), variant: c("variant") },
      directory: `/home/${c("dir")}/project`,
      title: c("title"),
      version: `0.1.0-${c("version")}`,
      time: { created: 1795553811600, updated: 1795553815000 },
      share: { url: c("share-url") },
      permission: [{ permission: "bash", pattern: c("permission-pattern"), action: "allow" }],
      [`/home/${k.c("key-as-path")}`]: c("weird-key-value"),
      [k.key("key_as_field_name")]: 1,
    },
    messages: [
      {
        info: {
          id: U,
          sessionID: S,
          role: "user",
          time: { created: 1795553811605 },
          agent: c("user-agent"),
          model: { providerID: userProvider, modelID: userModel },
          tools: { bash: true, [k.key("tool_key")]: false },
          system: c("system-prompt"),
          summary: { title: c("summary-title"), diffs: [{ file: c("diff-file"), patch: c("diff-patch"), additions: 3, deletions: 1 }] },
        },
        parts: [
          part(1, U, { type: "text", text: c("prompt"), synthetic: false }),
          part(2, U, {
            type: "file",
            mime: "text/plain",
            filename: c("filename"),
            url: `file:///home/${c("url")}`,
            source: { type: "file", path: c("source-path"), text: { value: c("source-text"), start: 0, end: 9 } },
          }),
          part(12, U, { type: "file", mime: `text/${c("mime")}`, url: "data:," }),
        ],
      },
      {
        info: {
          id: A,
          sessionID: S,
          role: "assistant",
          parentID: U,
          agent: c("assistant-agent"),
          mode: c("mode"),
          time: { created: 1795553811700, completed: 1795553812800 },
          modelID: userModel,
          providerID: userProvider,
          finish: "tool-calls",
          path: { cwd: c("cwd"), root: c("root") },
          tokens,
          cost: 0,
          error: {
            name: "APIError",
            data: {
              message: c("api-error"),
              statusCode: 502,
              isRetryable: true,
              providerID: c("error-provider"),
              responseBody: c("response-body"),
              responseHeaders: { "x-request-id": c("header") },
            },
          },
          diagnostics: {
            abort: abort(c("message-abort-reason"), c("message-abort-error"), c("message-via")),
            title_generation: trace(c("message-trace-title"), c("message-trace-error"), `${userProvider}/${userModel}`),
            note: { text: c("diagnostics-note") },
          },
        },
        parts: [
          part(3, A, { type: "step-start", snapshot: c("snapshot") }),
          part(4, A, { type: "reasoning", text: c("reasoning"), time: { start: 1, end: 2 } }),
          part(5, A, {
            type: "tool",
            tool: "bash",
            callID: "call_1",
            state: {
              status: "completed",
              input: { command: c("command"), [c("input-key")]: 1 },
              output: c("output"),
              title: c("tool-title"),
              metadata: {
                output: c("metadata-output"),
                outputPath: `/data/tool-output/${c("output-path")}`,
                exit: 0,
                truncated: true,
                diagnostics: { [`/home/${c("metadata-key")}.ts`]: [{ message: c("lsp-message") }] },
                [k.key("metadata_key")]: true,
              },
              time: { start: 3, end: 4 },
            },
          }),
          part(6, A, {
            type: "tool",
            tool: c("tool-name"),
            callID,
            state: {
              status: "error",
              input: { filePath: c("error-input-path") },
              error: c("tool-error"),
              metadata: { interrupted: true, output: c("partial-output") },
              time: { start: 5, end: 6 },
            },
          }),
          part(7, A, { type: "tool", tool: "grep", callID: `call_${c("pending-call-id")}`, state: { status: "pending", input: {}, raw: c("raw-input") } }),
          part(8, A, { type: "tool", tool: "read", callID: "call_4", state: { status: "running", input: { p: c("running-input") }, title: c("running-title"), time: { start: 7 } } }),
          part(9, A, { type: "patch", hash: c("hash"), files: [c("patch-file")] }),
          part(10, A, {
            type: "subtask",
            prompt: c("subtask-prompt"),
            description: c("subtask-description"),
            agent: c("subtask-agent"),
            model: { providerID: c("subtask-provider"), modelID: c("subtask-model") },
          }),
          part(11, A, { type: "step-finish", reason: "tool-calls", tokens, cost: 0 }),
          part(13, A, { type: "agent", name: c("agent-part-name") }),
          part(14, A, { type: "retry", attempt: 1, error: { name: c("retry-error-name"), data: { message: c("retry-error") } }, time: { created: 1 } }),
        ],
      },
      {
        info: {
          id: A2,
          sessionID: S,
          role: "assistant",
          parentID: U,
          mode: "build",
          time: { created: 1795553812801, completed: 1795553812802 },
          modelID: c("openai-model"),
          providerID: "openai",
          finish: c("finish"),
          path: { cwd: "/", root: "/" },
          tokens,
          cost: 0,
          error: { name: c("error-name"), data: { message: c("named-error") } },
        },
        parts: [part(15, A2, { type: "step-finish", reason: c("step-finish-reason"), tokens, cost: 0 })],
      },
    ],
    diagnostics: {
      aborts: [
        // The export's reading of the message's in_flight: the trace below succeeded after this abort.
        { ...abort(c("abort-reason"), c("abort-error"), c("via")), title_generation_state: "completed_after_abort" },
        {
          recorded_at: 1795553813000,
          run_id: R2,
          source: "signal",
          mode: "hard",
          via: "SIGINT",
          via_ctx_abort: false,
          phase: "queued",
          tool_call_id: c("orphan-call-id"),
          title_generation_state: "not_started",
        },
      ],
      title_generations: [trace(c("trace-title"), c("trace-error"), `${c("trace-provider")}/${c("trace-model")}`)],
      loop: {
        runs: [
          {
            run_id: R,
            kind: "prompt",
            started_at: 1795553811600,
            ended_at: 1795553812800,
            outcome: "aborted",
            user_message_id: U,
            assistant_message_ids: [A, A2],
            steps: 1,
            finish: c("run-finish"),
            attempted_input: c("attempted-input"),
            cancel_count: 2,
          },
          {
            run_id: R2,
            kind: "shell",
            started_at: 1795553812900,
            ended_at: 1795553813000,
            outcome: "aborted",
            user_message_id: null,
            assistant_message_ids: [],
            steps: 0,
            finish: null,
            attempted_input: null,
            cancel_count: 1,
          },
        ],
      },
    },
  };
}

/** Canaries in every runtime field that is not derived from the session. */
export function runtimeCanaries(doc: ExportDocument, k: Canaries): ExportDocument {
  return {
    ...doc,
    runtime: {
      ...doc.runtime,
      app_version: `1.2.3-${k.c("app-version")}`,
      channel: k.c("channel"),
      platform: k.c("platform"),
      arch: k.c("arch"),
      node_version: `v20.0.0-${k.c("node-version")}`,
      // A kernel release's own suffix words are kept by design (machine data); free text around it is not.
      os_release: `6.8.0-1021-azure (${k.c("os-release")})`,
      locale: `en-${k.c("locale")}`,
      timezone: `Europe/${k.c("timezone")}`,
    },
  };
}

/** The export of `source` after an import into a fresh data directory (what `ode export` would write). */
export function importAndExport(source: unknown, sessionID: string): ExportDocument {
  return storeAndExport(parseImport(JSON.stringify(source)), sessionID);
}

export function storeAndExport(doc: ImportDocument, sessionID: string): ExportDocument {
  const project = makeProject();
  return withStore(project.dataDir, (store) => {
    const rt = { store, runs: new Runs(store) };
    importSession(rt, doc);
    return buildExport(rt, sessionID);
  });
}


/**
 * A session compacted once, with a canary in every place a compaction carries text or a value sanitize may keep:
 * the summary's text, the record's error and trigger, the marker part's unknown fields. `ids.A2` is the marker
 * message and `ids.R2` the compact run's id; the kept turn starts at `ids.U`.
 */
export function compactionExport(k: Canaries, ids: Ids) {
  const { S, U, A, A2, R } = ids;
  const c = k.c.bind(k);
  const summaryID = `${A2.slice(0, -2)}99`;
  const tokens = { input: 10, output: 5, reasoning: 0, cache: { read: 0, write: 0 } };
  const assistant = (id: string, parentID: string, extra: object) => ({
    id, sessionID: S, role: "assistant", parentID, time: { created: 1795553811700, completed: 1795553812800 },
    modelID: "gpt-4.1", providerID: "openai", path: { cwd: c("cwd"), root: c("root") }, tokens, cost: 0, finish: "stop", ...extra,
  });
  const record = {
    recorded_at: 1795553813000,
    run_id: R,
    message_id: summaryID,
    trigger: c("trigger"),
    success: false,
    messages: 2,
    tokens_before: 1200,
    tokens_after: 400,
    budget: 900,
    tail_start_id: U,
    error_message: c("compaction-error"),
  };
  return {
    format: "ode.session",
    schema_version: 1,
    info: { id: S, directory: "/", title: "t", version: "0.1.0", time: { created: 1795553811600, updated: 1795553815000 } },
    messages: [
      { info: { id: U, sessionID: S, role: "user", time: { created: 1795553811605 }, model: { providerID: "openai", modelID: "gpt-4.1" } }, parts: [{ id: ids.part(1), sessionID: S, messageID: U, type: "text", text: c("prompt") }] },
      { info: assistant(A, U, {}), parts: [{ id: ids.part(2), sessionID: S, messageID: A, type: "text", text: c("answer") }] },
      {
        info: { id: A2, sessionID: S, role: "user", time: { created: 1795553812900 }, agent: "compaction", model: { providerID: "openai", modelID: "gpt-4.1" } },
        parts: [{ id: ids.part(3), sessionID: S, messageID: A2, type: "compaction", auto: true, overflow: true, tail_start_id: U, note: c("part-note") }],
      },
      {
        info: assistant(summaryID, A2, { summary: true, agent: "compaction", mode: "compaction", diagnostics: { compaction: record } }),
        parts: [{ id: ids.part(4), sessionID: S, messageID: summaryID, type: "text", text: c("summary-text") }],
      },
    ],
    diagnostics: { aborts: [], title_generations: [], compactions: [record], loop: { runs: [] } },
  };
}
