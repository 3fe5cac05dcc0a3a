import type { RunOutcome } from "../session/runs.js";
import { dataDir } from "../config/paths.js";
import { OdeError } from "../session/errors.js";
import { storeUnavailable } from "../storage/errors.js";

/** The exit code of a command whose run ended with `outcome` (the README's table). */
export function outcomeExitCode(outcome: RunOutcome): number {
  return outcome === "completed" ? 0 : outcome === "aborted" ? 130 : 1;
}

/**
 * Writes the line, then exits once stderr has taken it. Exiting at once can drop what is still queued for a pipe
 * whose reader is slower (a test harness, a log shipper): the progress lines before it and the line itself.
 */
function exitWith(code: number, line: string): void {
  process.exitCode = code;
  process.stderr.write(`ode: ${line}\n`, () => exitWhenFlushed(code));
}

/** Maps named errors to one clear line on stderr and a non-zero exit code. */
export function fail(error: unknown): void {
  const unavailable = storeUnavailable(error, dataDir());
  if (unavailable) return exitWith(1, unavailable.message);
  if (error instanceof OdeError) return exitWith(error.status === 409 ? 3 : 2, error.message);
  if (error instanceof Error && error.name === "SqliteError") return exitWith(1, `database error: ${error.message}`);
  const sys = error as NodeJS.ErrnoException;
  // A file or directory ode was told to use (output file, data directory) cannot be used: say which and why.
  if (sys instanceof Error && typeof sys.code === "string" && sys.syscall) return exitWith(2, `cannot ${sys.syscall} ${sys.path ?? ""}: ${sys.code}`);
  exitWith(1, error instanceof Error ? (error.stack ?? error.message) : String(error));
}

/** Wraps a command action so every failure goes through `fail`. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (error) {
      fail(error);
    }
  };
}

/** Exits once stdout and stderr have taken everything written to them (a pipe may still hold a queue). */
export function exitWhenFlushed(code?: number): void {
  if (code !== undefined) process.exitCode = code;
  process.stdout.write("", () => process.stderr.write("", () => process.exit()));
}
