import type { Runtime } from "../runtime.js";
import { errorText } from "../session/errors.js";
import { tracingConfig } from "./config.js";

/** W3C trace context as it travels in an environment (`TRACEPARENT`) or in HTTP headers (`traceparent`). */
export interface TraceCarrier {
  traceparent?: string;
  tracestate?: string;
}

/**
 * What the runtime asks of tracing at its few hook points; everything else is read from `rt.events`. Present on
 * a runtime only when the `OTEL_*` variables turn tracing on (`enableTracing`).
 */
export interface Tracing {
  /** `TRACEPARENT`/`TRACESTATE` for a process spawned by this tool part (undefined = removed from the child). */
  spawnVariables(partID: string): Record<string, string | undefined>;
  /** Runs started while `fn` runs (synchronously) are children of `parent` instead of the process's own parent. */
  withParent<T>(parent: TraceCarrier, fn: () => T): T;
  /** Runs started while `fn` runs (synchronously) are this loop iteration's, under the loop's span. */
  withLoopIteration<T>(loopID: string, iteration: number, fn: () => T): T;
  /** Sends the spans ended so far; resolves within a bounded time whatever the collector does. */
  flush(): Promise<void>;
  /** Ends what is still open, sends everything (bounded) and stops listening to the runtime. */
  shutdown(): Promise<void>;
}

/**
 * Turns tracing on for `rt` when its environment asks for it. The SDK and the exporter are loaded here, with
 * import(), so a command without tracing never reads them. Never fails: a tracer that cannot start is logged.
 */
export async function enableTracing(rt: Runtime): Promise<Tracing | undefined> {
  if (rt.tracing) return rt.tracing;
  const config = tracingConfig(rt.env);
  if (!config) return undefined;
  try {
    const { startTracing } = await import("./tracer.js");
    rt.tracing = startTracing(rt, config);
  } catch (error) {
    rt.store.log.warn("tracing could not start: running without it", { error: errorText(error) });
  }
  return rt.tracing;
}

/**
 * A loop iteration's run: wrap its `startRun` so the run's span is a child of the loop's `invoke_workflow` span
 * (which `loop.started` and `loop.finished` open and close) and carries the loop id and iteration number.
 */
export function withLoopIteration<T>(rt: Runtime, loopID: string, iteration: number, fn: () => T): T {
  return rt.tracing ? rt.tracing.withLoopIteration(loopID, iteration, fn) : fn();
}

/** The W3C trace context of an HTTP request, read through `header` (a server framework's header getter). */
export function headerCarrier(header: (name: string) => string | undefined): TraceCarrier {
  return { traceparent: header("traceparent"), tracestate: header("tracestate") };
}

/** A server route's request: the runs it starts continue the caller's trace (`traceparent` header). */
export function withTraceParent<T>(rt: Runtime, parent: TraceCarrier, fn: () => T): T {
  return rt.tracing && parent.traceparent ? rt.tracing.withParent(parent, fn) : fn();
}
