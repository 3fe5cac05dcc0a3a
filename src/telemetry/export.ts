import http from "node:http";
import https from "node:https";
import type { Socket } from "node:net";
import { OTLPTraceExporter as JsonExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as ProtobufExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base";
import type { Log } from "../log.js";
import { errorText } from "../session/errors.js";
import type { TracingConfig } from "./config.js";

/** `ExportResultCode.SUCCESS` of `@opentelemetry/core`, which ode does not depend on directly. */
const EXPORT_SUCCESS = 0;

/** One warning per tracer in the log, whichever way the collector fails first: a dead collector is no flood. */
export function warnOnce(log: Log, url: string | undefined): (error: string) => void {
  let warned = false;
  return (error) => {
    if (warned) return;
    warned = true;
    log.warn("traces could not be sent to the collector (further failures are not logged)", { url, error });
  };
}

/**
 * What the exporter's connections tell about the collector. The exporter retries a refused connection for up to
 * its timeout (seconds, with backoff); a flush at exit asks here instead, so a dead collector costs milliseconds.
 */
export class Collector {
  private down = false;
  private readonly waiters = new Set<() => void>();
  lastError = "";

  /** Resolves as soon as a connection to the collector fails (at once if the last attempt failed). */
  unreachable(): { promise: Promise<void>; cancel(): void } {
    if (this.down) return { promise: Promise.resolve(), cancel: () => {} };
    let waiter!: () => void;
    const promise = new Promise<void>((resolve) => (waiter = resolve));
    this.waiters.add(waiter);
    return { promise, cancel: () => this.waiters.delete(waiter) };
  }

  failed(error: Error): void {
    this.down = true;
    this.lastError = errorText(error);
    for (const waiter of this.waiters) waiter();
    this.waiters.clear();
  }

  reached(): void {
    this.down = false;
  }

  /** The agents the exporter sends with: each new connection reports its failure here. */
  agentFactory(): (protocol: string) => http.Agent {
    return (protocol) => {
      const agent = protocol === "https:" ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
      const connect = (agent as unknown as { createConnection: (...args: unknown[]) => Socket }).createConnection.bind(agent);
      (agent as unknown as { createConnection: (...args: unknown[]) => Socket }).createConnection = (...args) => {
        const socket = connect(...args);
        socket.once("error", (error) => this.failed(error));
        socket.once("connect", () => this.reached());
        return socket;
      };
      return agent;
    };
  }
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

export function otlpExporter(otlp: NonNullable<TracingConfig["otlp"]>, collector: Collector, warn: (error: string) => void): SpanExporter {
  const options = {
    url: otlp.url,
    headers: otlp.headers,
    httpAgentOptions: collector.agentFactory(),
    ...(otlp.timeoutMs ? { timeoutMillis: otlp.timeoutMs } : {}),
  };
  const Exporter = otlp.protocol === "http/json" ? JsonExporter : ProtobufExporter;
  return new LoggingExporter(new Exporter(options), warn);
}

/**
 * Waits for `work`, at most `ms` and no longer than until `abort` resolves; never rejects, never holds the
 * process open.
 */
export async function bounded(
  work: Promise<unknown>,
  ms: number,
  abort: { promise: Promise<void>; cancel(): void },
): Promise<"done" | "timeout" | "aborted"> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), ms);
    timer.unref();
  });
  const settled = work.then(
    () => "done" as const,
    () => "done" as const,
  );
  try {
    return await Promise.race([settled, timeout, abort.promise.then(() => "aborted" as const)]);
  } finally {
    clearTimeout(timer);
    abort.cancel();
  }
}
