import { loadConfig, type Config } from "./config/config.js";
import { dataDir as defaultDataDir } from "./config/paths.js";
import { RuntimeEvents } from "./events.js";
import { initLog, log } from "./log.js";
import { Loops } from "./loop/loops.js";
import { markAgentProcess } from "./shell/env.js";
import { ConfigError } from "./session/errors.js";
import { Runs, type OwnerWake } from "./session/runs.js";
import { Store } from "./session/store.js";
import { storeUnavailable } from "./storage/errors.js";
import { builtinTools } from "./tool/registry.js";
import type { Tracing } from "./telemetry/index.js";
import type { ToolDefinition } from "./tool/tool.js";

/** Everything a command needs, opened once per process: the CLI and the server are thin layers over it. */
export interface Runtime {
  store: Store;
  runs: Runs;
  loops: Loops;
  /** This runtime's events (every change to its sessions, messages, parts and runs); no other runtime sees them. */
  events: RuntimeEvents;
  config: Config;
  dataDir: string;
  /** The directory ode was started in: new sessions belong to it and `ode.json` is read from it. */
  directory: string;
  tools: ToolDefinition[];
  env: NodeJS.ProcessEnv;
  /** Set by `enableTracing` when the `OTEL_*` variables ask for traces; absent (and nothing loaded) otherwise. */
  tracing?: Tracing;
  /** Closes the database and stops listening for cancel requests of other processes. */
  close(): void;
}

export interface RuntimeOptions {
  directory?: string;
  dataDir?: string;
  env?: NodeJS.ProcessEnv;
  /**
   * The CLI's choice, off for a library user: mark the whole process (`AGENT=1`, `OPENCODE=1` in `process.env`)
   * and take SIGUSR2 as the wake-up for cancels from other processes. Without it, children still get both
   * markers through their per-spawn environment, and cancel requests are picked up by watching the database.
   */
  processWide?: boolean;
  /**
   * False for commands that never call a model (session, export, import): a broken config is then one warning
   * instead of an error, and they run with no config.
   */
  needsConfig?: boolean;
  /** For commands that only read: when the data directory cannot be written, open it read-only (no recovery). */
  readOnlyFallback?: boolean;
}

/** Config problems are the user's to fix, so they go to stderr as one line each, not only to the log. */
function warn(message: string): void {
  process.stderr.write(`ode: warning: ${message}\n`);
}

function readConfig(directory: string, env: NodeJS.ProcessEnv, needsConfig: boolean): Config {
  try {
    return loadConfig(directory, env, warn);
  } catch (error) {
    if (needsConfig || !(error instanceof ConfigError)) throw error;
    warn(`${error.message} (ignored: this command needs no model)`);
    return { providerDirs: {} };
  }
}

export function createRuntime(options: RuntimeOptions = {}): Runtime {
  if (options.processWide) markAgentProcess();
  const env = options.env ?? process.env;
  const directory = options.directory ?? process.cwd();
  const dir = options.dataDir ?? defaultDataDir(env);
  initLog(dir);
  const events = new RuntimeEvents();
  const { store, runs, loops } = openStore(dir, events, options.processWide ? "signal" : "watch", options.readOnlyFallback ?? false);
  const config = readConfig(directory, env, options.needsConfig ?? true);
  // `ode session abort` in another process writes its request on the run row and wakes the owner with SIGUSR2.
  const wake = () => runs.applyRemoteCancels();
  if (options.processWide) process.on("SIGUSR2", wake);
  const close = () => {
    process.off("SIGUSR2", wake);
    runs.close();
    store.close();
  };
  return { store, runs, loops, events, config, dataDir: dir, directory, tools: builtinTools(store), env, close };
}

interface OpenStore {
  store: Store;
  runs: Runs;
  loops: Loops;
}

function openStore(dir: string, events: RuntimeEvents, wake: OwnerWake, readOnlyFallback: boolean): OpenStore {
  let store: Store | undefined;
  try {
    store = Store.open(dir, events);
    const runs = new Runs(store, wake);
    runs.recoverCrashed();
    const loops = new Loops(store, runs);
    // After the runs: a crashed loop's open iteration takes its diagnostic from its recovered run.
    loops.recoverCrashed();
    return { store, runs, loops };
  } catch (error) {
    store?.close();
    if (!readOnlyFallback || !storeUnavailable(error, dir)) throw error;
    log.warn("data directory not writable: opened read-only", { dataDir: dir, error: String(error) });
    const readOnly = Store.open(dir, events, { readonly: true });
    const runs = new Runs(readOnly, wake);
    return { store: readOnly, runs, loops: new Loops(readOnly, runs) };
  }
}
