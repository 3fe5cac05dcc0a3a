import type { ChildProcess } from "node:child_process";
import { describe, expect, it } from "vitest";
import { Store } from "../../src/session/store.js";
import { KILL_GRACE_MS } from "../../src/shell/spawn.js";
import type { AssistantMessage, ToolPart } from "../../src/session/schema.js";
import { collect, makeProject, mockConfig, runOde, startModel, startOde } from "../support/ode.js";
import { markedProcesses, staleRecords } from "../reliability/support.js";
import { client, serve } from "./support.js";

/** waitFor checks synchronously; here the run's progress is read over HTTP. */
async function toolRunning(api: ReturnType<typeof client>, sessionID: string): Promise<void> {
  for (let running = false; !running; await new Promise((r) => setTimeout(r, 20))) {
    const { body } = await api("GET", `/session/${sessionID}/message`);
    running = body.some((m: { parts: ToolPart[] }) => m.parts.some((p) => p.type === "tool" && p.state.status === "running"));
  }
}

function exitWithin(child: ChildProcess): Promise<number> {
  const start = Date.now();
  return new Promise((resolve) => child.on("exit", () => resolve(Date.now() - start)));
}

describe("ode serve (the built CLI)", () => {
  for (const signal of ["SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT"] as const) {
    it(`on ${signal} during a run, records the run aborted by shutdown and exits within 5 s`, async () => {
      const model = await startModel([{ toolCalls: [{ name: "bash", arguments: { command: "sleep 30" } }] }, { text: "slept" }]);
      const project = makeProject(mockConfig(model.baseURL));
      const { child, url, result } = await serve(project);
      const api = client(url);
      const { body: session } = await api("POST", "/session");
      expect((await api("POST", `/session/${session.id}/prompt_async`, { text: "sleep" })).status).toBe(204);
      await toolRunning(api, session.id);
      const elapsed = exitWithin(child);
      child.kill(signal);
      expect(await elapsed).toBeLessThan(5000);
      expect((await result).code).toBe(0);

      const store = Store.open(project.dataDir);
      try {
        const [run] = store.db.prepare("SELECT * FROM runs WHERE session_id = ?").all(session.id) as Array<{ outcome: string; interrupt: string }>;
        const expected = { source: "shutdown", via: signal, phase: "tool" };
        expect(run!.outcome).toBe("aborted");
        expect(JSON.parse(run!.interrupt)).toMatchObject(expected);
        const messages = store.messages(session.id);
        const assistant = messages.find((m) => m.info.role === "assistant")!.info as AssistantMessage;
        expect(assistant.diagnostics?.abort).toMatchObject(expected);
        expect(assistant.error?.name).toBe("MessageAbortedError");
        const tool = messages.flatMap((m) => m.parts).find((p) => p.type === "tool") as ToolPart;
        expect(tool.state).toMatchObject({ status: "error", metadata: { interrupted: true } });
      } finally {
        store.close();
      }
    });
  }

  it("a second signal during the shutdown makes the kill hard instead of exiting: no process of the run is left", async () => {
    const mark = `serve-${process.pid}-${Date.now()}`;
    const stubborn = `trap "" TERM INT; (trap "" TERM INT; sleep 1000) & sleep 1000 & wait`;
    const model = await startModel([{ toolCalls: [{ name: "bash", arguments: { command: stubborn } }] }, { text: "slept" }]);
    const project = makeProject(mockConfig(model.baseURL));
    const { child, url, result } = await serve(project, [], { ODE_FAULT_MARK: mark });
    const api = client(url);
    const { body: session } = await api("POST", "/session");
    expect((await api("POST", `/session/${session.id}/prompt_async`, { text: "sleep" })).status).toBe(204);
    await toolRunning(api, session.id);
    child.kill("SIGINT");
    const first = Date.now();
    await new Promise((r) => setTimeout(r, 200));
    child.kill("SIGINT");
    expect((await result).code).toBe(0);
    expect(markedProcesses("ODE_FAULT_MARK", mark)).toEqual([]);
    expect(staleRecords(project.dataDir)).toEqual([]);
    const store = Store.open(project.dataDir);
    try {
      const [run] = store.db.prepare("SELECT * FROM runs WHERE session_id = ?").all(session.id) as Array<{ outcome: string; interrupt: string; cancel_count: number; ended_at: number }>;
      expect(run).toMatchObject({ outcome: "aborted", cancel_count: 1 });
      // The processes ignore SIGTERM: only the hard kill ends the run before the soft kill's grace period would.
      expect(run!.ended_at - first).toBeLessThan(KILL_GRACE_MS);
      expect(JSON.parse(run!.interrupt)).toMatchObject({ source: "shutdown", via: "SIGINT", mode: "soft", phase: "tool" });
    } finally {
      store.close();
    }
  });

  it("stops a title still being generated when it shuts down, so its trace does not stay in flight", async () => {
    const model = await startModel([{ text: "done" }], { text: "A slow title", delayMs: 30_000 });
    const project = makeProject(mockConfig(model.baseURL));
    const { child, url, result } = await serve(project, [], { ODE_TITLE_TIMEOUT_MS: "60000" });
    const api = client(url);
    const { body: session } = await api("POST", "/session");
    expect((await api("POST", `/session/${session.id}/message`, { parts: [{ type: "text", text: "hi" }] })).status).toBe(200);
    while (model.titleRequests().length === 0) await new Promise((r) => setTimeout(r, 20));
    child.kill("SIGTERM");
    expect((await result).code).toBe(0);
    const store = Store.open(project.dataDir);
    try {
      expect(store.titleTraces(session.id)).toEqual([
        expect.objectContaining({ success: false, applied: false, error_message: "title generation stopped: ode was told to stop at once" }),
      ]);
    } finally {
      store.close();
    }
  });

  it("applies `ode session abort` from another process to a run it serves", async () => {
    const model = await startModel([{ toolCalls: [{ name: "bash", arguments: { command: "sleep 30" } }] }, { text: "slept" }]);
    const project = makeProject(mockConfig(model.baseURL));
    const { child, url } = await serve(project);
    const api = client(url);
    const { body: session } = await api("POST", "/session");
    await api("POST", `/session/${session.id}/prompt_async`, { text: "sleep" });
    await toolRunning(api, session.id);
    expect((await runOde(project, ["session", "abort", session.id, "--reason", "from the cli"])).code).toBe(0);
    for (let done = false; !done; await new Promise((r) => setTimeout(r, 20))) {
      done = (await api("GET", `/session/${session.id}/export`)).body.diagnostics.loop.last.outcome === "aborted";
    }
    const { body } = await api("GET", `/session/${session.id}/export`);
    expect(body.diagnostics.aborts).toEqual([expect.objectContaining({ source: "user", via: "cli", reason: "from the cli", phase: "tool" })]);
    child.kill("SIGTERM");
  });

  it("refuses a non-loopback hostname without ODE_SERVER_PASSWORD", async () => {
    const project = makeProject();
    const result = await collect(startOde(project, ["serve", "--port", "0", "--hostname", "0.0.0.0"]));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/refusing to listen on 0\.0\.0\.0 without a password/);
    expect(result.stderr).toContain("ODE_SERVER_PASSWORD");
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it("with ODE_SERVER_PASSWORD, binds any address and requires Basic auth", async () => {
    const project = makeProject();
    const { child, url } = await serve(project, ["--hostname", "0.0.0.0"], { ODE_SERVER_PASSWORD: "hunter2" });
    const local = url.replace("0.0.0.0", "127.0.0.1");
    expect((await client(local)("GET", "/session")).status).toBe(401);
    const authed = client(local, { authorization: `Basic ${Buffer.from("ode:hunter2").toString("base64")}` });
    expect((await authed("GET", "/session")).status).toBe(200);
    const exited = exitWithin(child);
    child.kill("SIGTERM");
    expect(await exited).toBeLessThan(5000);
  });

  it("ode run --attach runs the turn on the server and prints it like a local run", async () => {
    const model = await startModel([
      { toolCalls: [{ name: "bash", arguments: { command: 'echo "attached in $OPENCODE_SESSION_ID"' } }] },
      { text: "answer from the server" },
    ]);
    const project = makeProject(mockConfig(model.baseURL));
    const { child, url } = await serve(project);
    const result = await runOde(project, ["run", "--attach", url, "--title", "remote", "hello"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("answer from the server");
    const { body } = await client(url)("GET", "/session");
    expect(body.map((s: { title: string }) => s.title)).toEqual(["remote"]);
    const toolMessage = model.turnRequests()[1]!.body.messages.find((m: { role: string }) => m.role === "tool");
    expect(JSON.stringify(toolMessage)).toContain(`attached in ${body[0].id}`);
    child.kill("SIGTERM");
  });

  it("rejects a bad --port", async () => {
    const result = await collect(startOde(makeProject(), ["serve", "--port", "http"]));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("--port must be a port number");
  });
});
