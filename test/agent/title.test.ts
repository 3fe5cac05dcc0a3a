import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { prompt } from "../../src/agent/prompt.js";
import { runShell } from "../../src/agent/shell.js";
import { cleanTitle, TITLE_TIMEOUT_MS, titleTimeoutMs, type TitleTrace } from "../../src/agent/title.js";
import { createRuntime, type Runtime } from "../../src/runtime.js";
import type { AbortDiagnostic } from "../../src/session/abort.js";
import type { AssistantMessage, ToolPart } from "../../src/session/schema.js";
import { Store } from "../../src/session/store.js";
import { isDefaultTitle } from "../../src/session/title.js";
import {
  collect,
  makeProject,
  mockConfig,
  runOde,
  startModel,
  startOde,
  waitFor,
  type Project,
} from "../support/ode.js";
import type { ScriptedReply } from "../support/openai-server.js";

const PRINT_TITLE = `echo "title=$OPENCODE_SESSION_TITLE"`;

/** A turn that runs `command` with bash, then answers "done". */
function bashTurn(command: string): ScriptedReply[] {
  return [{ toolCalls: [{ name: "bash", arguments: { command } }] }, { text: "done" }];
}

function withStore<T>(dataDir: string, fn: (store: Store) => T): T {
  const store = Store.open(dataDir);
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

/** The session, its title traces and the diagnostics of the first turn's first assistant message. */
function evidence(dataDir: string, sessionID?: string) {
  return withStore(dataDir, (store) => {
    const session = sessionID ? store.getSession(sessionID) : store.listSessions()[0]!;
    const messages = store.messages(session.id);
    const first = messages.find((m) => m.info.role === "assistant")?.info as AssistantMessage | undefined;
    return {
      session,
      traces: store.titleTraces<TitleTrace>(session.id),
      first,
      messageTrace: first?.diagnostics?.title_generation as TitleTrace | undefined,
      messageAbort: first?.diagnostics?.abort as AbortDiagnostic | undefined,
      userIDs: messages.filter((m) => m.info.role === "user").map((m) => m.info.id),
      toolOutputs: messages
        .flatMap((m) => m.parts)
        .filter((p): p is ToolPart => p.type === "tool")
        .map((p) => (p.state.status === "completed" ? p.state.output : "")),
    };
  });
}

/** `ode run` whose turn has completed and whose title, `delayMs` away, it is waiting for (bounded far later). */
async function waitingForTitle(delayMs: number) {
  const model = await startModel([{ text: "done" }], { text: "Slow title", delayMs });
  const project = makeProject(mockConfig(model.baseURL));
  const child = startOde(project, ["run", "hi"], { env: { ODE_TITLE_TIMEOUT_MS: String(delayMs * 2) } });
  const done = collect(child);
  child.stdin!.end();
  const sessionID = await waitFor(() =>
    withStore(project.dataDir, (store): string | undefined => {
      const session = store.listSessions()[0];
      const completed = session && store.db.prepare(`SELECT 1 FROM runs WHERE session_id = ? AND outcome = 'completed'`).get(session.id);
      return completed && model.titleRequests().length === 1 ? session.id : undefined;
    }),
  );
  return { model, project, child, done, sessionID };
}

function warnings(dataDir: string): Array<{ message: string; error?: string }> {
  const file = path.join(dataDir, "log", "ode.log");
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line))
    .filter((entry) => entry.level === "warn");
}

function runtimeFor(project: Project, env: NodeJS.ProcessEnv = {}): Runtime {
  return createRuntime({ directory: project.dir, dataDir: project.dataDir, env: { ...project.env, ...env } });
}

