import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { prompt } from "../../src/agent/prompt.js";
import { createRuntime } from "../../src/runtime.js";
import { sessionEnv } from "../../src/shell/env.js";
import { Store } from "../../src/session/store.js";
import type { ToolPart } from "../../src/session/schema.js";
import { makeProject, mockConfig, ODE, runOde, scriptedConfig, startModel, tempDir } from "../support/ode.js";
import { startOpenAIServer, type RecordedRequest, type ScriptedReply } from "../support/openai-server.js";

const PRINT_ENV = `echo "id=$OPENCODE_SESSION_ID title=$OPENCODE_SESSION_TITLE agent=$AGENT opencode=$OPENCODE"`;

function toolOutputs(dataDir: string, sessionID: string): string[] {
  const store = Store.open(dataDir);
  try {
    return store
      .messages(sessionID)
      .flatMap((m) => m.parts)
      .filter((p): p is ToolPart => p.type === "tool")
      .map((p) => (p.state.status === "completed" ? p.state.output : p.state.status === "error" ? p.state.error : ""));
  } finally {
    store.close();
  }
}

function sessions(dataDir: string) {
  const store = Store.open(dataDir);
  try {
    return store.listSessions();
  } finally {
    store.close();
  }
}

/** A turn that runs `command` with bash, then answers "done". */
function bashTurn(command: string): ScriptedReply[] {
  return [{ toolCalls: [{ name: "bash", arguments: { command } }] }, { text: "done" }];
}

