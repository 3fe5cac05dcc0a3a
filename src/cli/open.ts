import type { Runtime, RuntimeOptions } from "../runtime.js";
import type { CoreRuntime } from "../runtime-core.js";

/**
 * The runtime of a CLI command. The CLI asks for the process-wide side effects a library user does not get:
 * `AGENT`/`OPENCODE` in its own environment and SIGUSR2 as the wake-up for cancels from other processes.
 * Commands that run something ask for `tracing`: spans then go where the `OTEL_*` variables say, and the command
 * flushes them (`rt.tracing?.shutdown()`) before it exits.
 */
export async function openRuntime(options: { tracing?: boolean } = {}): Promise<Runtime> {
  const { createRuntime } = await import("../runtime.js");
  const rt = createRuntime({ processWide: true });
  if (options.tracing) {
    const { enableTracing } = await import("../telemetry/index.js");
    await enableTracing(rt);
  }
  return rt;
}

/**
 * The runtime of a command that never calls a model (session, export, import): a broken config only warns, and
 * the tools (with zod, their schemas' library) are not loaded, so such a command starts about as fast as node.
 */
export async function openModelFreeRuntime(options: Pick<RuntimeOptions, "readOnlyFallback"> = {}): Promise<CoreRuntime> {
  const { openCoreRuntime } = await import("../runtime-core.js");
  return openCoreRuntime({ processWide: true, needsConfig: false, ...options });
}
