import readline from "node:readline";
import type { Command } from "commander";
import type { Runtime } from "../runtime.js";
import type { SessionInfo } from "../session/schema.js";
import { action } from "./fail.js";

const HELP = `Type a message for the model, or:
  !<command>      run a shell command in this session's context
  /new            start a new session
  /sessions       list sessions
  /switch <id>    switch to another session
  /title <text>   set this session's title
  /help           this text
  /exit           quit (or Ctrl-D)
Esc or Ctrl-C while a run is going aborts it.`;

/** Esc and Ctrl-C abort the running run (source `user`); on a pipe, SIGINT does. Returns the detach function. */
function listenForAbort(rt: Runtime, sessionID: string): () => void {
  const cancel = (via: string) => rt.runs.cancel(sessionID, { source: "user", via });
  const stdin = process.stdin;
  if (stdin.isTTY) {
    const onKey = (_: string, key: readline.Key | undefined) => {
      if (key?.name === "escape") cancel("esc");
      else if (key?.ctrl && key.name === "c") cancel("ctrl-c");
    };
    stdin.on("keypress", onKey);
    return () => stdin.off("keypress", onKey);
  }
  const onInt = () => cancel("SIGINT");
  process.on("SIGINT", onInt);
  return () => process.off("SIGINT", onInt);
}

export async function interactive(rt: Runtime, start?: SessionInfo): Promise<void> {
  const { prompt } = await import("../agent/prompt.js");
  const { runShell } = await import("../agent/shell.js");
  const { renderEvents } = await import("./render.js");
  let current = start;
  const titles: Promise<void>[] = [];
  const session = () => (current ??= rt.store.createSession({ directory: rt.directory }));
  const say = (text: string) => process.stdout.write(text + "\n");
  const rl = readline.createInterface({ input: process.stdin, output: process.stdout, terminal: process.stdin.isTTY });
  if (process.stdin.isTTY) readline.emitKeypressEvents(process.stdin, rl);
  const stopRender = renderEvents("text", () => current?.id);
  const setPrompt = () => rl.setPrompt(`${current ? current.title.slice(0, 30) : "ode"}> `);
  say(`ode interactive prompt (${rt.directory}). /help for commands.`);
  setPrompt();
  rl.prompt();
  for await (const raw of rl) {
    const line = raw.trim();
    try {
      if (!line) {
        // nothing to do
      } else if (line === "/exit" || line === "/quit") {
        break;
      } else if (line === "/help") {
        say(HELP);
      } else if (line === "/new") {
        current = rt.store.createSession({ directory: rt.directory });
        say(`new session ${current.id}`);
      } else if (line === "/sessions") {
        for (const s of rt.store.listSessions()) say(`${s.id === current?.id ? "*" : " "} ${s.id}  ${s.title}`);
      } else if (line.startsWith("/switch")) {
        const id = line.slice("/switch".length).trim();
        current = rt.store.getSession(id);
        say(`switched to ${current.id}  ${current.title}`);
      } else if (line.startsWith("/title")) {
        current = rt.store.renameSession(session().id, line.slice("/title".length));
        say(`title: ${current.title}`);
      } else if (line.startsWith("/")) {
        say(`unknown command ${line.split(" ")[0]}; /help lists them`);
      } else if (line.startsWith("!")) {
        const id = session().id;
        const detach = listenForAbort(rt, id);
        try {
          const result = await runShell(rt, { sessionID: id, command: line.slice(1) });
          process.stdout.write(result.output.endsWith("\n") || !result.output ? result.output : result.output + "\n");
          if (result.outcome !== "completed") say(`[shell ${result.outcome}]`);
        } finally {
          detach();
        }
      } else {
        const id = session().id;
        const detach = listenForAbort(rt, id);
        try {
          const result = await prompt(rt, { sessionID: id, text: line });
          titles.push(result.titleDone);
          if (result.outcome !== "completed") say(`\n[run ${result.outcome}: ${result.error?.data.message ?? ""}]`);
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
  // Titles generated in the background still land before the prompt exits.
  await Promise.all(titles);
  stopRender();
  rl.close();
}

export function registerInteractive(program: Command): void {
  program
    .option("-s, --session <id>", "start the interactive prompt in this session")
    .action(
      action(async (opts: { session?: string }) => {
        const { createRuntime } = await import("../runtime.js");
        const rt = createRuntime();
        await interactive(rt, opts.session ? rt.store.getSession(opts.session) : undefined);
        rt.close();
      }),
    );
}
