import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { newId } from "../../src/ids.js";
import { Runs } from "../../src/session/runs.js";
import { makeProject, mockConfig, runOde, tempDir, type Project } from "../support/ode.js";
import { exportJson, runAndAbort, startRoutedModel, stringLeaves, withStore, writeConfig } from "./support.js";

// Each piece of user data the session carries holds its own canary, so a leak names where it came from.
const C = {
  prompt: "prompt-canary-1a",
  reasoning: "reasoning-canary-2b",
  toolInput: "tool-input-canary-3c",
  path: "path-canary-4d",
  content: "content-canary-5e",
  output: "output-canary-6f",
  answer: "answer-canary-7g",
  title: "title-canary-8h",
  directory: "dir-canary-9i",
  modelError: "model-error-canary-10j",
  reason: "reason-canary-11k",
};

/**
 * A session built by the real CLI against a loopback model: a turn with reasoning, a bash call and a write call,
 * a turn the model fails, and a turn aborted by `ode session abort --reason`, all run from a directory whose
 * path holds a canary.
 */
async function canarySession(): Promise<{ project: Project; dir: string; sessionID: string }> {
  const model = await startRoutedModel(
    (last, req) => {
      if (last.includes("second")) {
        return { status: 400, errorBody: { error: { message: `upstream failed: ${C.modelError}`, type: "server_error" } } };
      }
      if (last.includes("third")) return { stall: true };
      if (req.body.messages.some((m: { role: string }) => m.role === "tool")) return { text: `All done. ${C.answer}` };
      return {
        reasoning: `thinking about ${C.reasoning}`,
        toolCalls: [
          // The command prints the output canary without containing it.
          { name: "bash", arguments: { command: "printf '%s%s\\n' output-canary- 6f", description: `print ${C.toolInput}` } },
          { name: "write", arguments: { filePath: `${C.path}/notes.txt`, content: C.content } },
        ],
      };
    },
    { text: C.title },
  );
  const project = makeProject();
  const dir = path.join(project.dir, C.directory);
  writeConfig(dir, model.baseURL);
  const first = await runOde(project, ["run", `please check ${C.prompt}`], { cwd: dir });
  expect(first.stderr).not.toMatch(/ode: /);
  expect(first.code).toBe(0);
  expect((await runOde(project, ["run", "--continue", "second try"], { cwd: dir })).code).toBe(1);
  const { runCode } = await runAndAbort(project, ["--continue", "third try"], ["--reason", C.reason], dir);
  expect(runCode).toBe(130);
  const sessionID = withStore(project.dataDir, (store) => store.listSessions()[0]!.id);
  return { project, dir, sessionID };
}

// Where a sanitized export may still hold a string as it was: ids, statuses, sources, phases, names, versions.
const KEPT = new Set([
  "format", "id", "sessionID", "messageID", "parentID", "role", "type", "status", "tool", "callID", "agent",
  "modelID", "providerID", "finish", "reason", "name", "version", "run_id", "message_id", "user_message_id",
  "assistant_message_id", "assistant_message_ids", "source", "mode", "via", "phase", "tool_call_id",
  "title_generation_state", "model", "kind", "outcome", "app_version", "channel", "platform", "arch",
  "node_version", "os_release", "locale", "timezone", "models", "projectID",
]);

