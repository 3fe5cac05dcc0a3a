import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/** Where the database, logs and saved tool outputs live: `$ODE_DATA_DIR`, else XDG data home. */
export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.ODE_DATA_DIR) return path.resolve(env.ODE_DATA_DIR);
  const base = env.XDG_DATA_HOME || path.join(os.homedir(), ".local", "share");
  return path.join(base, "ode");
}

export function globalConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || path.join(os.homedir(), ".config");
  return path.join(base, "ode");
}

/**
 * `mkdir -p` that fails instead of spinning: Node 20's recursive mkdirSync loops forever under /proc, where a
 * mkdir fails with ENOENT although the parent exists.
 */
export function ensureDir(dir: string): void {
  try {
    fs.mkdirSync(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "EEXIST" && fs.statSync(dir).isDirectory()) return;
    const parent = path.dirname(dir);
    if (code !== "ENOENT" || parent === dir || fs.existsSync(parent)) throw error;
    ensureDir(parent);
    // Once more through the checks: another process opening the same new data directory may have made `dir` since.
    ensureDir(dir);
  }
}
