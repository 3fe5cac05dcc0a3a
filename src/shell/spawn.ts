import { spawn } from "node:child_process";
import fs from "node:fs";
import { procStat } from "./proc.js";

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
  onOutput?: (chunk: Buffer) => void;
}

export interface CommandResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  interrupted: boolean;
}

const SHELL = fs.existsSync("/bin/bash") ? "/bin/bash" : "/bin/sh";

/**
 * Whether any process of the group still runs. Zombies do not count: where PID 1 does not reap orphans (some
 * containers), killed grandchildren stay zombies forever although nothing of them runs.
 */
export function processGroupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  let entries: string[];
  try {
    entries = fs.readdirSync("/proc");
  } catch {
    return true;
  }
  for (const entry of entries) {
    if (entry.charCodeAt(0) > 57) continue;
    const fields = procStat(entry);
    if (fields && Number(fields[2]) === pgid && fields[0] !== "Z") return true;
  }
  return false;
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

/** Runs `command` in a shell of its own process group, streaming output, killable as a whole. */
export function runCommand(command: string, options: CommandOptions): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      resolve({ exitCode: null, signal: null, timedOut: false, interrupted: true });
      return;
    }
    const child = spawn(SHELL, ["-c", command], {
      cwd: options.cwd,
      env: options.env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let timedOut = false;
    let interrupted = false;
    let killing: Promise<void> | undefined;
    const stop = (mode: KillMode) => {
      if (child.pid === undefined || killing) return;
      killing = killProcessGroup(child.pid, mode);
    };
    const onAbort = () => {
      interrupted = true;
      stop(killModeOf(options.signal));
    };
    options.signal?.addEventListener("abort", onAbort, { once: true });
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            stop("soft");
          }, options.timeoutMs);
    child.stdout.on("data", (chunk: Buffer) => options.onOutput?.(chunk));
    child.stderr.on("data", (chunk: Buffer) => options.onOutput?.(chunk));
    child.on("error", (error) => {
      cleanup();
      reject(error);
    });
    const cleanup = () => {
      if (timer) clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
    };
    child.on("exit", (exitCode, signal) => {
      cleanup();
      const finish = () => {
        child.stdout.destroy();
        child.stderr.destroy();
        resolve({ exitCode, signal, timedOut, interrupted });
      };
      // Background children may hold the pipes open after the shell exits; wait for them at most PIPE_GRACE_MS.
      // Usually both have ended by now: then no timer is armed and nothing is awaited.
      const open = [child.stdout, child.stderr].filter((pipe) => !pipe.readableEnded);
      const pipesClosed =
        open.length === 0
          ? undefined
          : new Promise<void>((done) => {
              let left = open.length;
              const grace = setTimeout(done, PIPE_GRACE_MS);
              const closed = () => {
                if (--left > 0) return;
                clearTimeout(grace);
                done();
              };
              for (const pipe of open) pipe.once("close", closed);
            });
      if (!pipesClosed && !killing) finish();
      else void Promise.all([pipesClosed, killing]).then(finish);
    });
  });
}
