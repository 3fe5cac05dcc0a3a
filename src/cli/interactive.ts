import type { Command } from "commander";
import type { Key } from "node:readline";
import type { Runtime } from "../runtime.js";
import { InvalidInputError, SessionNotFoundError } from "../session/errors.js";
import type { SessionInfo } from "../session/schema.js";
import { action } from "./fail.js";
import { openRuntime } from "./open.js";
import { wireSignals } from "./signals.js";

const HELP = `Type a message for the model, or:
  !<command>      run a shell command in this session's context
  /new            start a new session
  /sessions       list sessions
  /switch <id>    switch to another session
  /title <text>   set this session's title
  /compact        summarise this session's older turns now (later prompts start from the summary)
  /help           this text
  /exit           quit (or Ctrl-D)
Esc or Ctrl-C while a run is going aborts it.`;

/**
 * While a run goes, Esc aborts it (source `user`); Ctrl-C is handled by the prompt's SIGINT handler. On a pipe
 * there are no keys: SIGINT aborts. Returns the detach function.
 */
function listenForAbort(rt: Runtime, sessionID: string): () => void {
  const stdin = process.stdin;
  if (stdin.isTTY) {
    const onKey = (_: string, key: Key | undefined) => {
      if (key?.name === "escape") rt.runs.cancel(sessionID, { source: "user", via: "esc" });
    };
    stdin.on("keypress", onKey);
    return () => stdin.off("keypress", onKey);
  }
  const onInt = () => rt.runs.cancel(sessionID, { source: "user", via: "SIGINT" });
  process.on("SIGINT", onInt);
  return () => process.off("SIGINT", onInt);
}

/** Enough of an id to tell sessions apart (down to the millisecond of creation), and a valid `/switch` prefix. */
export function shortID(id: string): string {
  return id.slice(0, 13);
}

/** The session whose id is `text` or starts with it; an ambiguous prefix names its candidates. */
export function matchSession(rt: Runtime, text: string): SessionInfo {
  if (!text) throw new InvalidInputError("/switch needs a session id (or the start of one); /sessions lists them");
  const exact = rt.store.findSession(text);
  if (exact) return exact;
  const matches = rt.store.listSessions().filter((s) => s.id.startsWith(text));
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) throw new SessionNotFoundError(text);
  throw new InvalidInputError(`${text} is ambiguous: ${matches.map((s) => s.id).join(", ")}`);
}

