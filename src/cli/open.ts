import type { Runtime, RuntimeOptions } from "../runtime.js";

/**
 * The runtime of a CLI command. The CLI asks for the process-wide side effects a library user does not get:
 * `AGENT`/`OPENCODE` in its own environment and SIGUSR2 as the wake-up for cancels from other processes.
 * Commands that run something ask for `tracing`: spans then go where the `OTEL_*` variables say, and the command
 * flushes them (`rt.tracing?.shutdown()`) before it exits.
 */
export async function openRuntime(
  options: Pick<RuntimeOptions, "needsConfig" | "readOnlyFallback"> & { tracing?: boolean } = {},
): Promise<Runtime> {
  const { createRuntime } = await import("../runtime.js");
  const { tracing, ...runtimeOptions } = options;
  const rt = createRuntime({ processWide: true, ...runtimeOptions });
  if (tracing) {
    const { enableTracing } = await import("../telemetry/index.js");
    await enableTracing(rt);
  }
  return rt;
}
