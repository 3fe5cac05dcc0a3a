import { describe, expect, it } from "vitest";
import { importSession, parseImport } from "../../src/export/import.js";
import { sanitizeExport } from "../../src/export/sanitize.js";
import { buildExport } from "../../src/export/snapshot.js";
import { Runs } from "../../src/session/runs.js";
import { makeProject } from "../support/ode.js";
import { withStore } from "./support.js";

const canaries: string[] = [];
function c(name: string): string {
  const canary = `canary-${name}-${canaries.length}`;
  canaries.push(canary);
  return canary;
}

const S = "ses_20f58dc95000sanitizetest1";
const U = "msg_20f58dc95001sanitizeuser1";
const A = "msg_20f58dc95002sanitizeasst1";
const R = "run_20f58dc95000sanitizerun01";
const part = (n: number, messageID: string, fields: object) => ({ id: `prt_20f58dc950${String(n).padStart(2, "0")}sanitizepart`, sessionID: S, messageID, ...fields });
const abort = (reason: string, error: string) => ({
  recorded_at: 1795553812700,
  run_id: R,
  message_id: A,
  source: "api",
  mode: "soft",
  via: "POST /session/:id/abort",
  via_ctx_abort: true,
  phase: "tool",
  tool_call_id: "call_1",
  reason,
  error_message: error,
  title_generation_state: "in_flight",
});
const trace = (title: string, error: string) => ({
  started_at: 1795553811700,
  completed_at: 1795553812900,
  success: true,
  applied: true,
  title,
  error_message: error,
  model: "mock/small",
  user_message_id: U,
  assistant_message_id: A,
});

/**
 * Every place a session can carry text, including opencode's extras, fields no version of ode writes, and keys that
 * are themselves data (opencode keys some tool metadata by file path).
 */
function richExport() {
  return {
    format: "ode.session",
    schema_version: 1,
    info: {
      id: S,
      directory: `/home/${c("dir")}/project`,
      title: c("title"),
      version: "0.1.0",
      time: { created: 1795553811600, updated: 1795553815000 },
      share: { url: c("share-url") },
      permission: [{ permission: "bash", pattern: c("permission-pattern"), action: "allow" }],
      [`/home/${c("key-as-path")}`]: c("weird-key-value"),
    },
    messages: [
      {
        info: {
          id: U,
          sessionID: S,
          role: "user",
          time: { created: 1795553811605 },
          model: { providerID: "mock", modelID: "big" },
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
        ],
      },
      {
        info: {
          id: A,
          sessionID: S,
          role: "assistant",
          parentID: U,
          time: { created: 1795553811700, completed: 1795553812800 },
          modelID: "big",
          providerID: "mock",
          path: { cwd: c("cwd"), root: c("root") },
          tokens: { input: 10, output: 5, reasoning: 0, cache: { read: 0, write: 0 } },
          cost: 0,
          error: {
            name: "APIError",
            data: {
              message: c("api-error"),
              statusCode: 502,
              isRetryable: true,
              responseBody: c("response-body"),
              responseHeaders: { "x-request-id": c("header") },
            },
          },
          diagnostics: {
            abort: abort(c("message-abort-reason"), c("message-abort-error")),
            title_generation: trace(c("message-trace-title"), c("message-trace-error")),
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
              },
              time: { start: 3, end: 4 },
            },
          }),
          part(6, A, {
            type: "tool",
            tool: "write",
            callID: "call_2",
            state: {
              status: "error",
              input: { filePath: c("error-input-path") },
              error: c("tool-error"),
              metadata: { interrupted: true, output: c("partial-output") },
              time: { start: 5, end: 6 },
            },
          }),
          part(7, A, { type: "tool", tool: "grep", callID: "call_3", state: { status: "pending", input: {}, raw: c("raw-input") } }),
          part(8, A, { type: "tool", tool: "read", callID: "call_4", state: { status: "running", input: { p: c("running-input") }, title: c("running-title"), time: { start: 7 } } }),
          part(9, A, { type: "patch", hash: c("hash"), files: [c("patch-file")] }),
          part(10, A, { type: "subtask", prompt: c("subtask-prompt"), description: c("subtask-description"), agent: "general" }),
          part(11, A, { type: "step-finish", reason: "tool-calls", tokens: { input: 10, output: 5, reasoning: 0, cache: { read: 0, write: 0 } }, cost: 0 }),
        ],
      },
    ],
    diagnostics: {
      aborts: [abort(c("abort-reason"), c("abort-error"))],
      title_generations: [trace(c("trace-title"), c("trace-error"))],
      loop: {
        runs: [
          {
            run_id: R,
            kind: "prompt",
            started_at: 1795553811600,
            ended_at: 1795553812800,
            outcome: "aborted",
            user_message_id: U,
            assistant_message_ids: [A],
            steps: 1,
            finish: null,
            attempted_input: c("attempted-input"),
            cancel_count: 2,
          },
        ],
      },
    },
  };
}

