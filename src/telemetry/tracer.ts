import { createTraceState, isSpanContextValid, ROOT_CONTEXT, trace, type Context, type SpanContext } from "@opentelemetry/api";
import { defaultResource, resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  SimpleSpanProcessor,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import type { Runtime } from "../runtime.js";
import { VERSION } from "../version.js";
import type { TracingConfig } from "./config.js";
import { bounded, Collector, otlpExporter, warnOnce } from "./export.js";
import type { TraceCarrier, Tracing } from "./index.js";
import { SpanBook } from "./spans.js";

/** How long a flush may hold up an exit (normal end, abort, SIGTERM) when the collector is slow or gone. */
export const FLUSH_TIMEOUT_MS = 2000;

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** The context a W3C `traceparent` names, or undefined when it is absent or malformed (then it is ignored). */
export function parentContext(carrier: TraceCarrier): Context | undefined {
  const match = TRACEPARENT.exec(carrier.traceparent?.trim() ?? "");
  // Version ff is invalid; version 00 has exactly four fields; later versions may append fields.
  if (!match || match[1] === "ff" || (match[1] === "00" && match[5] !== undefined)) return undefined;
  const spanContext: SpanContext = {
    traceId: match[2]!,
    spanId: match[3]!,
    traceFlags: parseInt(match[4]!, 16) & 1,
    isRemote: true,
    ...(carrier.tracestate?.trim() ? { traceState: createTraceState(carrier.tracestate.trim()) } : {}),
  };
  return isSpanContextValid(spanContext) ? trace.setSpanContext(ROOT_CONTEXT, spanContext) : undefined;
}

/** The W3C header values that make a child process's spans children of `spanContext`. */
export function carrierOf(spanContext: SpanContext): { TRACEPARENT: string; TRACESTATE: string | undefined } {
  const flags = (spanContext.traceFlags & 0xff).toString(16).padStart(2, "0");
  const state = spanContext.traceState?.serialize();
  return { TRACEPARENT: `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`, TRACESTATE: state || undefined };
}

/** Builds the tracer provider `config` describes and starts turning `rt`'s events into spans. */
export function startTracing(rt: Runtime, config: TracingConfig): Tracing {
  const warn = warnOnce(rt.store.log, config.otlp?.url);
  const collector = new Collector();
  const processors: SpanProcessor[] = [];
  const exporter = config.otlp ? otlpExporter(config.otlp, collector, warn) : undefined;
  if (exporter) processors.push(new BatchSpanProcessor(exporter));
  if (config.console) processors.push(new SimpleSpanProcessor(new ConsoleSpanExporter()));
  const resource = defaultResource().merge(
    resourceFromAttributes({ ...config.resourceAttributes, "service.name": config.serviceName, "service.version": VERSION }),
  );
  // A provider of ode's own, never registered globally: a library runtime leaves the process's tracing alone.
  const provider = new BasicTracerProvider({ resource, spanProcessors: processors });
  for (const warning of config.warnings) rt.store.log.warn(`tracing: ${warning}`);
  // A collector that refuses connections is not waited for: the exporter would retry it for seconds.
  const settle = async (work: Promise<unknown>) => {
    const outcome = await bounded(work, FLUSH_TIMEOUT_MS, collector.unreachable());
    if (outcome === "timeout") warn(`no answer within ${FLUSH_TIMEOUT_MS} ms: the spans not yet sent are dropped`);
    if (outcome === "aborted") warn(`the collector is unreachable (${collector.lastError}): the spans not yet sent are dropped`);
  };
  // The processor hands its spans to the exporter; the exporter's own flush waits for the requests in flight
  // (one an earlier flush started, after an abort, included).
  const flush = () => settle(provider.forceFlush().then(() => exporter?.forceFlush?.()));
  const book = new SpanBook(rt, provider.getTracer("ode", VERSION), {
    captureContent: config.captureContent,
    defaultParent: parentContext({ traceparent: rt.env.TRACEPARENT, tracestate: rt.env.TRACESTATE }),
    parse: parentContext,
    // An aborted run's spans leave at once: the process may be about to go (Ctrl-C, SIGTERM, a killed loop).
    onAbortedRun: () => void flush(),
  });
  const unsubscribe = rt.events.subscribe((event) => book.handle(event));
  let closed: Promise<void> | undefined;
  return {
    spawnVariables: (partID) => {
      const spanContext = book.spanContextOf(partID);
      return spanContext ? carrierOf(spanContext) : {};
    },
    withParent: (parent, fn) => book.withParent(parent, fn),
    withLoopIteration: (loopID, iteration, fn) => book.withLoopIteration(loopID, iteration, fn),
    flush,
    shutdown: () =>
      (closed ??= (async () => {
        unsubscribe();
        book.endAll();
        await settle(provider.shutdown());
      })()),
  };
}
