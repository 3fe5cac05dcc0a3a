import type { Command } from "commander";
import type { Runtime } from "../runtime.js";
import { FORCE_DELETE_VIA, timeoutProblem } from "../session/abort.js";
import { InvalidInputError, SessionNotFoundError } from "../session/errors.js";
import type { SessionInfo } from "../session/schema.js";
import { action, exitWhenFlushed } from "./fail.js";
import { openRuntime } from "./open.js";
import { wireRunSignals } from "./signals.js";
import { OUTPUT_FORMATS, type OutputFormat } from "./formats.js";

interface RunOptions {
  model?: string;
  session?: string;
  continue?: boolean;
  title?: string;
  format: OutputFormat;
  timeout?: string;
  attach?: string;
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return "";
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** Whether a promise has already settled, without waiting for it. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

export function pickSession(rt: Runtime, opts: { session?: string; continue?: boolean; title?: string }): SessionInfo {
  if (opts.session) {
    const session = rt.store.getSession(opts.session);
    return opts.title ? rt.store.renameSession(session.id, opts.title) : session;
  }
  if (opts.continue) {
    const latest = rt.store.listSessions(rt.directory)[0];
    if (!latest) throw new SessionNotFoundError(`(no session in ${rt.directory} to continue)`);
    return opts.title ? rt.store.renameSession(latest.id, opts.title) : latest;
  }
  return rt.store.createSession({ directory: rt.directory, title: opts.title });
}

export function registerRun(program: Command): void {
  program
    .command("run")
    .description("run one turn: send a message to the model and let it use the tools until it is done")
    .argument("[message...]", "the message (read from stdin when absent)")
    .option("-m, --model <provider/model>", "model to use")
    .option("-s, --session <id>", "add the turn to this session")
    .option("-c, --continue", "add the turn to the most recent session of this directory")
    .option("--title <title>", "set the session title (never overwritten by a generated one)")
    .option("--format <format>", "text, json (opencode's run --format json lines) or events (ode's event stream)", "text")
    .option("--timeout <ms>", "cancel the run after this many milliseconds (source: timeout)")
    .option("--attach <url>", "send the run to a running `ode serve` instead of running it here")
    .action(
      action(async (words: string[], opts: RunOptions) => {
        if (!OUTPUT_FORMATS.includes(opts.format)) throw new InvalidInputError(`--format must be text, json or events, not ${opts.format}`);
        const text = words.length > 0 ? words.join(" ") : (await readStdin()).trim();
        if (!text) throw new InvalidInputError("no message: pass it as arguments or on stdin");
        const timeoutMs = opts.timeout === undefined ? undefined : Number(opts.timeout);
        const problem = timeoutMs === undefined ? undefined : timeoutProblem(timeoutMs);
        if (problem) throw new InvalidInputError(`--timeout ${problem}`);
        if (opts.attach) {
          const { runAttached } = await import("./attach.js");
          await runAttached(opts.attach, {
            message: text,
            sessionID: opts.session,
            continue: opts.continue,
            title: opts.title,
            format: opts.format,
            model: opts.model,
            timeoutMs,
          });
          return;
        }
        const { prompt } = await import("../agent/prompt.js");
        const { renderEvents } = await import("./render.js");
        const { modelSpec, pickModelName } = await import("../provider/provider.js");
        const rt = await openRuntime({ tracing: true });
        // A misconfigured model fails here, before a session is created for a run that cannot start.
        modelSpec(rt.config, pickModelName(rt.config, opts.model, rt.env), rt.env);
        const session = pickSession(rt, opts);
        const render = await renderEvents(rt, opts.format, () => session.id);
        let escalated!: () => void;
        const stopWaiting = new Promise<void>((resolve) => (escalated = resolve));
        const unwire = wireRunSignals(rt, session.id, escalated);
        // A run that throws (a store write failing) ends with one line from `fail`: the progress stops first, so
        // output still arriving from a command does not print after it.
        const result = await prompt(rt, { sessionID: session.id, text, model: opts.model, timeoutMs }).catch((error: unknown) => {
          render.stop();
          throw error;
        });
        // Headless runs and loops get titles too: wait (bounded by the title timeout) for the generation in flight.
        // A signal while waiting ends it at once, and its trace says it was stopped.
        if (!(await settled(result.titleDone))) {
          const { titleTimeoutMs } = await import("../agent/title.js");
          const ms = titleTimeoutMs(rt.env);
          render.renderer.note(`waiting for the session title, up to ${ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${ms} ms`}`);
          void stopWaiting.then(() => result.stopTitle());
          await result.titleDone;
        }
        unwire();
        render.stop();
        if (result.abort?.via === FORCE_DELETE_VIA) {
          process.stderr.write(`ode: session ${session.id} was deleted by another command (ode ${FORCE_DELETE_VIA}); the run was aborted\n`);
          process.exitCode = 130;
        } else {
          render.renderer.finish(result, session.id);
        }
        // Bounded: a slow or dead collector delays the exit by at most the flush timeout, never the run.
        await rt.tracing?.shutdown();
        rt.close();
        // Idle keep-alive sockets of the model client would hold the process open for seconds; the run is done.
        exitWhenFlushed();
      }),
    );
}
