import type { Runtime, RuntimeOptions } from "../runtime.js";

/**
 * The runtime of a CLI command. The CLI asks for the process-wide side effects a library user does not get:
 * `AGENT`/`OPENCODE` in its own environment and SIGUSR2 as the wake-up for cancels from other processes.
 */
export async function openRuntime(options: Pick<RuntimeOptions, "needsConfig" | "readOnlyFallback"> = {}): Promise<Runtime> {
  const { createRuntime } = await import("../runtime.js");
  return createRuntime({ processWide: true, ...options });
}
