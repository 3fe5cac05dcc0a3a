import { loadConfig, type Config } from "./config/config.js";
import { dataDir as defaultDataDir } from "./config/paths.js";
import { RuntimeEvents } from "./events.js";
import { Loops } from "./loop/loops.js";
import type { Runtime, RuntimeOptions } from "./runtime.js";
import { markAgentProcess } from "./shell/env.js";
import { ConfigError } from "./session/errors.js";
import { Runs, type OwnerWake } from "./session/runs.js";
import { Store } from "./session/store.js";
import { storeUnavailable } from "./storage/errors.js";

export type CoreRuntime = Omit<Runtime, "tools">;

function ignoreLateWake(): void {}

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

/**
 * Everything of a runtime but the tools, for commands that never call a model (`ode session list`): the tools'
 * input schemas are zod's, and zod alone would more than double such a command's start-up.
 */
export function openCoreRuntime(options: RuntimeOptions = {}): CoreRuntime {
  if (options.processWide) markAgentProcess();
  const env = options.env ?? process.env;
  const directory = options.directory ?? process.cwd();
  const dir = options.dataDir ?? defaultDataDir(env);
  const events = new RuntimeEvents();
  const { store, runs, loops } = openStore(dir, events, options.processWide ? "signal" : "watch", options.readOnlyFallback ?? false);
  const config = readConfig(directory, env, options.needsConfig ?? true);
  // `ode session abort` in another process writes its request on the run row and wakes the owner with SIGUSR2.
  const wake = () => runs.applyRemoteCancels();
  if (options.processWide) process.on("SIGUSR2", wake);
  const close = () => {
    process.off("SIGUSR2", wake);
    // A wake sent for a run that ended just before (the abort read it while open) can land after the close: left
    // to SIGUSR2's default action, it would kill the process as it exits, with the wrong status.
    if (options.processWide && !process.listeners("SIGUSR2").includes(ignoreLateWake)) process.on("SIGUSR2", ignoreLateWake);
    runs.close();
    store.close();
  };
  return { store, runs, loops, events, config, dataDir: dir, directory, env, close };
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
    const readOnly = Store.open(dir, events, { readonly: true });
    readOnly.log.warn("data directory not writable: opened read-only", { dataDir: dir, error: String(error) });
    const runs = new Runs(readOnly, wake);
    return { store: readOnly, runs, loops: new Loops(readOnly, runs) };
  }
}
