import { spawn } from "node:child_process";
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import type { AbortDiagnostic } from "../../src/session/abort.js";
import { Store } from "../../src/session/store.js";
import { markedProcesses, staleRecords } from "../reliability/support.js";
import type { TitleTrace } from "../../src/agent/title.js";
import { makeProject, mockConfig, ODE, onlySession, scriptedConfig, startModel, waitFor, type Project } from "../support/ode.js";

/** The interactive prompt on a real terminal: `script` (util-linux, always on Debian) gives it a pty. */
function startOnTerminal(project: Project, env: NodeJS.ProcessEnv = {}) {
  const child = spawn("script", ["-qfec", `${process.execPath} ${ODE}`, "/dev/null"], {
    cwd: project.dir,
    env: { ...project.env, TERM: "xterm", ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let screen = "";
  child.stdout.on("data", (d) => (screen += d));
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  return { child, exited, screen: () => screen };
}

function lastRun(project: Project) {
  const store = Store.open(project.dataDir);
  try {
    const session = store.listSessions()[0];
    if (!session) return undefined;
    const row = store.db.prepare(`SELECT * FROM runs WHERE session_id = ? ORDER BY started_at DESC LIMIT 1`).get(session.id) as
      | { kind: string; outcome: string | null; interrupt: string | null; owner_pid: number }
      | undefined;
    return row;
  } finally {
    store.close();
  }
}

function toolRunning(project: Project) {
  return () => {
    try {
      return onlySession(project.dataDir).messages.some((m) => m.parts.some((p) => p.type === "tool" && p.state.status === "running"));
    } catch {
      return false;
    }
  };
}

describe("the interactive prompt on a terminal", () => {
  it("closing the terminal mid-tool aborts the run with source signal via SIGHUP; ode exits and leaves no process", async () => {
    const mark = `tty-${process.pid}-${Date.now()}`;
    // The command outlasts the soft kill's grace period, so ode keeps drawing progress on the closed terminal.
    const command = `trap "" TERM INT HUP; sleep 1000 & wait; sleep 1000`;
    const project = makeProject(scriptedConfig({ title: "t", steps: [{ tool_calls: [{ name: "bash", input: { command } }] }, { text: "never" }] }));
    const term = startOnTerminal(project, { ODE_FAULT_MARK: mark });
    await waitFor(() => term.screen().includes("ode>"));
    term.child.stdin.write("run something long\r");
    await waitFor(toolRunning(project));
    const ode = lastRun(project)!.owner_pid;
    // The terminal goes away under ode, as when its window is closed.
    term.child.kill("SIGKILL");
    await waitFor(() => !fs.existsSync(`/proc/${ode}`) || fs.readFileSync(`/proc/${ode}/stat`, "utf8").includes(") Z "));
    expect(markedProcesses("ODE_FAULT_MARK", mark)).toEqual([]);
    expect(staleRecords(project.dataDir)).toEqual([]);
    const run = lastRun(project)!;
    expect(run.outcome).toBe("aborted");
    expect(JSON.parse(run.interrupt!) as AbortDiagnostic).toMatchObject({ source: "signal", via: "SIGHUP", phase: "tool" });
  });

  it("a signal ends the prompt without waiting for a title still being generated: its trace says it was stopped", async () => {
    const model = await startModel([{ text: "done" }], { text: "A slow title", delayMs: 30_000 });
    const project = makeProject(mockConfig(model.baseURL));
    const term = startOnTerminal(project, { ODE_TITLE_TIMEOUT_MS: "60000" });
    await waitFor(() => term.screen().includes("ode>"));
    term.child.stdin.write("hi\r");
    await waitFor(() => lastRun(project)?.outcome === "completed" && model.titleRequests().length === 1);
    const ode = lastRun(project)!.owner_pid;
    process.kill(ode, "SIGTERM");
    // Well before the title would arrive: a prompt that waited for it would still be here.
    await waitFor(() => !fs.existsSync(`/proc/${ode}`) || fs.readFileSync(`/proc/${ode}/stat`, "utf8").includes(") Z "), 20_000);
    const store = Store.open(project.dataDir);
    try {
      const traces = store.titleTraces<TitleTrace>(store.listSessions()[0]!.id);
      expect(traces).toEqual([
        expect.objectContaining({ success: false, applied: false, error_message: "title generation stopped: ode was told to stop at once" }),
      ]);
    } finally {
      store.close();
    }
  });

  it.each([
    ["Esc", "\x1b", "esc"],
    ["Ctrl-C", "\x03", "ctrl-c"],
  ])("%s aborts the running run with source user, and the prompt keeps working", async (_, key, via) => {
    const project = makeProject(
      scriptedConfig({ title: "t", steps: [{ tool_calls: [{ name: "bash", input: { command: "sleep 1000" } }] }, { text: "never" }] }),
    );
    const term = startOnTerminal(project);
    await waitFor(() => term.screen().includes("ode>"));
    term.child.stdin.write("run something long\r");
    await waitFor(toolRunning(project));
    term.child.stdin.write(key);
    const run = await waitFor(() => {
      const row = lastRun(project);
      return row?.outcome === "aborted" && row;
    });
    expect(JSON.parse(run.interrupt!) as AbortDiagnostic).toMatchObject({ source: "user", via, phase: "tool" });
    term.child.stdin.write("!echo still-reading\r");
    await waitFor(() => term.screen().includes("still-reading\r\n"));
    term.child.stdin.write("/exit\r");
    expect(await term.exited).toBe(0);
  });
});