describe("cleanTitle", () => {
  it("strips think-tags, keeps the first non-empty line, trims quotes and labels, caps at 100", () => {
    expect(cleanTitle('<think>the user wants…\nhmm</think>\n"Fix the login"')).toBe("Fix the login");
    expect(cleanTitle("<thinking>x</thinking>\n\n  Fix the login  \nsecond line")).toBe("Fix the login");
    expect(cleanTitle('Title: "Fix the login"')).toBe("Fix the login");
    expect(cleanTitle("“Fix the login”")).toBe("Fix the login");
    expect(cleanTitle("<think>never closed")).toBe("");
    expect(cleanTitle("<think>only thinking</think>")).toBe("");
    expect(cleanTitle("   \n\n")).toBe("");
    expect(cleanTitle("tab\there\u0000nul")).toBe("tab herenul");
    expect(Array.from(cleanTitle("é".repeat(150)))).toHaveLength(100);
  });

  it("the timeout is 10 s unless ODE_TITLE_TIMEOUT_MS names a positive number", () => {
    expect(TITLE_TIMEOUT_MS).toBe(10_000);
    expect(titleTimeoutMs({})).toBe(10_000);
    expect(titleTimeoutMs({ ODE_TITLE_TIMEOUT_MS: "250" })).toBe(250);
    for (const bad of ["", "0", "-5", "soon"]) expect(titleTimeoutMs({ ODE_TITLE_TIMEOUT_MS: bad })).toBe(10_000);
  });
});

