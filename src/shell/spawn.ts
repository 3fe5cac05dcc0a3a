import { spawn } from "node:child_process";
import fs from "node:fs";
import type { Readable, Writable } from "node:stream";
import { OdeError } from "../session/errors.js";
import { processGroupAlive } from "./process-groups.js";

export const killModes = ["soft", "hard"] as const;
export type KillMode = (typeof killModes)[number];

export const KILL_GRACE_MS = 3000;
/** How long output pipes held open by background children are waited on after the shell exits. */
const PIPE_GRACE_MS = 200;

export interface CommandOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Aborting kills the whole process group; a reason with `mode: "hard"` skips the SIGTERM grace period. */
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Aborting it kills the group at once, also while a soft kill waits out its grace period. */
  killNow?: AbortSignal;
  onOutput?: (chunk: Buffer) => void;
  /**
   * Called with the process group id after the spawn and before the command runs, to record the group durably.
   * When it throws, the group is killed and the command never runs.
   */
  onSpawn?: (pgid: number) => void;
}

export interface CommandResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  interrupted: boolean;
  /** Background children still held the output open after the shell exited; what they wrote later is not kept. */
  outputCut: boolean;
}

const SHELL = fs.existsSync("/bin/bash") ? "/bin/bash" : "/bin/sh";

/** The directory a command was to run in is gone: a session imported from another machine, a deleted checkout. */
export class MissingDirectoryError extends OdeError {
  override name = "MissingDirectoryError";
  override readonly status = 409;
  constructor(readonly directory: string) {
    super(`directory ${directory} does not exist: the command cannot run there`);
  }
}

/** Node reports a working directory that does not exist as the shell's own ENOENT ("spawn /bin/bash ENOENT"). */
function spawnError(error: NodeJS.ErrnoException, cwd: string): Error {
  return error.code === "ENOENT" && !fs.existsSync(cwd) ? new MissingDirectoryError(cwd) : error;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Already gone.
  }
}

/**
 * Kills every process of the group: SIGTERM and up to `graceMs` to exit, then SIGKILL. Resolves once no process
 * of the group is left, so a caller that awaits it knows nothing survived.
 */
export async function killProcessGroup(pgid: number, mode: KillMode, graceMs = KILL_GRACE_MS): Promise<void> {
  signalGroup(pgid, mode === "hard" ? "SIGKILL" : "SIGTERM");
  const deadline = Date.now() + (mode === "hard" ? 1000 : graceMs);
  let step = 1;
  while (processGroupAlive(pgid)) {
    if (Date.now() >= deadline) {
      signalGroup(pgid, "SIGKILL");
      if (mode === "hard" || Date.now() >= deadline + 1000) return;
    }
    await new Promise((resolve) => setTimeout(resolve, step));
    step = Math.min(step * 2, 20);
  }
}

function killModeOf(signal: AbortSignal | undefined): KillMode {
  const reason = signal?.reason as { mode?: unknown } | undefined;
  return reason && typeof reason === "object" && reason.mode === "hard" ? "hard" : "soft";
}

/**
 * With `onSpawn`, the shell first waits on fd 3 for "go": the group is recorded before the command runs, and if
 * ode dies before that (kill -9), the read ends at EOF and the shell exits without running anything. The command
 * then runs in that same shell (`shift` first, so it sees no positional parameters, as under `bash -c`): no
 * second shell to start.
 */
const GATED = 'IFS= read -r go <&3 && [ "$go" = go ] || exit 125; exec 3<&-; eval "shift; $1"';

/** Runs `command` in a shell of its own process group, streaming output, killable as a whole. */
export function runCommand(command: string, options: CommandOptions): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      resolve({ exitCode: null, signal: null, timedOut: false, interrupted: true, outputCut: false });
      return;
    }
    const gated = options.onSpawn !== undefined;
    const child = spawn(SHELL, gated ? ["-c", GATED, SHELL, command] : ["-c", command], {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: gated ? ["ignore", "pipe", "pipe", "pipe"] : ["ignore", "pipe", "pipe"],
    });
    let timedOut = false;
    let interrupted = false;
    let killing: Promise<void> | undefined;
    const stop = (mode: KillMode) => {
      if (child.pid === undefined) return;
      // A hard kill overrides a soft one waiting out its grace period; the soft loop then sees the group gone.
      if (mode === "hard" && killing) signalGroup(child.pid, "SIGKILL");
      killing ??= killProcessGroup(child.pid, mode);
    };
    const onAbort = () => {
      interrupted = true;
      stop(killModeOf(options.signal));
    };
    const onKillNow = () => {
      interrupted = true;
      stop("hard");
    };
    options.signal?.addEventListener("abort", onAbort, { once: true });
    options.killNow?.addEventListener("abort", onKillNow, { once: true });
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            stop("soft");
          }, options.timeoutMs);
    child.stdout!.on("data", (chunk: Buffer) => options.onOutput?.(chunk));
    child.stderr!.on("data", (chunk: Buffer) => options.onOutput?.(chunk));
    const cleanup = () => {
      if (timer) clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      options.killNow?.removeEventListener("abort", onKillNow);
    };
    child.on("error", (error) => {
      cleanup();
      reject(spawnError(error, options.cwd));
    });
    if (gated && child.pid !== undefined) {
      const gate = child.stdio[3] as Writable;
      gate.on("error", () => {});
      try {
        options.onSpawn!(child.pid);
      } catch (error) {
        gate.destroy();
        cleanup();
        void killProcessGroup(child.pid, "hard").then(() => reject(error));
        return;
      }
      gate.end("go\n");
    }
    child.on("exit", (exitCode, signal) => {
      cleanup();
      const pipes = [child.stdout!, child.stderr!];
      void Promise.all([drainPipes(pipes), killing]).then(([outputCut]) => {
        resolve({ exitCode, signal, timedOut, interrupted, outputCut });
      });
    });
  });
}

/**
 * Waits for the output pipes to close after the shell exited. Background children may hold them open: after
 * PIPE_GRACE_MS the pipes are cut, but only once a pass of the event loop has read what is already in them, so
 * output the command wrote before exiting is never lost when the loop is late (the grace timer can fire before
 * the loop got to read the pipes). Resolves whether anything had to be cut.
 */
function drainPipes(pipes: Readable[]): Promise<boolean> {
  const open = pipes.filter((pipe) => !pipe.readableEnded);
  if (open.length === 0) return Promise.resolve(false);
  return new Promise((done) => {
    let left = open.length;
    let chunks = 0;
    const count = () => chunks++;
    let settled = false;
    const finish = (cut: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(grace);
      for (const pipe of open) {
        pipe.off("data", count);
        if (cut) pipe.destroy();
      }
      done(cut);
    };
    const closed = () => {
      if (--left === 0) finish(false);
    };
    for (const pipe of open) {
      pipe.on("data", count);
      pipe.once("close", closed);
    }
    // Poll I/O runs between the timer phase and setImmediate: a pass that read nothing means the pipes are empty.
    const nextPass = () => {
      const seen = chunks;
      setImmediate(() => {
        if (chunks === seen) finish(true);
        else nextPass();
      });
    };
    const grace = setTimeout(nextPass, PIPE_GRACE_MS);
  });
}
