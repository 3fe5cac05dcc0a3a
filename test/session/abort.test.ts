import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { prompt } from "../../src/agent/prompt.js";
import { runShell } from "../../src/agent/shell.js";
import { createRuntime, type Runtime } from "../../src/runtime.js";
import type { AbortDiagnostic, CancelMeta } from "../../src/session/abort.js";
import { InvalidInputError } from "../../src/session/errors.js";
import type { AssistantMessage, ToolPart } from "../../src/session/schema.js";
import { Store } from "../../src/session/store.js";
import { processGroupAlive } from "../../src/shell/process-groups.js";
import {
  collect,
  makeProject,
  mockConfig,
  runOde,
  scriptedConfig,
  startModel,
  startOde,
  waitFor,
  type Project,
} from "../support/ode.js";

function runtimeFor(project: Project): Runtime {
  return createRuntime({ directory: project.dir, dataDir: project.dataDir, env: project.env });
}


/** A scripted turn whose bash tool records its process group id and then blocks. */
function blockingBash(command = "sleep 1000 & sleep 1000; wait") {
  return scriptedConfig({
    title: "scripted title",
    steps: [{ tool_calls: [{ name: "bash", input: { command: `echo $$ > pgid.txt; ${command}` } }] }, { text: "never" }],
  });
}

/** The process group of the blocking command, once it has started. */
function blockedGroup(project: Project): Promise<number> {
  const file = path.join(project.dir, "pgid.txt");
  return waitFor(() => fs.existsSync(file) && Number(fs.readFileSync(file, "utf8")));
}

/** `ode run` in a child process, stopped inside its blocking bash tool call. */
async function startBlockedOde(project: Project) {
  const child = startOde(project, ["run", "--title", "t", "block"]);
  const done = collect(child);
  child.stdin!.end();
  return { child, done, pgid: await blockedGroup(project) };
}

function assistantOf(rt: Runtime, sessionID: string, messageID: string) {
  return rt.store.messages(sessionID).find((m) => m.info.id === messageID)!;
}

