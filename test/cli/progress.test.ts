import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { makeProject, mockConfig, ODE, onlySession, runOde, scriptedConfig, startModel, startOde, collect, waitFor, type Project } from "../support/ode.js";

const ESC = "\x1b";
/** The screen without its colours, to read the words. */
const plain = (screen: string) => screen.replace(/\x1b\[[0-9;]*m/g, "");

/** ode on a real terminal: `script` (util-linux) gives it a pty; what it draws arrives on script's stdout. */
function onTerminal(project: Project, args: string[], env: NodeJS.ProcessEnv = {}) {
  const command = [process.execPath, ODE, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(" ");
  const child = spawn("script", ["-qfec", command, "/dev/null"], {
    cwd: project.dir,
    env: { ...project.env, TERM: "xterm", COLUMNS: "100", LINES: "40", ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let screen = "";
  child.stdout.on("data", (d) => (screen += d));
  const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
  return { child, exited, screen: () => screen };
}

const longCommand = (marker: string) => ({
  title: "Long title",
  steps: [{ text: "Starting.", tool_calls: [{ name: "bash", input: { command: `echo ${marker}-one; echo ${marker}-two; sleep 1000` } }] }, { text: "never" }],
});

describe("ode run shows progress as it happens", () => {
  it("on a pipe: tool start, output and end as plain lines, no escape codes, the answer alone on stdout", async () => {
    const project = makeProject(
      scriptedConfig({
        title: "t",
        steps: [
          { text: "Checking.", tool_calls: [{ name: "bash", input: { command: "echo first; printf '\\033[31mcoloured\\033[0m\\n'; exit 3" } }] },
          { text: "Done." },
        ],
      }),
    );
    const result = await runOde(project, ["run", "go"], { env: { FORCE_COLOR: "1" } });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("Checking.\nDone.\n");
    const { session } = onlySession(project.dataDir);
    expect(result.stderr).toBe(
      [
        "| bash  echo first; printf '\\033[31mcoloured\\033[0m\\n'; exit 3",
        "|   first",
        "|   coloured",
        "| bash  exit 3",
        `session ${session.id}`,
        "",
      ].join("\n"),
    );
    expect(result.stdout + result.stderr).not.toContain(ESC);
  });

  it("on a terminal: the running command's output and elapsed time update in place until Ctrl-C, which is explained", async () => {
    const project = makeProject(scriptedConfig(longCommand("tail")));
    const term = onTerminal(project, ["run", "go"]);
    await waitFor(() => /\n {2}tail-one\r?\n {2}tail-two/.test(plain(term.screen())));
    expect(plain(term.screen())).toContain("| bash  echo tail-one; echo tail-two; sleep 1000");
    // The status line names the call and counts up: seen at two different times while the command runs.
    const first = /sleep 1000 {2}(\d+\.\d) s/.exec(plain(term.screen()))![1];
    await waitFor(() => {
      const times = [...plain(term.screen()).matchAll(/sleep 1000 {2}(\d+\.\d) s/g)].map((m) => m[1]);
      return times.length > 1 && times.at(-1) !== first;
    });
    // The tail and the status are redrawn over the previous ones, not appended.
    expect(term.screen()).toContain(`${ESC}[2K`);
    expect(onlySession(project.dataDir).messages).toHaveLength(2);
    term.child.stdin.write("\x03");
    expect(await term.exited).toBe(130);
    const { session } = onlySession(project.dataDir);
    expect(plain(term.screen())).toContain(`ode: aborted by SIGINT during bash (session ${session.id})`);
  });

  it("NO_COLOR on a terminal: progress without colours", async () => {
    const project = makeProject(
      scriptedConfig({ title: "t", steps: [{ tool_calls: [{ name: "bash", input: { command: "echo nocolour" } }] }, { text: "ok" }] }),
    );
    const term = onTerminal(project, ["run", "go"], { NO_COLOR: "1" });
    expect(await term.exited).toBe(0);
    expect(term.screen()).toContain("| bash  echo nocolour");
    expect(term.screen()).not.toMatch(/\x1b\[(1|2|22|3\d|39)m/);
  });

  it("says when it waits for the session title at the end", async () => {
    const model = await startModel([{ text: "the answer" }], { stall: true });
    const project = makeProject(mockConfig(model.baseURL));
    const result = await runOde(project, ["run", "hello"], { env: { ODE_TITLE_TIMEOUT_MS: "6000" } });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("the answer\n");
    expect(result.stderr).toMatch(/^waiting for the session title, up to 6 s\nsession ses_\w+\n$/);
  });
});

describe("the interactive prompt shows progress as it happens", () => {
  it("a long command's output and time live, then Esc, explained; the prompt names the session", async () => {
    const project = makeProject(scriptedConfig(longCommand("live")));
    const term = onTerminal(project, []);
    await waitFor(() => term.screen().includes("ode>"));
    term.child.stdin.write("run it\r");
    await waitFor(() => /\n {2}live-one\r?\n {2}live-two/.test(plain(term.screen())));
    expect(plain(term.screen())).toMatch(/sleep 1000 {2}\d+\.\d s/);
    term.child.stdin.write(ESC);
    await waitFor(() => plain(term.screen()).includes("[aborted by user via esc during bash]"));
    const { session } = onlySession(project.dataDir);
    await waitFor(() => term.screen().includes(`(${session.id.slice(0, 13)})> `));
    term.child.stdin.write("/exit\r");
    expect(await term.exited).toBe(0);
  });
});

describe("every stop is explained on screen", () => {
  it("a timeout", async () => {
    const project = makeProject(scriptedConfig(longCommand("t")));
    const result = await runOde(project, ["run", "--timeout", "700", "go"]);
    expect(result.code).toBe(130);
    const { session } = onlySession(project.dataDir);
    expect(result.stderr).toContain(`ode: aborted: timeout after 700 ms (session ${session.id})`);
  });

  it("ode session abort from another process, with its reason", async () => {
    const project = makeProject(scriptedConfig(longCommand("a")));
    const child = startOde(project, ["run", "go"]);
    const done = collect(child);
    child.stdin!.end();
    const session = await waitFor(() => {
      try {
        const { session, messages } = onlySession(project.dataDir);
        return messages.some((m) => m.parts.some((p) => p.type === "tool" && p.state.status === "running")) && session;
      } catch {
        return undefined;
      }
    });
    const abort = await runOde(project, ["session", "abort", session.id, "--reason", "changed my mind"]);
    expect(abort.code).toBe(0);
    const result = await done;
    expect(result.code).toBe(130);
    expect(result.stderr).toContain(`ode: aborted by user via cli during bash: "changed my mind" (session ${session.id})`);
  });

  it("a model error shows the provider's HTTP status and message", async () => {
    const model = await startModel([{ status: 401, errorBody: { error: { message: "Incorrect API key provided", type: "invalid_request_error" } } }]);
    const project = makeProject(mockConfig(model.baseURL));
    const result = await runOde(project, ["run", "hello"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^ode: run error: HTTP 401: Incorrect API key provided \(session ses_\w+\)$/m);
  });
});
