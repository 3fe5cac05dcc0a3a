import fs from "node:fs";
import { OdeError } from "../session/errors.js";

/** SQLite result codes that mean the data directory cannot take (or give) what ode asks of it. */
const CAUSES: [RegExp, string][] = [
  [/^SQLITE_FULL/, "the disk is full"],
  [/^SQLITE_READONLY/, "it is read-only"],
  [/^SQLITE_IOERR/, "a disk I/O error"],
  [/^SQLITE_CANTOPEN/, "the database file cannot be opened"],
];

/** The store could not write (or open) its database: says why and where, in one line. */
export class StoreUnavailableError extends OdeError {
  override name = "StoreUnavailableError";
  override readonly status = 507;
  constructor(
    readonly code: string,
    readonly dataDir: string,
  ) {
    super(`cannot use the data directory ${dataDir}: ${cause(code, dataDir)} (${code})`);
  }
}

/** SQLite cannot open a WAL database it may not write beside (its -shm file): say so when that is the reason. */
function cause(code: string, dataDir: string): string {
  if (code.startsWith("SQLITE_CANTOPEN")) {
    try {
      fs.accessSync(dataDir, fs.constants.W_OK);
    } catch (error) {
      if (["EROFS", "EACCES", "EPERM"].includes((error as NodeJS.ErrnoException).code ?? "")) return "it is read-only";
    }
  }
  return CAUSES.find(([re]) => re.test(code))?.[1] ?? "storage error";
}

/** The named error for a SQLite failure of the data directory itself (disk full, read-only, I/O), else undefined. */
export function storeUnavailable(error: unknown, dataDir: string): StoreUnavailableError | undefined {
  if (error instanceof StoreUnavailableError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== "string" || !CAUSES.some(([re]) => re.test(code))) return undefined;
  return new StoreUnavailableError(code, dataDir);
}