describe("title generation through ode run", () => {
  it("stores the title with an applied trace, and the next bash spawn sees it", async () => {
    const model = await startModel([{ text: "first answer" }, ...bashTurn(PRINT_TITLE)], { text: "Fix the login flow" });
    const project = makeProject(mockConfig(model.baseURL));
    const first = await runOde(project, ["run", "the login form rejects valid passwords"]);
    expect(first.stderr).toMatch(/^session ses_\w+\n$/);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain("first answer");

    const { session, traces, first: assistant, messageTrace, userIDs } = evidence(project.dataDir);
    expect(session.title).toBe("Fix the login flow");
    expect(traces).toHaveLength(1);
    const [trace] = traces;
    expect(trace).toMatchObject({
      success: true,
      applied: true,
      title: "Fix the login flow",
      model: "mock/test-model",
      user_message_id: userIDs[0],
      assistant_message_id: assistant!.id,
    });
    expect(trace!.error_message).toBeUndefined();
    expect(trace!.started_at).toBeLessThanOrEqual(trace!.completed_at!);
    expect(messageTrace).toEqual(trace);

    // The title request: no tools, the first user message, the session's model.
    const [titleRequest] = model.titleRequests();
    expect(titleRequest!.body.model).toBe("test-model");
    expect(JSON.stringify(titleRequest!.body.messages)).toContain("the login form rejects valid passwords");

    const second = await runOde(project, ["run", "--session", session.id, "print the title"]);
    expect(second.code).toBe(0);
    expect(evidence(project.dataDir, session.id).toolOutputs).toEqual(["title=Fix the login flow\n"]);
    // Only the first turn generates a title.
    expect(model.titleRequests()).toHaveLength(1);
    expect(evidence(project.dataDir, session.id).traces).toHaveLength(1);
  });

  it("a title model answering HTTP 500: failed trace, default title, the turn unaffected, one warning", async () => {
    const model = await startModel([{ text: "the answer" }], { status: 500 });
    const project = makeProject(mockConfig(model.baseURL));
    const result = await runOde(project, ["run", "hello"]);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/^session ses_\w+\n$/);
    expect(result.stdout).toContain("the answer");

    const { session, traces, messageTrace, first } = evidence(project.dataDir);
    expect(isDefaultTitle(session.title)).toBe(true);
    expect(traces).toEqual([
      expect.objectContaining({ success: false, applied: false, model: "mock/test-model", assistant_message_id: first!.id }),
    ]);
    expect(traces[0]!.error_message).toContain("scripted status 500");
    expect(traces[0]!.completed_at).toBeGreaterThanOrEqual(traces[0]!.started_at);
    expect(messageTrace).toEqual(traces[0]);
    expect(first!.error).toBeUndefined();
    const warned = warnings(project.dataDir);
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ message: "title generation failed", error: expect.stringContaining("500") });
  });

  it("a slow title and an abort from another process: in_flight at abort, completed_after_abort in the export", async () => {
    const model = await startModel([{ stall: true }], { text: "A late title", delayMs: 8000 });
    const project = makeProject(mockConfig(model.baseURL));
    const child = startOde(project, ["run", "wait for me"], { env: { ODE_TITLE_TIMEOUT_MS: "30000" } });
    const done = collect(child);
    child.stdin!.end();
    await waitFor(() => model.turnRequests().length > 0);
    const sessionID = withStore(project.dataDir, (store) => store.listSessions()[0]!.id);
    const abort = await runOde(project, ["session", "abort", sessionID, "--reason", "x"]);
    expect(abort.code).toBe(0);
    const abortedAt = Date.now();
    const result = await done;
    expect(result.code).toBe(130);

    // The run waited for the title in flight: it is stored, and only after the abort.
    const { session, traces, messageAbort, messageTrace } = evidence(project.dataDir, sessionID);
    expect(session.title).toBe("A late title");
    expect(messageAbort).toMatchObject({ source: "user", via: "cli", reason: "x", phase: "model", title_generation_state: "in_flight" });
    expect(traces).toEqual([expect.objectContaining({ success: true, applied: true, title: "A late title" })]);
    expect(traces[0]!.completed_at).toBeGreaterThan(messageAbort!.recorded_at);
    expect(traces[0]!.completed_at).toBeGreaterThanOrEqual(abortedAt - 50);
    expect(messageTrace).toEqual(traces[0]);

    const exported = await runOde(project, ["export", sessionID]);
    expect(exported.code).toBe(0);
    const doc = JSON.parse(exported.stdout);
    expect(doc.diagnostics.aborts).toEqual([
      expect.objectContaining({ source: "user", reason: "x", title_generation_state: "completed_after_abort" }),
    ]);
    expect(doc.diagnostics.title_generations).toEqual([
      expect.objectContaining({ success: true, applied: true, completed_after_abort: true }),
    ]);
  });

  it("a signal while ode run waits for the title stops the waiting and leaves alone a run another process has started since", async () => {
    const { model, project, child, done, sessionID } = await waitingForTitle(8000);
    const other = startOde(project, ["shell", sessionID, "sleep 30"]);
    const otherDone = collect(other);
    const otherRun = await waitFor(() =>
      withStore(project.dataDir, (store) => store.db.prepare<[string], { id: string }>(`SELECT id FROM runs WHERE session_id = ? AND ended_at IS NULL`).get(sessionID)?.id),
    );
    child.kill("SIGINT");
    expect((await done).code).toBe(0);
    expect(model.titleRequests()).toHaveLength(1);
    const row = withStore(project.dataDir, (store) => store.db.prepare(`SELECT ended_at, interrupt, cancel_request FROM runs WHERE id = ?`).get(otherRun));
    expect(row).toEqual({ ended_at: null, interrupt: null, cancel_request: null });
    const traces = withStore(project.dataDir, (store) => store.titleTraces<TitleTrace>(sessionID));
    expect(traces).toEqual([
      expect.objectContaining({ success: false, applied: false, error_message: "title generation stopped: ode was told to stop at once" }),
    ]);
    expect(traces[0]!.completed_at).toBeGreaterThan(0);
    other.kill("SIGTERM");
    expect((await otherDone).code).toBe(130);
  });

  it("a kill -9 while ode run waits for the title: the next ode closes the trace, saying the process died", async () => {
    const { project, child, done, sessionID } = await waitingForTitle(30_000);
    child.kill("SIGKILL");
    await done;
    const exported = await runOde(project, ["export", sessionID]);
    expect(exported.code).toBe(0);
    const stopped = { success: false, applied: false, error_message: "title generation stopped: the process running it died" };
    expect(JSON.parse(exported.stdout).diagnostics.title_generations).toEqual([expect.objectContaining(stopped)]);
    const { traces, messageTrace } = evidence(project.dataDir, sessionID);
    expect(traces[0]!.completed_at).toBeGreaterThan(traces[0]!.started_at);
    expect(messageTrace).toEqual(traces[0]);
  });

  it("--timeout aborts the turn while the title is in flight; ode run still waits for the title", async () => {
    const model = await startModel([{ stall: true }], { text: "Title after timeout", delayMs: 6000 });
    const project = makeProject(mockConfig(model.baseURL));
    const started = Date.now();
    const result = await runOde(project, ["run", "--timeout", "2000", "slow"]);
    const elapsed = Date.now() - started;
    expect(result.code).toBe(130);
    expect(elapsed).toBeGreaterThanOrEqual(6000);
    const { session, traces, messageAbort } = evidence(project.dataDir);
    expect(messageAbort).toMatchObject({ source: "timeout", phase: "model", title_generation_state: "in_flight" });
    expect(session.title).toBe("Title after timeout");
    expect(traces[0]).toMatchObject({ success: true, applied: true });
    expect(traces[0]!.completed_at).toBeGreaterThan(messageAbort!.recorded_at);
  });

  it("--title: the trace says skipped, is attached to the first assistant message, and no title request is made", async () => {
    const model = await startModel([{ text: "ok" }]);
    const project = makeProject(mockConfig(model.baseURL));
    expect((await runOde(project, ["run", "--title", "Mine", "hi"])).code).toBe(0);
    const { session, traces, messageTrace, first, userIDs } = evidence(project.dataDir);
    expect(session.title).toBe("Mine");
    expect(traces).toEqual([
      expect.objectContaining({ skipped: true, success: false, applied: false, user_message_id: userIDs[0], assistant_message_id: first!.id }),
    ]);
    // The skipped trace was final before the assistant message existed; it was attached when that appeared.
    expect(messageTrace).toEqual(traces[0]);
    expect(model.titleRequests()).toHaveLength(0);
    expect(model.turnRequests()).toHaveLength(1);
    expect(warnings(project.dataDir)).toEqual([]);
  });

  it("a rename before the first turn: skipped, no title request, the user's title kept", async () => {
    const model = await startModel([{ text: "ok" }]);
    const project = makeProject(mockConfig(model.baseURL));
    const created = withStore(project.dataDir, (store) => store.createSession({ directory: project.dir }));
    expect(isDefaultTitle(created.title)).toBe(true);
    expect((await runOde(project, ["session", "rename", created.id, "Renamed by me"])).code).toBe(0);
    expect((await runOde(project, ["run", "--session", created.id, "hi"])).code).toBe(0);
    const { session, traces } = evidence(project.dataDir, created.id);
    expect(session.title).toBe("Renamed by me");
    expect(traces).toEqual([expect.objectContaining({ skipped: true, applied: false })]);
    expect(model.titleRequests()).toHaveLength(0);
  });

  it("ODE_TITLE_TIMEOUT_MS bounds the wait: a stalled title model gives a timed-out trace and ode exits promptly", async () => {
    const model = await startModel([{ text: "answer" }], { stall: true });
    const project = makeProject(mockConfig(model.baseURL));
    const started = Date.now();
    const result = await runOde(project, ["run", "hi"], { env: { ODE_TITLE_TIMEOUT_MS: "700" } });
    const elapsed = Date.now() - started;
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("answer");
    expect(elapsed).toBeGreaterThanOrEqual(700);
    // Well under the default 10 s wait, with room for a loaded machine: the variable is what bounded it.
    expect(elapsed).toBeLessThan(9000);
    const { session, traces, messageTrace } = evidence(project.dataDir);
    expect(isDefaultTitle(session.title)).toBe(true);
    expect(traces).toEqual([
      expect.objectContaining({ success: false, applied: false, error_message: "title generation timed out after 700 ms" }),
    ]);
    expect(traces[0]!.completed_at! - traces[0]!.started_at).toBeGreaterThanOrEqual(690);
    expect(messageTrace).toEqual(traces[0]);
    expect(warnings(project.dataDir)).toHaveLength(1);
    // The stalled request was abandoned, not left open on the server.
    expect(model.titleRequests()).toHaveLength(1);
  });
});

