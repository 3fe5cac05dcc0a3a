import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { importSession, parseImport, type ImportDocument } from "../../src/export/import.js";
import { sanitizeExport } from "../../src/export/sanitize.js";
import { buildExport, type ExportDocument } from "../../src/export/snapshot.js";
import { Runs } from "../../src/session/runs.js";
import { makeProject, runOde } from "../support/ode.js";
import { exportJson, fixture, withStore } from "./support.js";

/** Distinct canary strings; `key` makes one that is a valid field name, for keys that are data. */
class Canaries {
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

interface Ids {
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
const GENERATED: Ids = {
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
function canaryIds(k: Canaries): Ids {
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
function richExport(k: Canaries, ids: Ids) {
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
function runtimeCanaries(doc: ExportDocument, k: Canaries): ExportDocument {
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
function importAndExport(source: unknown, sessionID: string): ExportDocument {
  return storeAndExport(parseImport(JSON.stringify(source)), sessionID);
}

function storeAndExport(doc: ImportDocument, sessionID: string): ExportDocument {
  const project = makeProject();
  return withStore(project.dataDir, (store) => {
    const rt = { store, runs: new Runs(store) };
    importSession(rt, doc);
    return buildExport(rt, sessionID);
  });
}

/**
 * Stored without parseImport's checks: import refuses ids outside the id grammar, but a database written before it
 * did can hold them, and the sanitizer must still hide them.
 */
function storeUncheckedAndExport(source: ReturnType<typeof richExport>, sessionID: string): ExportDocument {
  const { info, messages, diagnostics } = source as unknown as ExportDocument;
  return storeAndExport(
    { info, messages, runs: diagnostics.loop.runs, aborts: diagnostics.aborts as ImportDocument["aborts"], traces: diagnostics.title_generations as ImportDocument["traces"] },
    sessionID,
  );
}

/** A sanitized export imports, exports back as it is (its runtime.models derived anew from its messages). */
function expectReimports(sanitized: ExportDocument): void {
  const again = importAndExport(sanitized, sanitized.info.id);
  expect({ info: again.info, messages: again.messages, diagnostics: again.diagnostics }).toEqual({
    info: sanitized.info,
    messages: sanitized.messages,
    diagnostics: sanitized.diagnostics,
  });
  expect(again.runtime.models).toEqual(sanitized.runtime.models);
  expect(again.runtime.stats).toEqual(sanitized.runtime.stats);
  // Sanitizing again changes nothing: every stand-in passes its own check.
  expect(sanitizeExport(sanitized)).toEqual(sanitized);
}

/** Every number and boolean of a document, by path: timings, token counts, flags. */
function scalarLeaves(value: unknown, at = "", out = new Map<string, unknown>()): Map<string, unknown> {
  if (typeof value === "number" || typeof value === "boolean") out.set(at, value);
  else if (Array.isArray(value)) value.forEach((item, i) => scalarLeaves(item, `${at}[${i}]`, out));
  else if (value && typeof value === "object") for (const [key, item] of Object.entries(value)) scalarLeaves(item, `${at}.${key}`, out);
  return out;
}

const marker = (kind: string, id: string) => `[redacted:${kind}:${id}]`;

describe("sanitizeExport", () => {
  it("leaves no byte of any text, path, error, name, enum, version or data-like key, and keeps the structure", () => {
    const k = new Canaries();
    const { S, U, A, A2, R, R2, parent } = GENERATED;
    const built = importAndExport(richExport(k, GENERATED), S);
    const doc = runtimeCanaries(built, k);
    const plain = JSON.stringify(doc);
    const sanitized = sanitizeExport(doc);
    const text = JSON.stringify(sanitized);
    // The plain export carries every canary, so their absence below is the sanitizer's doing.
    for (const canary of k.all) expect(plain).toContain(canary);
    for (const canary of k.all) expect(text).not.toContain(canary);

    expect(sanitized.info).toMatchObject({
      id: S,
      parentID: parent,
      slug: marker("slug", S),
      projectID: marker("project", S),
      agent: marker("agent", S),
      version: marker("version", S),
      model: { id: marker("model", S), providerID: marker("provider", S), variant: marker("variant", S) },
    });
    expect(Object.keys(sanitized.info).filter((key) => key.includes("canary"))).toEqual([]);

    const [user, assistant, second] = sanitized.messages as any[];
    expect(user.info).toMatchObject({ id: U, sessionID: S, role: "user", agent: marker("agent", U), tools: marker("tools", U) });
    expect(user.info.model).toEqual({ providerID: marker("provider", U), modelID: marker("model", U) });
    expect(user.info.summary.diffs[0]).toEqual({ file: marker("summary", U), patch: marker("summary", U), additions: 3, deletions: 1 });
    expect(user.parts[1]).toMatchObject({ mime: "text/plain", filename: marker("file", user.parts[1].id), url: marker("url", user.parts[1].id) });
    expect(user.parts[2].mime).toBe(marker("mime", user.parts[2].id));

    // The same model keeps the same marker: the assistant's model is its user message's.
    expect(assistant.info).toMatchObject({
      id: A,
      parentID: U,
      agent: marker("agent", A),
      mode: marker("mode", A),
      modelID: marker("model", U),
      providerID: marker("provider", U),
      finish: "tool-calls",
    });
    expect(assistant.info.error).toEqual({
      name: "APIError",
      data: {
        message: marker("error", A),
        statusCode: 502,
        isRetryable: true,
        providerID: marker("provider", A),
        responseBody: marker("error", A),
        responseHeaders: marker("error", A),
      },
    });
    expect(second.info).toMatchObject({
      id: A2,
      mode: "build",
      providerID: "openai",
      modelID: marker("model", A2),
      finish: marker("finish", A2),
      error: { name: marker("error-name", A2), data: { message: marker("error", A2) } },
    });
    expect(second.parts[0]).toMatchObject({ reason: marker("finish", second.parts[0].id), tokens: { input: 10, output: 5 } });

    const [, , completed, invented, pending, , , subtask, stepFinish, agentPart, retry] = assistant.parts;
    expect(completed).toMatchObject({ tool: "bash", callID: `call:${completed.id}` });
    expect(completed.state).toEqual({
      status: "completed",
      input: marker("tool-input", completed.id),
      output: marker("tool-output", completed.id),
      title: marker("tool-title", completed.id),
      metadata: {
        output: marker("tool-metadata", completed.id),
        outputPath: marker("tool-metadata", completed.id),
        exit: 0,
        truncated: true,
        diagnostics: marker("tool-metadata", completed.id),
      },
      time: { start: 3, end: 4 },
    });
    expect(invented).toMatchObject({ tool: marker("tool", invented.id), callID: `call:${invented.id}` });
    expect(invented.state).toMatchObject({ status: "error", error: marker("tool-error", invented.id), metadata: { interrupted: true } });
    expect(pending).toMatchObject({ tool: "grep", callID: `call:${pending.id}`, state: { status: "pending", raw: marker("tool-input", pending.id) } });
    expect(subtask).toMatchObject({
      type: "subtask",
      agent: marker("agent", subtask.id),
      model: { providerID: marker("provider", subtask.id), modelID: marker("model", subtask.id) },
    });
    expect(stepFinish).toMatchObject({ type: "step-finish", reason: "tool-calls", tokens: { input: 10, output: 5, reasoning: 0 } });
    expect(agentPart.name).toBe(marker("agent", agentPart.id));
    expect(retry.error).toEqual({ name: marker("error-name", retry.id), data: { message: marker("error", retry.id) } });

    // The abort names the tool call by the pseudonym of the part that holds it; a call no part holds is redacted.
    const abortFields = { source: "api", mode: "soft", phase: "tool", via: marker("via", R), tool_call_id: `call:${invented.id}` };
    expect(assistant.info.diagnostics.abort).toMatchObject({ ...abortFields, title_generation_state: "in_flight" });
    expect(assistant.info.diagnostics).not.toHaveProperty("note");
    expect(sanitized.diagnostics.aborts).toEqual([
      expect.objectContaining({
        ...abortFields,
        run_id: R,
        message_id: A,
        via_ctx_abort: true,
        reason: marker("reason", R),
        error_message: marker("error", R),
        title_generation_state: "completed_after_abort",
      }),
      expect.objectContaining({ run_id: R2, source: "signal", mode: "hard", via: "SIGINT", phase: "queued", tool_call_id: marker("tool-call", R2) }),
    ]);
    // A title model beside the turn's, first named by the same user message, gets a marker of its own.
    expect(sanitized.diagnostics.title_generations).toEqual([
      expect.objectContaining({
        success: true,
        applied: true,
        completed_after_abort: true,
        model: `${marker("provider", `${U}:2`)}/${marker("model", `${U}:2`)}`,
        title: marker("title", U),
        error_message: marker("error", U),
      }),
    ]);
    expect(sanitized.diagnostics.loop.runs[0]).toMatchObject({
      run_id: R,
      kind: "prompt",
      outcome: "aborted",
      finish: marker("finish", R),
      assistant_message_ids: [A, A2],
    });
    expect(sanitized.diagnostics.loop.last).toMatchObject({ run_id: R2, kind: "shell", outcome: "aborted", cancel_count: 1, finish: null, attempted_input: null });

    expect(sanitized.runtime).toEqual({
      app_version: marker("version", S),
      channel: marker("channel", S),
      platform: marker("platform", S),
      arch: marker("arch", S),
      node_version: marker("node-version", S),
      os_release: marker("os-release", S),
      locale: marker("locale", S),
      timezone: marker("timezone", S),
      // Consistent with the messages and title traces it is derived from.
      models: [`${user.info.model.providerID}/${user.info.model.modelID}`, sanitized.diagnostics.title_generations[0]!.model],
      stats: { messages: 3, parts: 15, tool_calls: 4, runs: 2, aborts: 2 },
    });
    // Every timing, count and flag is where it was (nothing here was collapsed into a marker).
    const before = scalarLeaves(doc);
    const after = scalarLeaves(sanitized);
    for (const [at, value] of after) expect([at, value]).toEqual([at, before.get(at)]);
    expect(after.get(".messages[1].info.tokens.input")).toBe(10);
    expect(after.get(".diagnostics.loop.runs[0].cancel_count")).toBe(2);

    expectReimports(sanitized);
  });

  it("replaces ids not in the generated shape by pseudonyms, the same wherever the id appears", () => {
    const k = new Canaries();
    const ids = canaryIds(k);
    const doc = storeUncheckedAndExport(richExport(k, ids), ids.S);
    const sanitized = sanitizeExport(doc);
    const text = JSON.stringify(sanitized);
    for (const canary of k.all) expect(JSON.stringify(doc)).toContain(canary);
    for (const canary of k.all) expect(text).not.toContain(canary);

    const pseudonym = (prefix: string) => new RegExp(`^${prefix}_000000000000redacted[0-9A-Za-z]{6}$`);
    const S = sanitized.info.id;
    expect(S).toMatch(pseudonym("ses"));
    expect(sanitized.info.parentID).toMatch(pseudonym("ses"));
    expect(sanitized.info.parentID).not.toBe(S);
    expect(sanitized.info.title).toBe(marker("title", S));
    const messages = sanitized.messages as any[];
    const user = messages.find((m) => m.info.role === "user");
    const assistants = messages.filter((m) => m.info.role === "assistant");
    const seen = new Set<string>();
    for (const { info, parts } of messages) {
      expect(info.id).toMatch(pseudonym("msg"));
      expect(info.sessionID).toBe(S);
      seen.add(info.id);
      for (const p of parts) {
        expect(p.id).toMatch(pseudonym("prt"));
        expect(p).toMatchObject({ sessionID: S, messageID: info.id });
        seen.add(p.id);
        if (p.type === "tool") expect(p.callID).toBe(`call:${p.id}`);
      }
    }
    expect(seen.size).toBe(3 + 15);
    for (const { info } of assistants) expect(info.parentID).toBe(user.info.id);
    const withAbort = assistants.find((m) => m.info.diagnostics?.abort);
    const invented = withAbort.parts.find((p: any) => p.type === "tool" && p.state.status === "error");
    const [first, orphan] = sanitized.diagnostics.aborts;
    expect(first).toMatchObject({ message_id: withAbort.info.id, tool_call_id: `call:${invented.id}` });
    expect(withAbort.info.diagnostics.abort).toMatchObject({ run_id: first!.run_id, tool_call_id: `call:${invented.id}` });
    expect(orphan!.tool_call_id).toBe(marker("tool-call", orphan!.run_id));
    const [run, shell] = sanitized.diagnostics.loop.runs;
    expect(run).toMatchObject({ run_id: first!.run_id, user_message_id: user.info.id });
    expect(run!.run_id).toMatch(pseudonym("run"));
    expect(run!.assistant_message_ids).toEqual(expect.arrayContaining(assistants.map((m) => m.info.id)));
    expect(shell!.run_id).toBe(orphan!.run_id);
    expect(sanitized.diagnostics.title_generations[0]).toMatchObject({ user_message_id: user.info.id, title: marker("title", user.info.id) });

    expectReimports(sanitized);
  });

  it("keeps what passes its check: opencode's ids, names, enums and versions, this machine's runtime", () => {
    const source = JSON.parse(fs.readFileSync(fixture("opencode-1.18.33-export-aborted.json"), "utf8"));
    const doc = importAndExport(source, source.info.id);
    const sanitized = sanitizeExport(doc);
    const S = source.info.id;
    expect(sanitized.info).toMatchObject({
      id: S,
      version: "1.18.33",
      projectID: "global",
      agent: "build",
      slug: marker("slug", S),
      model: { id: marker("model", S), providerID: marker("provider", S), variant: "default" },
    });
    const [user, assistant] = sanitized.messages as any[];
    expect(user.info).toMatchObject({ id: source.messages[0].info.id, agent: "build", model: { providerID: marker("provider", S), modelID: marker("model", S) } });
    expect(assistant.info).toMatchObject({ id: source.messages[1].info.id, mode: "build", agent: "build", error: { name: "MessageAbortedError" } });
    const tool = assistant.parts.find((p: any) => p.type === "tool");
    expect(tool).toMatchObject({ tool: "bash", callID: `call:${tool.id}`, state: { status: "completed" } });
    expect(sanitized.runtime).toMatchObject({
      app_version: doc.runtime.app_version,
      channel: doc.runtime.channel,
      platform: process.platform,
      arch: process.arch,
      node_version: process.version,
      locale: doc.runtime.locale,
      timezone: doc.runtime.timezone,
      os_release: doc.runtime.os_release,
      models: [`${marker("provider", S)}/${marker("model", S)}`],
    });
    expect(JSON.stringify(sanitized)).not.toContain("tidy-cabin");
    expectReimports(sanitized);
  });

  it("a real run: an invented tool name and the provider and model ids never reach a sanitized export", async () => {
    const C = { provider: "canaryprov", model: "canarymodel-one", model2: "canarymodel-two", tool: "CANARYTOOL", prompt: "canary-prompt" };
    const script = {
      title: "A scripted title",
      steps: [
        { reasoning: "thinking", tool_calls: [{ name: C.tool, input: { arg: "value" } }, { name: "bash", input: { command: "echo hi" } }] },
        { text: "done" },
      ],
    };
    const project = makeProject({ model: `${C.provider}/${C.model}`, provider: { [C.provider]: { type: "scripted", options: { script } } } });
    const first = await runOde(project, ["run", `please ${C.prompt}`]);
    expect(first.code).toBe(0);
    const second = await runOde(project, ["run", "--continue", "-m", `${C.provider}/${C.model2}`, "again"]);
    expect(second.code).toBe(0);

    const plain = await exportJson(project, []);
    const plainText = JSON.stringify(plain);
    for (const canary of Object.values(C)) expect(plainText).toContain(canary);
    const result = await runOde(project, ["export", "--sanitize"]);
    expect(result.code).toBe(0);
    for (const canary of Object.values(C)) expect(result.stdout.toLowerCase()).not.toContain(canary.toLowerCase());
    const doc = JSON.parse(result.stdout);

    // Ids, timings, token counts and flags are all still there, where they were.
    const before = scalarLeaves(plain);
    const after = scalarLeaves(doc);
    expect([...after.keys()].filter((at) => at !== ".exported_at")).toEqual([...before.keys()].filter((at) => at !== ".exported_at"));
    for (const [at, value] of after) if (at !== ".exported_at") expect([at, value]).toEqual([at, before.get(at)]);
    const version = (await runOde(project, ["--version"])).stdout.trim();
    expect(doc.runtime).toMatchObject({ app_version: version, platform: process.platform, arch: process.arch, node_version: process.version });
    expect(doc.info.id).toBe(plain.info.id);

    const tools = doc.messages.flatMap((m: any) => m.parts).filter((p: any) => p.type === "tool");
    expect(tools.map((p: any) => p.tool)).toEqual([marker("tool", tools[0].id), "bash", marker("tool", tools[2].id), "bash"]);
    expect(tools.map((p: any) => p.state.status)).toEqual(["error", "completed", "error", "completed"]);
    for (const p of tools) expect(p.callID).toBe(`call:${p.id}`);
    const users = doc.messages.filter((m: any) => m.info.role === "user").map((m: any) => m.info);
    const [u1, u2] = users;
    expect(u1.model).toEqual({ providerID: marker("provider", u1.id), modelID: marker("model", u1.id) });
    expect(u2.model).toEqual({ providerID: marker("provider", u1.id), modelID: marker("model", u2.id) });
    for (const m of doc.messages.filter((m: any) => m.info.role === "assistant")) {
      const owner = users.find((u: any) => u.id === m.info.parentID);
      expect(m.info).toMatchObject({ providerID: owner.model.providerID, modelID: owner.model.modelID });
    }
    expect(doc.runtime.models).toEqual(users.map((u: any) => `${u.model.providerID}/${u.model.modelID}`));
    expect(doc.diagnostics.title_generations[0].model).toBe(doc.runtime.models[0]);
    expect(doc.diagnostics.loop.runs.map((r: any) => [r.kind, r.outcome, r.finish])).toEqual([
      ["prompt", "completed", "stop"],
      ["prompt", "completed", "stop"],
    ]);
  });
});
