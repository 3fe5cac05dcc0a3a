import { createTraceState, isSpanContextValid, ROOT_CONTEXT, trace, type Context, type SpanContext } from "@opentelemetry/api";
import { OTLPTraceExporter as JsonExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as ProtobufExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { defaultResource, resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
  type SpanExporter,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { log } from "../log.js";
import type { Runtime } from "../runtime.js";
import { errorText } from "../session/errors.js";
import { VERSION } from "../version.js";
import type { TracingConfig } from "./config.js";
import type { TraceCarrier, Tracing } from "./index.js";
import { SpanBook } from "./spans.js";

/** How long a flush may hold up an exit (normal end, abort, SIGTERM) when the collector is slow or gone. */
export const FLUSH_TIMEOUT_MS = 2000;
/** `ExportResultCode.SUCCESS` of `@opentelemetry/core`, which ode does not depend on directly. */
const EXPORT_SUCCESS = 0;

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

/** One warning per tracer in the log, whichever way the collector fails first: a dead collector is no flood. */
function warnOnce(url: string | undefined): (error: string) => void {
  let warned = false;
  return (error) => {
    if (warned) return;
    warned = true;
    log.warn("traces could not be sent to the collector (further failures are not logged)", { url, error });
  };
}

/** Passes spans on and reports a failed export. */
class LoggingExporter implements SpanExporter {
  constructor(
    private readonly inner: SpanExporter,
    private readonly warn: (error: string) => void,
  ) {}

  export(spans: ReadableSpan[], done: Parameters<SpanExporter["export"]>[1]): void {
    this.inner.export(spans, (result) => {
      if (result.code !== EXPORT_SUCCESS) this.warn(result.error ? errorText(result.error) : "export failed");
      done(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}

function otlpExporter(otlp: NonNullable<TracingConfig["otlp"]>, warn: (error: string) => void): SpanExporter {
  const options = { url: otlp.url, headers: otlp.headers, ...(otlp.timeoutMs ? { timeoutMillis: otlp.timeoutMs } : {}) };
  const Exporter = otlp.protocol === "http/json" ? JsonExporter : ProtobufExporter;
  return new LoggingExporter(new Exporter(options), warn);
}

/** Resolves when `work` settles (true) or `ms` have passed (false), whichever is first; never holds the process. */
function bounded(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
    timer.unref();
  });
  const settled = work.then(
    () => true,
    () => true,
  );
  return Promise.race([settled, timeout]).finally(() => clearTimeout(timer));
}

/** Builds the tracer provider `config` describes and starts turning `rt`'s events into spans. */
export function startTracing(rt: Runtime, config: TracingConfig): Tracing {
  const warn = warnOnce(config.otlp?.url);
  const processors: SpanProcessor[] = [];
  const exporter = config.otlp ? otlpExporter(config.otlp, warn) : undefined;
  if (exporter) processors.push(new BatchSpanProcessor(exporter));
  if (config.console) processors.push(new SimpleSpanProcessor(new ConsoleSpanExporter()));
  const resource = defaultResource().merge(
    resourceFromAttributes({ ...config.resourceAttributes, "service.name": config.serviceName, "service.version": VERSION }),
  );
  // A provider of ode's own, never registered globally: a library runtime leaves the process's tracing alone.
  const provider = new BasicTracerProvider({ resource, spanProcessors: processors });
  for (const warning of config.warnings) log.warn(`tracing: ${warning}`);
  const settle = async (work: Promise<unknown>) => {
    if (!(await bounded(work, FLUSH_TIMEOUT_MS))) warn(`no answer within ${FLUSH_TIMEOUT_MS} ms: the spans not yet sent are dropped`);
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
    startWorkflow: (loopID) => book.startWorkflow(loopID),
    flush,
    shutdown: () =>
      (closed ??= (async () => {
        unsubscribe();
        book.endAll();
        await settle(provider.shutdown());
      })()),
  };
}
