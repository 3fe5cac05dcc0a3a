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

/** Passes spans on and writes one warning in the log the first time the collector cannot take them. */
class LoggingExporter implements SpanExporter {
  private warned = false;
  constructor(
    private readonly inner: SpanExporter,
    private readonly url: string,
  ) {}

  export(spans: ReadableSpan[], done: Parameters<SpanExporter["export"]>[1]): void {
    this.inner.export(spans, (result) => {
      if (result.code !== EXPORT_SUCCESS && !this.warned) {
        this.warned = true;
        log.warn("traces could not be sent to the collector (further failures are not logged)", {
          url: this.url,
          error: result.error ? errorText(result.error) : "export failed",
        });
      }
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

function otlpExporter(otlp: NonNullable<TracingConfig["otlp"]>): SpanExporter {
  const options = { url: otlp.url, headers: otlp.headers, ...(otlp.timeoutMs ? { timeoutMillis: otlp.timeoutMs } : {}) };
  const Exporter = otlp.protocol === "http/json" ? JsonExporter : ProtobufExporter;
  return new LoggingExporter(new Exporter(options), otlp.url);
}

/** Resolves when `work` settles or `ms` have passed, whichever is first; never rejects, never holds the process. */
function bounded(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
    timer.unref();
  });
  return Promise.race([work.then(
    () => {},
    () => {},
  ), timeout]).finally(() => clearTimeout(timer));
}

/** Builds the tracer provider `config` describes and starts turning `rt`'s events into spans. */
export function startTracing(rt: Runtime, config: TracingConfig): Tracing {
  const processors: SpanProcessor[] = [];
  if (config.otlp) processors.push(new BatchSpanProcessor(otlpExporter(config.otlp)));
  if (config.console) processors.push(new SimpleSpanProcessor(new ConsoleSpanExporter()));
  const resource = defaultResource().merge(
    resourceFromAttributes({ ...config.resourceAttributes, "service.name": config.serviceName, "service.version": VERSION }),
  );
  // A provider of ode's own, never registered globally: a library runtime leaves the process's tracing alone.
  const provider = new BasicTracerProvider({ resource, spanProcessors: processors });
  for (const warning of config.warnings) log.warn(`tracing: ${warning}`);
  const flush = () => bounded(provider.forceFlush(), FLUSH_TIMEOUT_MS);
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
        await bounded(provider.shutdown(), FLUSH_TIMEOUT_MS);
      })()),
  };
}