export async function interactive(rt: Runtime, start?: SessionInfo): Promise<void> {
  const readline = await import("node:readline");
  const { prompt, TitlesInFlight } = await import("../agent/prompt.js");
  const { runShell } = await import("../agent/shell.js");
  const { renderEvents } = await import("./render.js");
  const { modelSpec, pickModelName } = await import("../provider/provider.js");
  let current = start;
  let exited = false;
  const titles = new TitlesInFlight();
  const session = () => (current ??= rt.store.createSession({ directory: rt.directory }));
  const say = (text: string) => process.stdout.write(text + "\n");
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout, terminal: process.stdin.isTTY });
  if (process.stdin.isTTY) readline.emitKeypressEvents(process.stdin, rl);
  const render = await renderEvents(rt, "text", () => current?.id);
  // Ctrl-C in the terminal: aborts the run that is going; when idle, a second one within 2 s quits. Without this
  // handler readline would pause its input and the prompt would stop reading.
  let idleInterrupt = 0;
  rl.on("SIGINT", () => {
    const running = current && rt.runs.get(current.id);
    if (running) {
      // A second Ctrl-C while the abort is under way kills the run's processes at once.
      rt.runs.cancel(running.sessionID, { source: "user", via: "ctrl-c", mode: running.interrupt ? "hard" : "soft" });
    } else if (Date.now() - idleInterrupt < 2000) {
      rl.close();
    } else {
      idleInterrupt = Date.now();
      say("\n(Ctrl-C again to quit, or /exit)");
      rl.prompt();
    }
  });
  // A closed terminal (SIGHUP), SIGTERM or SIGQUIT ends the prompt as /exit does, after the run that is going has
  // been aborted and recorded: left to the default action, ode would die and leave that run's processes running.
  const unwire = wireSignals((meta) => {
    if (current) rt.runs.cancelOwn(current.id, meta);
    // The prompt is ending for good: titles still in flight are stopped rather than waited for.
    titles.stop();
    try {
      rl.close();
    } catch {
      // A terminal that is gone refuses to leave raw mode; there is nothing left to restore.
    }
  }, { except: ["SIGINT"] });
  const setPrompt = () => rl.setPrompt(current ? `${current.title.slice(0, 30)} (${shortID(current.id)})> ` : "ode> ");
  say(`ode interactive prompt (${rt.directory}). /help for commands.`);
  setPrompt();
  rl.prompt();
  for await (const raw of rl) {
    const line = raw.trim();
    try {
      if (!line) {
        // nothing to do
      } else if (line === "/exit" || line === "/quit") {
        exited = true;
        break;
      } else if (line === "/help") {
        say(HELP);
      } else if (line === "/new") {
        current = rt.store.createSession({ directory: rt.directory });
        say(`new session ${current.id}`);
      } else if (line === "/sessions") {
        for (const s of rt.store.listSessions()) say(`${s.id === current?.id ? "*" : " "} ${s.id}  ${s.title}`);
      } else if (line.startsWith("/switch")) {
        current = matchSession(rt, line.slice("/switch".length).trim());
        say(`switched to ${current.id}  ${current.title}`);
      } else if (line.startsWith("/title")) {
        current = rt.store.renameSession(session().id, line.slice("/title".length));
        say(`title: ${current.title}`);
      } else if (line === "/compact") {
        if (!current) throw new InvalidInputError("/compact needs a session with messages; this one has none yet");
        const id = current.id;
        const { compactSession } = await import("../agent/compaction.js");
        const { describeCompaction } = await import("../session/compaction.js");
        const detach = listenForAbort(rt, id);
        try {
          const result = await compactSession(rt, { sessionID: id });
          say(`[compaction ${result.outcome}: ${describeCompaction(result.compaction)}]`);
        } finally {
          detach();
        }
      } else if (line.startsWith("/")) {
        say(`unknown command ${line.split(" ")[0]}; /help lists them`);
      } else if (line.startsWith("!")) {
        const id = session().id;
        const detach = listenForAbort(rt, id);
        try {
          const result = await runShell(rt, { sessionID: id, command: line.slice(1) });
          process.stdout.write(result.output.endsWith("\n") || !result.output ? result.output : result.output + "\n");
          if (result.outcome !== "completed") say(`[shell ${result.outcome}${result.error ? `: ${result.error}` : ""}]`);
        } finally {
          detach();
        }
      } else {
        // No session is created for a prompt that cannot run: the model's configuration is checked first.
        modelSpec(rt.config, pickModelName(rt.config, undefined, rt.env), rt.env);
        const id = session().id;
        const detach = listenForAbort(rt, id);
        try {
          const result = await prompt(rt, { sessionID: id, text: line });
          void titles.add(result);
          if (result.outcome !== "completed") say(`[${render.renderer.stopReason(result)}]`);
        } finally {
          detach();
        }
      }
    } catch (error) {
      say(`error: ${(error as Error).message}`);
    }
    if (current) current = rt.store.findSession(current.id);
    setPrompt();
    rl.prompt();
  }
  // The terminal echoed the Enter of `/exit`; any other way out (Ctrl-D, Ctrl-C twice, the end of piped input)
  // leaves the cursor after the prompt.
  if (!exited || !process.stdin.isTTY) say("");
  // Titles generated in the background still land before the prompt exits (or are stopped, after a signal).
  await titles.settled();
  unwire();
  render.stop();
  rl.close();
}

export function registerInteractive(program: Command): void {
  program
    .option("-s, --session <id>", "start the interactive prompt in this session")
    .action(
      action(async (opts: { session?: string }) => {
        const rt = await openRuntime({ tracing: true });
        await interactive(rt, opts.session ? rt.store.getSession(opts.session) : undefined);
        await rt.tracing?.shutdown();
        rt.close();
      }),
    );
}
