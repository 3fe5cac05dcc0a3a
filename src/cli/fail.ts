import type { RunOutcome } from "../session/runs.js";
import { dataDir } from "../config/paths.js";
import { OdeError } from "../session/errors.js";
import { storeUnavailable } from "../storage/errors.js";

/** The exit code of a command whose run ended with `outcome` (the README's table). */
export function outcomeExitCode(outcome: RunOutcome): number {
  return outcome === "completed" ? 0 : outcome === "aborted" ? 130 : 1;
}

/** Maps named errors to one clear line on stderr and a non-zero exit code. */
export function fail(error: unknown): never {
  const unavailable = storeUnavailable(error, dataDir());
  if (unavailable) {
    process.stderr.write(`ode: ${unavailable.message}\n`);
    process.exit(1);
  }
  if (error instanceof OdeError) {
    process.stderr.write(`ode: ${error.message}\n`);
    process.exit(error.status === 409 ? 3 : 2);
  }
  if (error instanceof Error && error.name === "SqliteError") {
    process.stderr.write(`ode: database error: ${error.message}\n`);
    process.exit(1);
  }
  const sys = error as NodeJS.ErrnoException;
  if (sys instanceof Error && typeof sys.code === "string" && sys.syscall) {
    // A file or directory ode was told to use (output file, data directory) cannot be used: say which and why.
    process.stderr.write(`ode: cannot ${sys.syscall} ${sys.path ?? ""}: ${sys.code}\n`);
    process.exit(2);
  }
  process.stderr.write(`ode: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
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