describe("session context of child processes", () => {
  it("the bash tool sees its session's id and title, and AGENT/OPENCODE", async () => {
    const model = await startModel(bashTurn(PRINT_ENV));
    const project = makeProject(mockConfig(model.baseURL));
    const result = await runOde(project, ["run", "--title", "Ralph iteration 1", "print the env"]);
    expect(result.code).toBe(0);
    const [session] = sessions(project.dataDir);
    expect(toolOutputs(project.dataDir, session!.id)[0]).toBe(
      `id=${session!.id} title=Ralph iteration 1 agent=1 opencode=1\n`,
    );
    // The model got the same output as the tool result.
    const toolMessage = model.turnRequests()[1]!.body.messages.find((m: { role: string }) => m.role === "tool");
    expect(JSON.stringify(toolMessage)).toContain(session!.id);
  });

  it("logs the right session in every iteration of a Ralph loop", async () => {
    const log = "iterations.log";
    const model = await startModel([
      ...bashTurn(`echo "Running in session: $OPENCODE_SESSION_TITLE ($OPENCODE_SESSION_ID)" >> ${log}`),
      ...bashTurn(`echo "Running in session: $OPENCODE_SESSION_TITLE ($OPENCODE_SESSION_ID)" >> ${log}`),
      ...bashTurn(`echo "Running in session: $OPENCODE_SESSION_TITLE ($OPENCODE_SESSION_ID)" >> ${log}`),
    ]);
    const project = makeProject(mockConfig(model.baseURL));
    for (let i = 1; i <= 3; i++) {
      expect((await runOde(project, ["run", "--title", `iteration ${i}`, "same prompt"])).code).toBe(0);
    }
    const byTitle = new Map(sessions(project.dataDir).map((s) => [s.title, s.id]));
    expect(fs.readFileSync(path.join(project.dir, log), "utf8").trim().split("\n")).toEqual(
      [1, 2, 3].map((i) => `Running in session: iteration ${i} (${byTitle.get(`iteration ${i}`)})`),
    );
  });

  it("two sessions running at once in one process each see only their own", async () => {
    const project = makeProject(
      scriptedConfig({
        title: "scripted title",
        steps: [{ tool_calls: [{ name: "bash", input: { command: `sleep 0.3; ${PRINT_ENV}` } }] }, { text: "ok" }],
      }),
    );
    const rt = createRuntime({ directory: project.dir, dataDir: project.dataDir, env: project.env });
    const a = rt.store.createSession({ directory: project.dir, title: "session A" });
    const b = rt.store.createSession({ directory: project.dir, title: "session B" });
    const [ra, rb] = await Promise.all([
      prompt(rt, { sessionID: a.id, text: "go" }),
      prompt(rt, { sessionID: b.id, text: "go" }),
    ]);
    expect([ra.outcome, rb.outcome]).toEqual(["completed", "completed"]);
    rt.close();
    expect(toolOutputs(project.dataDir, a.id)).toEqual([`id=${a.id} title=session A agent=1 opencode=1\n`]);
    expect(toolOutputs(project.dataDir, b.id)).toEqual([`id=${b.id} title=session B agent=1 opencode=1\n`]);
  });

  it("a rename between two turns changes what the next spawn sees", async () => {
    const model = await startModel([...bashTurn(PRINT_ENV), ...bashTurn(PRINT_ENV)]);
    const project = makeProject(mockConfig(model.baseURL));
    expect((await runOde(project, ["run", "--title", "before", "one"])).code).toBe(0);
    const [session] = sessions(project.dataDir);
    expect((await runOde(project, ["session", "rename", session!.id, "after"])).code).toBe(0);
    expect((await runOde(project, ["run", "--session", session!.id, "two"])).code).toBe(0);
    const outputs = toolOutputs(project.dataDir, session!.id);
    expect(outputs[0]).toContain("title=before ");
    expect(outputs[1]).toContain("title=after ");
  });

  it("replaces session variables inherited from an outer environment", async () => {
    const model = await startModel(bashTurn(PRINT_ENV));
    const project = makeProject(mockConfig(model.baseURL));
    const result = await runOde(project, ["run", "--title", "inner", "hi"], {
      env: { OPENCODE_SESSION_ID: "ses_outer", OPENCODE_SESSION_TITLE: "outer title" },
    });
    expect(result.code).toBe(0);
    const [session] = sessions(project.dataDir);
    const [output] = toolOutputs(project.dataDir, session!.id);
    expect(output).toBe(`id=${session!.id} title=inner agent=1 opencode=1\n`);
    expect(output).not.toContain("outer");
  });

  it("a nested ode run inside the bash tool gets its own session for its children", async () => {
    const nested = `node ${JSON.stringify(ODE)} run --title nested-run inner-turn`;
    // One server answers both ode processes: the turn whose first user message is "inner-turn" prints its env.
    const route = (req: RecordedRequest): ScriptedReply => {
      const msgs = req.body.messages as Array<{ role: string; content: unknown }>;
      const inner = msgs.some((m) => m.role === "user" && JSON.stringify(m.content).includes("inner-turn"));
      const afterTool = msgs.at(-1)!.role === "tool";
      if (afterTool) return { text: "done" };
      return { toolCalls: [{ name: "bash", arguments: { command: inner ? PRINT_ENV : nested } }] };
    };
    const server = await startOpenAIServer((req) => (req.body.tools ? route(req) : { text: "title" }));
    try {
      const project = makeProject(mockConfig(server.baseURL));
      const result = await runOde(project, ["run", "--title", "outer-run", "outer-turn"]);
      expect(result.code).toBe(0);
      const all = sessions(project.dataDir);
      const outer = all.find((s) => s.title === "outer-run")!;
      const inner = all.find((s) => s.title === "nested-run")!;
      expect(inner.id).not.toBe(outer.id);
      expect(toolOutputs(project.dataDir, inner.id)).toEqual([`id=${inner.id} title=nested-run agent=1 opencode=1\n`]);
    } finally {
      await server.close();
    }
  });

  it("a deleted session or a failing store: the command runs without the variables and one warning is logged", async () => {
    const dir = tempDir();
    const store = Store.open(dir);
    const session = store.createSession({ directory: dir, title: "doomed" });
    store.deleteSession(session.id);
    const base = { PATH: process.env.PATH, OPENCODE_SESSION_ID: "ses_stale", OPENCODE_SESSION_TITLE: "stale" };
    const env = sessionEnv(store, session.id, base);
    expect(env.OPENCODE_SESSION_ID).toBeUndefined();
    expect(env.OPENCODE_SESSION_TITLE).toBeUndefined();
    store.close();
    const failing = sessionEnv({ sessionTitle: () => { throw new Error("database is closed"); }, log: store.log }, session.id, base);
    expect(failing.OPENCODE_SESSION_ID).toBeUndefined();
    const warnings = fs.readFileSync(store.log.file, "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(warnings.filter((w) => w.level === "warn")).toHaveLength(2);
    expect(warnings[0]).toMatchObject({ sessionID: session.id });
  });

  it("a session deleted mid-run ends the run with a clear error, not a crash", async () => {
    const project = makeProject(
      scriptedConfig({
        steps: [
          { tool_calls: [{ name: "bash", input: { command: `node ${JSON.stringify(ODE)} session delete --force "$OPENCODE_SESSION_ID"` } }] },
          { text: "never reached" },
        ],
      }),
    );
    const result = await runOde(project, ["run", "--title", "short-lived", "go"]);
    expect(result.code).toBe(2);
    // The tool's progress lines, then one clear line: no stack trace.
    expect(result.stderr).toMatch(/\node: session not found: ses_\w+\n$/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(sessions(project.dataDir)).toEqual([]);
  });
});

describe("prompt shell", () => {
  it("ode shell runs the command in the session's context and records it", async () => {
    const project = makeProject();
    const store = Store.open(project.dataDir);
    const session = store.createSession({ directory: project.dir, title: "shell session" });
    store.close();
    const result = await runOde(project, ["shell", session.id, PRINT_ENV], {
      env: { OPENCODE_SESSION_ID: "ses_outer" },
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`id=${session.id} title=shell session agent=1 opencode=1\n`);
    const after = Store.open(project.dataDir);
    const messages = after.messages(session.id);
    after.close();
    expect(messages.map((m) => m.info.role)).toEqual(["user", "assistant"]);
    expect(messages[1]!.parts[0]).toMatchObject({ type: "tool", tool: "bash", state: { status: "completed" } });
  });

  it("ode shell exits with the command's exit code and fails clearly for an unknown session", async () => {
    const project = makeProject();
    const store = Store.open(project.dataDir);
    const session = store.createSession({ directory: project.dir });
    store.close();
    expect((await runOde(project, ["shell", session.id, "exit 7"])).code).toBe(7);
    const unknown = await runOde(project, ["shell", "ses_nope", "true"]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain("session not found: ses_nope");
  });

  it("ode shell says which directory is gone when the session's directory no longer exists", async () => {
    const project = makeProject();
    const gone = path.join(project.dir, "checkout");
    const store = Store.open(project.dataDir);
    const session = store.createSession({ directory: gone });
    store.close();
    const result = await runOde(project, ["shell", session.id, "echo never"]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(`ode: directory ${gone} does not exist: the command cannot run there\n`);
    // The interactive prompt's !cmd says it too, and goes on.
    const interactive = await runOde(project, ["--session", session.id], { input: "!echo never\n/exit\n" });
    expect(interactive.code).toBe(0);
    expect(interactive.stdout).toContain(`[shell error: directory ${gone} does not exist: the command cannot run there]`);
    const reader = Store.open(project.dataDir);
    const [, answer] = reader.messages(session.id);
    reader.close();
    expect(answer!.info).toMatchObject({ error: { data: { message: `directory ${gone} does not exist: the command cannot run there` } } });
  });

  it("the interactive prompt: !cmd, /title, /new, /switch each change what the next command sees", async () => {
    const project = makeProject();
    const store = Store.open(project.dataDir);
    const first = store.createSession({ directory: project.dir, title: "first" });
    store.close();
    const input = [
      `!${PRINT_ENV}`,
      "/title renamed here",
      `!${PRINT_ENV}`,
      "/new",
      `!${PRINT_ENV}`,
      `/switch ${first.id}`,
      `!${PRINT_ENV}`,
      "/exit",
    ].join("\n");
    const result = await runOde(project, ["--session", first.id], { input: input + "\n" });
    expect(result.code).toBe(0);
    const lines = result.stdout.split("\n").filter((l) => l.includes("id=")).map((l) => l.replace(/^.*?id=/, "id="));
    const created = sessions(project.dataDir).find((s) => s.id !== first.id)!;
    expect(lines).toEqual([
      `id=${first.id} title=first agent=1 opencode=1`,
      `id=${first.id} title=renamed here agent=1 opencode=1`,
      `id=${created.id} title=${created.title} agent=1 opencode=1`,
      `id=${first.id} title=renamed here agent=1 opencode=1`,
    ]);
  });
});