describe("ode export", () => {
  it("--sanitize leaks none of the session's text, paths or errors and keeps the abort and title evidence", async () => {
    const { project, sessionID } = await canarySession();
    const plain = JSON.stringify(await exportJson(project, [sessionID]));
    // The plain export carries every canary, so their absence below is the sanitizer's doing.
    for (const canary of Object.values(C)) expect(plain).toContain(canary);

    const result = await runOde(project, ["export", sessionID, "--sanitize"]);
    expect(result.code).toBe(0);
    for (const canary of Object.values(C)) expect(result.stdout).not.toContain(canary);

    const doc = JSON.parse(result.stdout);
    const runs = doc.diagnostics.loop.runs;
    expect(runs.map((r: { outcome: string }) => r.outcome)).toEqual(["completed", "error", "aborted"]);
    expect(doc.diagnostics.aborts).toEqual([
      expect.objectContaining({
        run_id: runs[2].run_id,
        source: "user",
        via: "cli",
        mode: "soft",
        phase: "model",
        title_generation_state: "completed_before_abort",
        reason: `[redacted:reason:${runs[2].run_id}]`,
      }),
    ]);
    expect(doc.diagnostics.title_generations).toEqual([
      expect.objectContaining({
        success: true,
        applied: true,
        model: `[redacted:provider:${sessionID}]/[redacted:model:${sessionID}]`,
        title: expect.stringMatching(/^\[redacted:title:msg_/),
      }),
    ]);
    expect(doc.diagnostics.loop.last).toMatchObject({ run_id: runs[2].run_id, attempted_input: `[redacted:attempted-input:${runs[2].run_id}]` });
    expect(doc.info.directory).toBe(`[redacted:directory:${sessionID}]`);
    expect(doc.runtime.stats).toEqual({ messages: 7, parts: doc.messages.flatMap((m: { parts: unknown[] }) => m.parts).length, tool_calls: 2, runs: 3, aborts: 1, cost: 0 });
    const failed = doc.messages.find((m: { info: { error?: { name: string } } }) => m.info.error?.name === "APIError").info;
    expect(failed.error.data).toMatchObject({ message: `[redacted:error:${failed.id}]`, statusCode: 400, isRetryable: false });
    for (const [key, value] of stringLeaves(doc)) {
      if (!value.startsWith("[redacted:")) expect([key, KEPT.has(key)]).toEqual([key, true]);
    }
  });

  it("round trip: export, import into an empty data directory, export again gives the same document", async () => {
    const { project, sessionID } = await canarySession();
    const first = await exportJson(project, [sessionID]);
    const sanitized = await exportJson(project, [sessionID, "--sanitize"]);

    const fresh = makeProject();
    const file = path.join(fresh.dir, "export.json");
    fs.writeFileSync(file, JSON.stringify(first));
    const imported = await runOde(fresh, ["import", file]);
    expect(imported.stderr).toBe("");
    expect(imported.stdout).toContain(`imported ${sessionID}`);
    const second = await exportJson(fresh, [sessionID]);
    expect({ ...second, exported_at: 0 }).toEqual({ ...first, exported_at: 0 });

    // A sanitized export is a valid export too: it imports and exports back unchanged.
    const other = makeProject();
    fs.writeFileSync(file, JSON.stringify(sanitized));
    expect((await runOde(other, ["import", file])).code).toBe(0);
    expect({ ...(await exportJson(other, [sessionID])), exported_at: 0 }).toEqual({ ...sanitized, exported_at: 0 });
  });

  it("reports a title generation that finished after the abort as completed_after_abort", async () => {
    const model = await startRoutedModel(() => ({ stall: true }), { text: "A late title", delayMs: 8000 });
    const project = makeProject(mockConfig(model.baseURL));
    expect((await runAndAbort(project, ["wait for me"], [])).runCode).toBe(130);

    const doc = await exportJson(project, []);
    const [abort] = doc.diagnostics.aborts;
    const [trace] = doc.diagnostics.title_generations;
    expect(abort).toMatchObject({ source: "user", phase: "model", title_generation_state: "completed_after_abort" });
    expect(trace).toMatchObject({ success: true, applied: true, title: "A late title", completed_after_abort: true });
    expect(trace.completed_at).toBeGreaterThan(abort.recorded_at);
    // The message keeps what the run knew when it was cancelled.
    const message = doc.messages.find((m: { info: { id: string } }) => m.info.id === abort.message_id);
    expect(message.info.diagnostics.abort.title_generation_state).toBe("in_flight");
    expect(doc.info.title).toBe("A late title");
  });

  it("shows an abort that came before any assistant message, from the run row", async () => {
    const project = makeProject();
    const runID = withStore(project.dataDir, (store) => {
      const runs = new Runs(store);
      const session = store.createSession({ directory: project.dir, title: "queued" });
      const run = runs.start(session.id, "prompt");
      const user = { id: newId("msg"), sessionID: session.id, role: "user" as const, time: { created: Date.now() } };
      store.addMessage(user);
      store.upsertPart({ id: newId("prt"), sessionID: session.id, messageID: user.id, type: "text", text: "queued input" });
      runs.setUserMessage(run, user.id, "queued input");
      runs.cancel(session.id, { source: "api", reason: "stop before the model", via: "test" });
      runs.finish(run, "aborted");
      return run.id;
    });

    const doc = await exportJson(project, []);
    expect(doc.messages).toHaveLength(1);
    expect(doc.diagnostics.aborts).toEqual([
      expect.objectContaining({ run_id: runID, source: "api", phase: "queued", reason: "stop before the model" }),
    ]);
    expect(doc.diagnostics.aborts[0].message_id).toBeUndefined();
    expect(doc.diagnostics.loop.last).toMatchObject({ run_id: runID, outcome: "aborted", steps: 0, attempted_input: "queued input" });
    expect(doc.runtime.stats).toMatchObject({ messages: 1, parts: 1, runs: 1, aborts: 1 });

    const sanitized = await exportJson(project, ["--sanitize"]);
    expect(sanitized.diagnostics.aborts[0]).toMatchObject({ source: "api", phase: "queued", reason: `[redacted:reason:${runID}]` });
    expect(JSON.stringify(sanitized)).not.toContain("stop before the model");
    expect(JSON.stringify(sanitized)).not.toContain("queued input");
  });

  it("carries the release version of the built artifact, writes -o FILE, and exports this directory's latest session", async () => {
    const project = makeProject();
    const elsewhere = tempDir();
    const latest = withStore(project.dataDir, (store) => {
      store.createSession({ directory: project.dir, title: "older" });
      const newer = store.createSession({ directory: project.dir, title: "newer" });
      store.createSession({ directory: elsewhere, title: "another directory" });
      return newer.id;
    });
    const version = (await runOde(project, ["--version"])).stdout.trim();
    const out = path.join(project.dir, "out.json");
    const result = await runOde(project, ["export", "-o", out]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("");
    const doc = JSON.parse(fs.readFileSync(out, "utf8"));
    expect(doc).toMatchObject({ format: "ode.session", schema_version: 1, info: { id: latest, title: "newer" } });
    expect(doc.runtime).toMatchObject({ app_version: version, platform: process.platform, arch: process.arch, node_version: process.version });
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it("fails clearly on an unknown id, and when the directory has no session", async () => {
    const project = makeProject();
    const unknown = await runOde(project, ["export", "ses_doesnotexist"]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toBe("ode: session not found: ses_doesnotexist\n");
    expect(unknown.stdout).toBe("");
    const none = await runOde(project, ["export"]);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain(`no session in ${project.dir}`);
  });
});
