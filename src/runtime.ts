import type { Config } from "./config/config.js";
import type { RuntimeEvents } from "./events.js";
import type { Loops } from "./loop/loops.js";
import type { Runs } from "./session/runs.js";
import type { Store } from "./session/store.js";
import type { Tracing } from "./telemetry/index.js";
import { builtinTools } from "./tool/registry.js";
import type { ToolDefinition } from "./tool/tool.js";
import { openCoreRuntime } from "./runtime-core.js";

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

/** Opens the data directory and reads the config, with the built-in tools for the agent. */
export function createRuntime(options: RuntimeOptions = {}): Runtime {
  const core = openCoreRuntime(options);
  return { ...core, tools: builtinTools(core.store) };
}
