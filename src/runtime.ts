import { loadConfig, type Config } from "./config/config.js";
import { dataDir as defaultDataDir } from "./config/paths.js";
import { initLog } from "./log.js";
import { markAgentProcess } from "./shell/env.js";
import { Runs } from "./session/runs.js";
import { Store } from "./session/store.js";
import { builtinTools } from "./tool/registry.js";
import type { ToolDefinition } from "./tool/tool.js";

/** Everything a command needs, opened once per process: the CLI and the server are thin layers over it. */
export interface Runtime {
  store: Store;
  runs: Runs;
  config: Config;
  dataDir: string;
  /** The directory ode was started in: new sessions belong to it and `ode.json` is read from it. */
  directory: string;
  tools: ToolDefinition[];
  env: NodeJS.ProcessEnv;
  /** Closes the database and stops listening for cancel requests of other processes. */
  close(): void;
}

export function createRuntime(options: { directory?: string; dataDir?: string; env?: NodeJS.ProcessEnv } = {}): Runtime {
  markAgentProcess();
  const env = options.env ?? process.env;
  const directory = options.directory ?? process.cwd();
  const dir = options.dataDir ?? defaultDataDir(env);
  initLog(dir);
  const store = Store.open(dir);
  const runs = new Runs(store);
  runs.recoverCrashed();
  const config = loadConfig(directory, env);
  // `ode session abort` in another process writes its request on the run row and wakes the owner with SIGUSR2.
  const wake = () => runs.applyRemoteCancels();
  process.on("SIGUSR2", wake);
  const close = () => {
    process.off("SIGUSR2", wake);
    store.close();
  };
  return { store, runs, config, dataDir: dir, directory, tools: builtinTools(store), env, close };
}