describe("sanitizeExport", () => {
  it("leaves no byte of any text, path, error or data-like key, and keeps the structure", () => {
    const project = makeProject();
    const { plain, sanitized } = withStore(project.dataDir, (store) => {
      importSession(store, parseImport(JSON.stringify(richExport())));
      const doc = buildExport({ store, runs: new Runs(store) }, S);
      return { plain: JSON.stringify(doc), sanitized: sanitizeExport(doc) };
    });
    const text = JSON.stringify(sanitized);
    // The plain export carries every canary, so their absence below is the sanitizer's doing.
    for (const canary of canaries) expect(plain).toContain(canary);
    for (const canary of canaries) expect(text).not.toContain(canary);

    const [user, assistant] = sanitized.messages as any[];
    expect(user.info.summary.diffs[0]).toEqual({ file: `[redacted:summary:${U}]`, patch: `[redacted:summary:${U}]`, additions: 3, deletions: 1 });
    expect(user.parts[1]).toMatchObject({ mime: "text/plain", filename: `[redacted:file:${user.parts[1].id}]`, url: `[redacted:url:${user.parts[1].id}]` });
    expect(assistant.info.error).toEqual({
      name: "APIError",
      data: {
        message: `[redacted:error:${A}]`,
        statusCode: 502,
        isRetryable: true,
        responseBody: `[redacted:error:${A}]`,
        responseHeaders: `[redacted:error:${A}]`,
      },
    });
    const [, , completed, failed] = assistant.parts;
    expect(completed.state).toEqual({
      status: "completed",
      input: `[redacted:tool-input:${completed.id}]`,
      output: `[redacted:tool-output:${completed.id}]`,
      title: `[redacted:tool-title:${completed.id}]`,
      metadata: {
        output: `[redacted:tool-metadata:${completed.id}]`,
        outputPath: `[redacted:tool-metadata:${completed.id}]`,
        exit: 0,
        truncated: true,
        diagnostics: `[redacted:tool-metadata:${completed.id}]`,
      },
      time: { start: 3, end: 4 },
    });
    expect(failed.state).toMatchObject({ status: "error", error: `[redacted:tool-error:${failed.id}]`, metadata: { interrupted: true } });
    expect(sanitized.diagnostics.aborts).toEqual([
      expect.objectContaining({
        source: "api",
        via: "POST /session/:id/abort",
        phase: "tool",
        tool_call_id: "call_1",
        reason: `[redacted:reason:${R}]`,
        error_message: `[redacted:error:${R}]`,
        title_generation_state: "completed_after_abort",
      }),
    ]);
    expect(sanitized.diagnostics.title_generations).toEqual([
      expect.objectContaining({ success: true, applied: true, completed_after_abort: true, title: `[redacted:title:${U}]`, error_message: `[redacted:error:${U}]` }),
    ]);
    expect(sanitized.diagnostics.loop.last).toMatchObject({ run_id: R, outcome: "aborted", cancel_count: 2, attempted_input: `[redacted:attempted-input:${R}]` });
    expect(sanitized.runtime.stats).toEqual({ messages: 2, parts: 11, tool_calls: 4, runs: 1, aborts: 1 });
    expect(sanitized.runtime.models).toEqual(["mock/big", "mock/small"]);
    // Still a valid export.
    expect(() => parseImport(text)).not.toThrow();
  });
});