describe("abort provenance", () => {
  it("during a bash tool: kills the whole group and records the diagnostic on that run's own message", async () => {
    const project = makeProject(blockingBash());
    const rt = runtimeFor(project);
    const session = rt.store.createSession({ directory: project.dir });
    const running = prompt(rt, { sessionID: session.id, text: "block" });
    const pgid = await blockedGroup(project);
    const run = rt.runs.get(session.id)!;
    expect(run.phase).toBe("tool");
    const cancel = rt.runs.cancel(session.id, { source: "api", reason: "stop it", via: "test" });
    expect(cancel).toMatchObject({ cancelled: true, cause: true, runID: run.id });
    const result = await running;
    expect(result.outcome).toBe("aborted");
    expect(processGroupAlive(pgid)).toBe(false);

    const [messageID] = result.assistantMessageIDs;
    const { info, parts } = assistantOf(rt, session.id, messageID!);
    const abort = (info as AssistantMessage).diagnostics!.abort as AbortDiagnostic;
    const tool = parts.find((p): p is ToolPart => p.type === "tool")!;
    expect(abort).toMatchObject({
      run_id: run.id,
      message_id: messageID,
      source: "api",
      mode: "soft",
      reason: "stop it",
      via: "test",
      via_ctx_abort: true,
      phase: "tool",
      tool_call_id: tool.callID,
      title_generation_state: "completed_before_abort",
    });
    expect(info).toMatchObject({ error: { name: "MessageAbortedError" } });
    expect(tool.state).toMatchObject({ status: "error", metadata: { interrupted: true } });
    const row = rt.runs.rows(session.id)[0]!;
    expect(row).toMatchObject({ outcome: "aborted" });
    expect(JSON.parse(row.interrupt!)).toMatchObject({ source: "api", reason: "stop it" });
    rt.close();
  });

  it("a store that refuses the diagnostic does not keep the run going: it stops, and its end stores the cause", async () => {
    const project = makeProject(blockingBash());
    const rt = runtimeFor(project);
    const session = rt.store.createSession({ directory: project.dir });
    const running = prompt(rt, { sessionID: session.id, text: "block" });
    const pgid = await blockedGroup(project);
    // Every write of the diagnostic while the run is open fails, as on a full disk; the write that ends the run does not.
    rt.store.db.exec(
      `CREATE TEMP TRIGGER refuse_interrupt BEFORE UPDATE OF interrupt ON runs WHEN NEW.ended_at IS NULL BEGIN SELECT RAISE(ABORT, 'no room'); END`,
    );
    expect(rt.runs.cancel(session.id, { source: "api", reason: "stop it", mode: "hard" })).toMatchObject({ cancelled: true, cause: true });
    const result = await running;
    expect(result.outcome).toBe("aborted");
    expect(processGroupAlive(pgid)).toBe(false);
    const row = rt.runs.rows(session.id)[0]!;
    expect(row.outcome).toBe("aborted");
    expect(JSON.parse(row.interrupt!)).toMatchObject({ source: "api", reason: "stop it", phase: "tool", via_ctx_abort: true });
    const { info } = assistantOf(rt, session.id, result.assistantMessageIDs[0]!);
    expect((info as AssistantMessage).diagnostics!.abort).toMatchObject({ source: "api", reason: "stop it", via_ctx_abort: true });
    expect(fs.readFileSync(rt.store.log.file, "utf8")).toContain("storing the abort diagnostic failed");
    rt.close();
  });

  it("with two tool calls in one step, the abort names the call still running", async () => {
    const project = makeProject(
      scriptedConfig({
        title: "t",
        steps: [
          {
            tool_calls: [
              { name: "bash", input: { command: "echo $$ > pgid.txt; sleep 1000" } },
              { name: "bash", input: { command: "true" } },
            ],
          },
          { text: "never" },
        ],
      }),
    );
    const rt = runtimeFor(project);
    const session = rt.store.createSession({ directory: project.dir, title: "t" });
    const running = prompt(rt, { sessionID: session.id, text: "two at once" });
    await blockedGroup(project);
    await waitFor(() => rt.runs.get(session.id)?.activeCalls.size === 1);
    rt.runs.cancel(session.id, { source: "api" });
    const result = await running;
    const { info, parts } = assistantOf(rt, session.id, result.assistantMessageIDs[0]!);
    const sleeper = parts.find((p): p is ToolPart => p.type === "tool" && JSON.stringify(p.state.input).includes("sleep"))!;
    expect((info as AssistantMessage).diagnostics!.abort).toMatchObject({
      phase: "tool",
      tool_call_id: sleeper.callID,
      via_ctx_abort: true,
    });
    expect(sleeper.state).toMatchObject({ status: "error", metadata: { interrupted: true } });
    rt.close();
  });

  it("hard mode kills a command that ignores SIGTERM at once", async () => {
    const project = makeProject(blockingBash(`trap "" TERM; sleep 1000 & wait; sleep 1000`));
    const rt = runtimeFor(project);
    const session = rt.store.createSession({ directory: project.dir, title: "t" });
    const running = prompt(rt, { sessionID: session.id, text: "block" });
    const pgid = await blockedGroup(project);
    const started = Date.now();
    rt.runs.cancel(session.id, { source: "user", mode: "hard" });
    await running;
    expect(Date.now() - started).toBeLessThan(2500);
    expect(processGroupAlive(pgid)).toBe(false);
    rt.close();
  });

  it("during a prompt shell: phase shell, on the shell run's message, output kept", async () => {
    const project = makeProject();
    const rt = runtimeFor(project);
    const session = rt.store.createSession({ directory: project.dir, title: "t" });
    const running = runShell(rt, { sessionID: session.id, command: "echo started; echo $$ > pgid.txt; sleep 1000" });
    const pgid = await blockedGroup(project);
    rt.runs.cancel(session.id, { source: "user", via: "esc" });
    const result = await running;
    expect(result.outcome).toBe("aborted");
    expect(result.output).toContain("started");
    expect(processGroupAlive(pgid)).toBe(false);
    const { info, parts } = assistantOf(rt, session.id, result.messageID);
    expect((info as AssistantMessage).diagnostics!.abort).toMatchObject({
      source: "user",
      via: "esc",
      phase: "shell",
      message_id: result.messageID,
      via_ctx_abort: true,
    });
    expect(parts[0]).toMatchObject({ type: "tool", state: { status: "error", metadata: { interrupted: true } } });
    rt.close();
  });

  it("before the assistant message exists: phase queued, the diagnostic stays on the run", async () => {
    const project = makeProject(blockingBash());
    const rt = runtimeFor(project);
    const session = rt.store.createSession({ directory: project.dir, title: "t" });
    const running = prompt(rt, { sessionID: session.id, text: "never starts" });
    rt.runs.cancel(session.id, { source: "api", reason: "too early" });
    const result = await running;
    expect(result.outcome).toBe("aborted");
    expect(result.assistantMessageIDs).toEqual([]);
    const row = rt.runs.rows(session.id)[0]!;
    const abort = JSON.parse(row.interrupt!) as AbortDiagnostic;
    expect(abort).toMatchObject({ phase: "queued", source: "api", reason: "too early", via_ctx_abort: false });
    expect(abort.message_id).toBeUndefined();
    expect(rt.store.messages(session.id).map((m) => m.info.role)).toEqual(["user"]);
    rt.close();
  });

  it("a second prompt while busy is refused with SessionBusyError; later cancels are only counted", async () => {
    const project = makeProject(blockingBash());
    const rt = runtimeFor(project);
    const session = rt.store.createSession({ directory: project.dir, title: "t" });
    const running = prompt(rt, { sessionID: session.id, text: "block" });
    await waitFor(() => rt.runs.get(session.id)?.phase === "tool");
    await expect(prompt(rt, { sessionID: session.id, text: "again" })).rejects.toMatchObject({ name: "SessionBusyError" });
    await expect(runShell(rt, { sessionID: session.id, command: "true" })).rejects.toMatchObject({ name: "SessionBusyError" });
    expect(rt.runs.cancel(session.id, { source: "user", reason: "first" }).cause).toBe(true);
    expect(rt.runs.cancel(session.id, { source: "api", reason: "second" }).cause).toBe(false);
    const result = await running;
    const abort = (rt.store.getMessage(result.assistantMessageIDs[0]!) as AssistantMessage).diagnostics!.abort as AbortDiagnostic;
    expect(abort).toMatchObject({ source: "user", reason: "first" });
    expect(rt.runs.rows(session.id)[0]!.cancel_count).toBe(1);
    const show = await runOde(project, ["session", "show", session.id]);
    expect(show.stdout).toMatch(/aborted by user \(soft\) during tool \[call_0_0_0\] reason: "first" \(\+1 later cancel\)/);
    expect(rt.runs.cancel(session.id, { source: "user" })).toEqual({ cancelled: false });
    rt.close();
  });

  it("racing cancels never swap attributions, within a run or between sessions", async () => {
    const project = makeProject(
      scriptedConfig({ title: "t", steps: [{ delay_ms: 60_000, text: "never" }] }),
    );
    const rt = runtimeFor(project);
    const sessions = [0, 1].map((i) => rt.store.createSession({ directory: project.dir, title: `s${i}` }));
    for (let round = 0; round < 200; round++) {
      const runs = sessions.map((s) => prompt(rt, { sessionID: s.id, text: `round ${round}` }));
      await waitFor(() => sessions.every((s) => rt.runs.get(s.id)?.phase === "model"), 5000);
      // Interleave four cancels in a random order: two per session, each with its own reason.
      const calls = sessions.flatMap((s, i) => ["x", "y"].map((tag) => ({ s, reason: `${round}-${i}-${tag}` })));
      calls.sort(() => Math.random() - 0.5);
      const outcomes = await Promise.all(
        calls.map(
          (c) =>
            new Promise<{ reason: string; cause?: boolean; sessionID: string }>((resolve) =>
              setImmediate(() => resolve({ ...rt.runs.cancel(c.s.id, { source: "api", reason: c.reason }), reason: c.reason, sessionID: c.s.id })),
            ),
        ),
      );
      const results = await Promise.all(runs);
      sessions.forEach((s, i) => {
        const winner = outcomes.find((o) => o.sessionID === s.id && o.cause)!;
        const abort = (rt.store.getMessage(results[i]!.assistantMessageIDs[0]!) as AssistantMessage).diagnostics!.abort as AbortDiagnostic;
        expect(abort.reason).toBe(winner.reason);
        expect(abort.reason!.startsWith(`${round}-${i}-`)).toBe(true);
        expect(abort.run_id).toBe(results[i]!.runID);
      });
    }
    rt.close();
  }, 60_000);

  it("during streamed text: the partial text part is closed, not duplicated", async () => {
    const model = await startModel([{ text: "first words then more words and the end", chunkDelayMs: 1500 }]);
    const project = makeProject(mockConfig(model.baseURL));
    const rt = runtimeFor(project);
    const session = rt.store.createSession({ directory: project.dir, title: "t" });
    let streamed = false;
    const unsubscribe = rt.events.subscribe((e) => (streamed ||= e.type === "message.part.delta" && e.sessionID === session.id));
    const running = prompt(rt, { sessionID: session.id, text: "talk" });
    await waitFor(() => streamed);
    unsubscribe();
    rt.runs.cancel(session.id, { source: "user", via: "esc" });
    const result = await running;
    expect(result.outcome).toBe("aborted");
    const parts = assistantOf(rt, session.id, result.assistantMessageIDs[0]!).parts.filter((p) => p.type === "text");
    expect(parts).toHaveLength(1);
    expect(parts[0]).toMatchObject({ type: "text", time: { end: expect.any(Number) } });
    expect((parts[0] as { text: string }).text.length).toBeGreaterThan(0);
    rt.close();
  });

  it("an abort on a later turn reports how the session's title came about", async () => {
    const project = makeProject(scriptedConfig({ title: "scripted title", steps: [{ delay_ms: 60_000, text: "never" }] }));
    const rt = runtimeFor(project);
    const generated = rt.store.createSession({ directory: project.dir });
    const named = rt.store.createSession({ directory: project.dir, title: "mine" });
    for (const session of [generated, named]) {
      for (const turn of ["first", "second"]) {
        const running = prompt(rt, { sessionID: session.id, text: turn });
        await waitFor(() => rt.runs.get(session.id)?.phase === "model");
        rt.runs.cancel(session.id, { source: "user" });
        await (await running).titleDone;
      }
    }
    const states = [generated, named].map((s) =>
      rt.runs.rows(s.id).map((r) => (JSON.parse(r.interrupt!) as AbortDiagnostic).title_generation_state),
    );
    expect(states[0]![1]).toBe("completed_before_abort");
    expect(states[1]).toEqual(["skipped", "skipped"]);
    rt.close();
  });

  it("a run timeout aborts with source timeout", async () => {
    const project = makeProject(scriptedConfig({ title: "t", steps: [{ delay_ms: 60_000, text: "never" }] }));
    const rt = runtimeFor(project);
    const session = rt.store.createSession({ directory: project.dir, title: "t" });
    const result = await prompt(rt, { sessionID: session.id, text: "slow", timeoutMs: 2000 });
    expect(result.outcome).toBe("aborted");
    const abort = (rt.store.getMessage(result.assistantMessageIDs[0]!) as AssistantMessage).diagnostics!.abort as AbortDiagnostic;
    expect(abort).toMatchObject({ source: "timeout", phase: "model", via_ctx_abort: false });
    rt.close();
  });

  it("a timeout beyond Node's timer range is refused, not turned into an abort at once", async () => {
    const project = makeProject(scriptedConfig({ title: "t", steps: [{ text: "done" }] }));
    const rt = runtimeFor(project);
    const session = rt.store.createSession({ directory: project.dir, title: "t" });
    await expect(prompt(rt, { sessionID: session.id, text: "hi", timeoutMs: 2 ** 31 })).rejects.toThrow(
      /timeoutMs must be a positive number of milliseconds, at most 2147483647/,
    );
    expect(rt.runs.rows(session.id)).toEqual([]);
    const result = await prompt(rt, { sessionID: session.id, text: "hi", timeoutMs: 2 ** 31 - 1 });
    expect(result.outcome).toBe("completed");
    rt.close();
    const cli = await runOde(project, ["run", "--timeout", "3000000000", "hi"]);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toBe("ode: --timeout must be a positive number of milliseconds, at most 2147483647 (about 24.8 days), not 3000000000\n");
  });

  it("a cancel request with a bad field is refused naming the field; a good one fills in the soft mode", async () => {
    const model = await startModel([{ text: "never", stall: true }]);
    const project = makeProject(mockConfig(model.baseURL));
    const rt = runtimeFor(project);
    const session = rt.store.createSession({ directory: project.dir, title: "t" });
    const bad: Array<[unknown, string]> = [
      [{ source: "bogus" }, 'source: Invalid option: expected one of "user"|"api"|"signal"|"timeout"|"shutdown"|"parent"'],
      [{ source: "user", mode: "gentle" }, 'mode: Invalid option: expected one of "soft"|"hard"'],
      [{ source: "user", reason: 5 }, "reason: Invalid input: expected string, received number"],
      [null, "cancel request: Invalid input: expected object, received null"],
    ];
    for (const [meta, message] of bad) expect(() => rt.runs.cancel(session.id, meta as CancelMeta)).toThrow(new InvalidInputError(message));
    const done = prompt(rt, { sessionID: session.id, text: "hi" });
    await waitFor(() => rt.runs.rows(session.id)[0]);
    expect(rt.runs.cancel(session.id, { source: "user", reason: "r", extra: 1 } as CancelMeta).cancelled).toBe(true);
    await done;
    const abort = JSON.parse(rt.runs.rows(session.id)[0]!.interrupt!) as AbortDiagnostic;
    expect(abort).toMatchObject({ source: "user", mode: "soft", reason: "r" });
    expect(abort).not.toHaveProperty("extra");
    rt.close();
  });
});

