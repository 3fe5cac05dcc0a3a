import fs from "node:fs";
import path from "node:path";
import { ensureDir } from "./config/paths.js";

let file: string | undefined;

/** Log lines go to `<dataDir>/log/ode.log`; stdout and stderr stay for the user's output. */
export function initLog(dataDir: string): void {
  const dir = path.join(dataDir, "log");
  ensureDir(dir);
  file = path.join(dir, "ode.log");
}

export function logFile(): string | undefined {
  return file;
}

function write(level: string, message: string, fields?: Record<string, unknown>): void {
  if (!file) return;
  const line = JSON.stringify({ time: new Date().toISOString(), level, pid: process.pid, message, ...fields });
  try {
    fs.appendFileSync(file, line + "\n");
  } catch {
    // A log that cannot be written must never take the run down with it.
  }
}

export const log = {
  info: (message: string, fields?: Record<string, unknown>) => write("info", message, fields),
  warn: (message: string, fields?: Record<string, unknown>) => write("warn", message, fields),
  error: (message: string, fields?: Record<string, unknown>) => write("error", message, fields),
};
