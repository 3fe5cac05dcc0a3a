import fs from "node:fs";
import path from "node:path";
import { ensureDir } from "./config/paths.js";

/**
 * A data directory's log, `<dataDir>/log/ode.log`; stdout and stderr stay for the user's output. Each store has
 * its own, so two runtimes of one process (a library user's) never write into each other's directory. The
 * directory is made with the first line.
 */
export class Log {
  readonly file: string;
  private dirReady = false;

  constructor(dataDir: string) {
    this.file = path.join(dataDir, "log", "ode.log");
  }

  info(message: string, fields?: Record<string, unknown>): void {
    this.write("info", message, fields);
  }

  warn(message: string, fields?: Record<string, unknown>): void {
    this.write("warn", message, fields);
  }

  error(message: string, fields?: Record<string, unknown>): void {
    this.write("error", message, fields);
  }

  private write(level: string, message: string, fields?: Record<string, unknown>): void {
    const line = JSON.stringify({ time: new Date().toISOString(), level, pid: process.pid, message, ...fields });
    try {
      if (!this.dirReady) ensureDir(path.dirname(this.file));
      this.dirReady = true;
      fs.appendFileSync(this.file, line + "\n");
    } catch {
      // A log that cannot be written must never take the run down with it.
    }
  }
}