describe("abort across processes and signals", () => {
  it("ode session abort stops a model stream run by another ode process, with its reason", async () => {
    const model = await startModel([{ stall: true }]);
    const project = makeProject(mockConfig(model.baseURL));
    const child = startOde(project, ["run", "--title", "stalled", "hello"]);
    const done = collect(child);
    child.stdin!.end();
    await waitFor(() => model.turnRequests().length > 0);
    const store = Store.open(project.dataDir);
    const session = store.listSessions()[0]!;
    store.close();
    const abort = await runOde(project, ["session", "abort", session.id, "--reason", "user changed their mind"]);
    expect(abort.code).toBe(0);
    expect(abort.stdout).toContain("aborting run");
    const result = await done;
    expect(result.code).toBe(130);

    const after = Store.open(project.dataDir);
    const assistant = after.messages(session.id).find((m) => m.info.role === "assistant")!.info as AssistantMessage;
    after.close();
    expect(assistant.error).toMatchObject({ name: "MessageAbortedError" });
    expect(assistant.diagnostics!.abort).toMatchObject({
      source: "user",
      via: "cli",
      reason: "user changed their mind",
      phase: "model",
      via_ctx_abort: false,
      message_id: assistant.id,
    });
    const show = await runOde(project, ["session", "show", session.id]);
    expect(show.stdout).toMatch(/aborted: aborted by user via cli \(soft\) during model reason: "user changed their mind"/);
  });

  it.each([
    ["SIGINT", "signal"],
    ["SIGTERM", "shutdown"],
  ] as const)("%s during ode run aborts with source %s and commits the diagnostic", async (signal, source) => {
    const project = makeProject(blockingBash());
    const { child, done, pgid } = await startBlockedOde(project);
    child.kill(signal);
    expect((await done).code).toBe(130);
    expect(processGroupAlive(pgid)).toBe(false);
    const store = Store.open(project.dataDir);
    const session = store.listSessions()[0]!;
    const assistant = store.messages(session.id).find((m) => m.info.role === "assistant")!.info as AssistantMessage;
    store.close();
    expect(assistant.diagnostics!.abort).toMatchObject({ source, via: signal, phase: "tool" });
  });


  it("a soft kill of a command that ignores SIGTERM ends with SIGKILL after the grace period", async () => {
    const project = makeProject(blockingBash(`trap "" TERM; sleep 1000`));
    const rt = runtimeFor(project);
    const session = rt.store.createSession({ directory: project.dir, title: "t" });
    const running = prompt(rt, { sessionID: session.id, text: "block" });
    const pgid = await blockedGroup(project);
    const started = Date.now();
    rt.runs.cancel(session.id, { source: "user" });
    await running;
    expect(Date.now() - started).toBeGreaterThanOrEqual(2900);
    expect(processGroupAlive(pgid)).toBe(false);
    rt.close();
  });

  it("a busy session refuses a second ode run and a delete with a clear message", async () => {
    const project = makeProject(blockingBash());
    const { child, done } = await startBlockedOde(project);
    const store = Store.open(project.dataDir);
    const session = store.listSessions()[0]!;
    store.close();
    const second = await runOde(project, ["run", "--session", session.id, "again"]);
    expect(second.code).toBe(3);
    expect(second.stderr).toContain(`session ${session.id} is busy`);
    const deletion = await runOde(project, ["session", "delete", session.id]);
    expect(deletion.code).toBe(3);
    expect(deletion.stderr).toContain(`session ${session.id} is busy`);
    child.kill("SIGINT");
    await done;
  });


  it("a process killed mid-answer keeps the text that had streamed", async () => {
    const model = await startModel([{ text: "words that arrived before the crash and more", chunkDelayMs: 3000 }]);
    const project = makeProject(mockConfig(model.baseURL));
    const child = startOde(project, ["run", "--title", "t", "talk"]);
    const done = collect(child);
    child.stdin!.end();
    const streamedText = () => {
      const store = Store.open(project.dataDir);
      try {
        const session = store.listSessions()[0];
        const parts = session ? store.messages(session.id).flatMap((m) => m.parts) : [];
        const text = parts.find((p) => p.type === "text" && p.messageID !== parts[0]?.messageID && p.text);
        return text?.type === "text" ? text.text : undefined;
      } finally {
        store.close();
      }
    };
    const partial = await waitFor(streamedText);
    child.kill("SIGKILL");
    await done;
    expect("words that arrived before the crash and more".startsWith(partial)).toBe(true);
    const rt = runtimeFor(project);
    const session = rt.store.listSessions()[0]!;
    expect(rt.runs.rows(session.id)[0]).toMatchObject({ outcome: "aborted" });
    expect(rt.store.messages(session.id)[1]!.parts.find((p) => p.type === "text")).toMatchObject({ text: partial });
    rt.close();
  });

  it("a run left running by a killed process is closed on the next open: its group killed, its parts closed, its phase true", async () => {
    const project = makeProject(blockingBash());
    const child = startOde(project, ["run", "block"]);
    const done = collect(child);
    child.stdin!.end();
    const pgid = await blockedGroup(project);
    const titled = () => {
      const store = Store.open(project.dataDir);
      try {
        return store.listSessions()[0]?.title === "scripted title";
      } finally {
        store.close();
      }
    };
    await waitFor(titled);
    child.kill("SIGKILL");
    await done;
    expect(processGroupAlive(pgid)).toBe(true);

    const rt = runtimeFor(project);
    expect(processGroupAlive(pgid)).toBe(false);
    const session = rt.store.listSessions()[0]!;
    const [row] = rt.runs.rows(session.id);
    expect(row).toMatchObject({ outcome: "aborted" });
    const messages = rt.store.messages(session.id);
    const tool = messages.flatMap((m) => m.parts).find((p) => p.type === "tool") as ToolPart;
    expect(tool.state).toMatchObject({ status: "error", metadata: { interrupted: true } });
    const expected = {
      source: "shutdown",
      reason: "crash-recovery",
      phase: "tool",
      tool_call_id: tool.callID,
      title_generation_state: "completed_before_abort",
    };
    expect(JSON.parse(row!.interrupt!)).toMatchObject(expected);
    const assistant = messages.find((m) => m.info.role === "assistant")!.info as AssistantMessage;
    expect(assistant.diagnostics!.abort).toMatchObject(expected);
    const shell = await runShell(rt, { sessionID: session.id, command: "echo usable again" });
    expect(shell.output).toBe("usable again\n");
    rt.close();
  });

});