describe("title generation in process", () => {
  it("never delays the turn: the answer arrives while the title request is still stalled", async () => {
    const model = await startModel([{ text: "fast answer" }], { stall: true });
    const project = makeProject(mockConfig(model.baseURL));
    const rt = runtimeFor(project, { ODE_TITLE_TIMEOUT_MS: "8000" });
    try {
      const session = rt.store.createSession({ directory: project.dir });
      const result = await prompt(rt, { sessionID: session.id, text: "hi" });
      expect(result.outcome).toBe("completed");
      expect(result.text).toBe("fast answer");
      expect(model.titleRequests()).toHaveLength(1);
      // Still in flight: the trace is durable already, on the session and on the turn's first assistant message.
      const [inFlight] = rt.store.titleTraces<TitleTrace>(session.id);
      expect(inFlight).toMatchObject({ success: false, applied: false, user_message_id: result.userMessageID });
      expect(inFlight!.completed_at).toBeUndefined();
      const assistant = rt.store.getMessage(result.assistantMessageIDs[0]!) as AssistantMessage;
      expect(assistant.diagnostics?.title_generation).toMatchObject({ started_at: inFlight!.started_at });
      expect((assistant.diagnostics?.title_generation as TitleTrace).completed_at).toBeUndefined();

      await result.titleDone;
      const [final] = rt.store.titleTraces<TitleTrace>(session.id);
      expect(final).toMatchObject({ success: false, error_message: "title generation timed out after 8000 ms" });
      expect((rt.store.getMessage(assistant.id) as AssistantMessage).diagnostics?.title_generation).toEqual(final);
    } finally {
      rt.close();
    }
  });

  it.each([
    ["an empty answer", "", "the title model answered with an empty title"],
    ["a think-tag-only answer", "<think>I should name this session</think>", "the title model answered with an empty title"],
  ])("%s: failed trace, default title kept", async (_name, answer, error) => {
    const model = await startModel([{ text: "ok" }], { text: answer });
    const project = makeProject(mockConfig(model.baseURL));
    const rt = runtimeFor(project);
    try {
      const session = rt.store.createSession({ directory: project.dir });
      const result = await prompt(rt, { sessionID: session.id, text: "hi" });
      await result.titleDone;
      expect(rt.store.getSession(session.id).title).toBe(session.title);
      expect(rt.store.titleTraces(session.id)).toEqual([
        expect.objectContaining({ success: false, applied: false, error_message: error }),
      ]);
      expect(warnings(project.dataDir)).toHaveLength(1);
    } finally {
      rt.close();
    }
  });

  it("a provider answer with think-tags and quotes is cleaned before it is stored", async () => {
    const model = await startModel([{ text: "ok" }], { text: '<think>short and clear…</think>\n"Fix the login"' });
    const project = makeProject(mockConfig(model.baseURL));
    const rt = runtimeFor(project);
    try {
      const session = rt.store.createSession({ directory: project.dir });
      await (await prompt(rt, { sessionID: session.id, text: "hi" })).titleDone;
      expect(rt.store.getSession(session.id).title).toBe("Fix the login");
      expect(rt.store.titleTraces(session.id)).toEqual([expect.objectContaining({ success: true, applied: true, title: "Fix the login" })]);
    } finally {
      rt.close();
    }
  });

  it("config small_model: the title request goes to the small model, the turn to the session's model", async () => {
    const model = await startModel([{ text: "ok" }], { text: "Small title" });
    const project = makeProject(mockConfig(model.baseURL, { small_model: "mock/tiny-model" }));
    const rt = runtimeFor(project);
    try {
      const session = rt.store.createSession({ directory: project.dir });
      await (await prompt(rt, { sessionID: session.id, text: "hi" })).titleDone;
      expect(model.titleRequests().map((r) => r.body.model)).toEqual(["tiny-model"]);
      expect(model.turnRequests().map((r) => r.body.model)).toEqual(["test-model"]);
      expect(rt.store.titleTraces(session.id)).toEqual([expect.objectContaining({ success: true, model: "mock/tiny-model" })]);
      expect(rt.store.getSession(session.id).title).toBe("Small title");
    } finally {
      rt.close();
    }
  });

  it("a misconfigured small_model fails the trace, not the turn", async () => {
    const model = await startModel([{ text: "ok" }]);
    const project = makeProject(mockConfig(model.baseURL, { small_model: "no-slash" }));
    const rt = runtimeFor(project);
    try {
      const session = rt.store.createSession({ directory: project.dir });
      const result = await prompt(rt, { sessionID: session.id, text: "hi" });
      await result.titleDone;
      expect(result.outcome).toBe("completed");
      expect(model.titleRequests()).toHaveLength(0);
      const [trace] = rt.store.titleTraces<TitleTrace>(session.id);
      expect(trace).toMatchObject({ success: false, applied: false, model: "no-slash", error_message: expect.stringContaining("provider/model") });
      expect((rt.store.getMessage(result.assistantMessageIDs[0]!) as AssistantMessage).diagnostics?.title_generation).toEqual(trace);
    } finally {
      rt.close();
    }
  });

  it("a rename while the title is in flight: success true, applied false, the user's title kept", async () => {
    const model = await startModel([{ text: "ok" }], { text: "Too late", delayMs: 3000 });
    const project = makeProject(mockConfig(model.baseURL));
    const rt = runtimeFor(project);
    try {
      const session = rt.store.createSession({ directory: project.dir });
      const result = await prompt(rt, { sessionID: session.id, text: "hi" });
      await waitFor(() => model.titleRequests().length > 0);
      rt.store.renameSession(session.id, "Chosen by the user");
      await result.titleDone;
      expect(rt.store.getSession(session.id).title).toBe("Chosen by the user");
      const [trace] = rt.store.titleTraces<TitleTrace>(session.id);
      expect(trace).toMatchObject({ success: true, applied: false, title: "Too late" });
      expect(trace!.error_message).toBeUndefined();
    } finally {
      rt.close();
    }
  });

  it("a session deleted while its title is in flight: no crash, the promise settles", async () => {
    const model = await startModel([{ text: "ok" }], { text: "Orphan", delayMs: 3000 });
    const project = makeProject(mockConfig(model.baseURL));
    const rt = runtimeFor(project);
    try {
      const session = rt.store.createSession({ directory: project.dir });
      const result = await prompt(rt, { sessionID: session.id, text: "hi" });
      rt.store.deleteSession(session.id);
      await expect(result.titleDone).resolves.toBeUndefined();
      expect(rt.store.findSession(session.id)).toBeUndefined();
    } finally {
      rt.close();
    }
  });

  it("a store closed before the title lands: the promise settles, nothing throws", async () => {
    const model = await startModel([{ text: "ok" }], { text: "Nowhere to go", delayMs: 3000 });
    const project = makeProject(mockConfig(model.baseURL));
    const rt = runtimeFor(project);
    const session = rt.store.createSession({ directory: project.dir });
    const result = await prompt(rt, { sessionID: session.id, text: "hi" });
    rt.close();
    await expect(result.titleDone).resolves.toBeUndefined();
    expect(warnings(project.dataDir).map((w) => w.message)).toContain("storing the title trace failed");
  });

  it("a session that began with a prompt-shell command still gets a title on its first turn", async () => {
    const model = await startModel([{ text: "ok" }, { text: "again" }], { text: "Shell first" });
    const project = makeProject(mockConfig(model.baseURL));
    const rt = runtimeFor(project);
    try {
      const session = rt.store.createSession({ directory: project.dir });
      expect((await runShell(rt, { sessionID: session.id, command: "true" })).outcome).toBe("completed");
      await (await prompt(rt, { sessionID: session.id, text: "hi" })).titleDone;
      expect(rt.store.getSession(session.id).title).toBe("Shell first");
      // The second turn does not generate again.
      await (await prompt(rt, { sessionID: session.id, text: "more" })).titleDone;
      expect(model.titleRequests()).toHaveLength(1);
      expect(rt.store.titleTraces(session.id)).toHaveLength(1);
    } finally {
      rt.close();
    }
  });

  it("an abort after the title completed says completed_before_abort; a failed one failed_before_abort", async () => {
    for (const [title, state] of [
      [{ text: "Quick title" }, "completed_before_abort"],
      [{ status: 500 }, "failed_before_abort"],
    ] as const) {
      const model = await startModel([{ stall: true }], title);
      const project = makeProject(mockConfig(model.baseURL));
      const rt = runtimeFor(project);
      try {
        const session = rt.store.createSession({ directory: project.dir });
        const running = prompt(rt, { sessionID: session.id, text: "hi" });
        await waitFor(() => rt.store.titleTraces<TitleTrace>(session.id)[0]?.completed_at !== undefined && model.turnRequests().length > 0);
        rt.runs.cancel(session.id, { source: "api", via: "test" });
        const result = await running;
        expect(result.outcome).toBe("aborted");
        const assistant = rt.store.getMessage(result.assistantMessageIDs[0]!) as AssistantMessage;
        expect(assistant.diagnostics?.abort).toMatchObject({ source: "api", title_generation_state: state });
      } finally {
        rt.close();
      }
    }
  });
});
