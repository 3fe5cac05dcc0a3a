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
