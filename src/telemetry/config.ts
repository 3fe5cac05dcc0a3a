// Reads the standard OTEL_* variables without loading any OpenTelemetry code: this module is on every command's
// path, the SDK is not.

export type TraceProtocol = "http/protobuf" | "http/json";

export interface TracingConfig {
  /** OTLP over HTTP to this URL (the traces path included), or undefined when only the console exporter is on. */
  otlp?: { url: string; protocol: TraceProtocol; headers: Record<string, string>; timeoutMs?: number };
  console: boolean;
  serviceName: string;
  resourceAttributes: Record<string, string>;
  /** `ODE_OTEL_CAPTURE_CONTENT=1`: prompts, answers, tool input and output, reasons and titles go on spans. */
  captureContent: boolean;
  /** Problems with the configuration, for the log once tracing is up (never a failure of the command). */
  warnings: string[];
}

const DEFAULT_ENDPOINT = "http://localhost:4318";

function truthy(value: string | undefined): boolean {
  return value !== undefined && ["1", "true", "yes", "on"].includes(value.trim().toLowerCase());
}

/** `key=value` pairs separated by commas, values percent-encoded (the W3C baggage format the spec uses). */
export function parseKeyValues(value: string | undefined, warnings: string[], what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of (value ?? "").split(",")) {
    if (!item.trim()) continue;
    const eq = item.indexOf("=");
    const key = eq > 0 ? item.slice(0, eq).trim() : "";
    if (!key) {
      warnings.push(`${what}: ignored an entry without a key`);
      continue;
    }
    try {
      out[key] = decodeURIComponent(item.slice(eq + 1).trim());
    } catch {
      warnings.push(`${what}: ignored ${key}, its value is not valid percent-encoding`);
    }
  }
  return out;
}

function protocolOf(env: NodeJS.ProcessEnv, warnings: string[]): TraceProtocol {
  const value = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? "http/protobuf").trim();
  if (value === "http/protobuf" || value === "http/json") return value;
  warnings.push(`OTLP protocol ${value} is not supported (http/protobuf or http/json): using http/protobuf`);
  return "http/protobuf";
}

function timeoutOf(env: NodeJS.ProcessEnv): number | undefined {
  const value = Number(env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT ?? env.OTEL_EXPORTER_OTLP_TIMEOUT);
  return Number.isFinite(value) && value > 0 ? value : undefined;
}

/**
 * The tracing configuration `env` asks for, or undefined when tracing is off: it is on when
 * `OTEL_TRACES_EXPORTER` names `otlp` or `console`, or, with that variable unset, when an OTLP endpoint is set;
 * `OTEL_SDK_DISABLED=true` and `OTEL_TRACES_EXPORTER=none` turn it off.
 */
export function tracingConfig(env: NodeJS.ProcessEnv): TracingConfig | undefined {
  if (truthy(env.OTEL_SDK_DISABLED)) return undefined;
  const tracesEndpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  const exporters = env.OTEL_TRACES_EXPORTER?.trim()
    ? env.OTEL_TRACES_EXPORTER.split(",").map((name) => name.trim().toLowerCase())
    : tracesEndpoint || endpoint
      ? ["otlp"]
      : [];
  const warnings: string[] = [];
  for (const name of exporters) {
    if (!["otlp", "console", "none"].includes(name)) warnings.push(`OTEL_TRACES_EXPORTER ${name} is not supported (otlp, console, none)`);
  }
  const otlpOn = exporters.includes("otlp");
  const consoleOn = exporters.includes("console");
  if (!otlpOn && !consoleOn) return undefined;
  const url = tracesEndpoint || `${(endpoint || DEFAULT_ENDPOINT).replace(/\/+$/, "")}/v1/traces`;
  const headers = {
    ...parseKeyValues(env.OTEL_EXPORTER_OTLP_HEADERS, warnings, "OTEL_EXPORTER_OTLP_HEADERS"),
    ...parseKeyValues(env.OTEL_EXPORTER_OTLP_TRACES_HEADERS, warnings, "OTEL_EXPORTER_OTLP_TRACES_HEADERS"),
  };
  const timeoutMs = timeoutOf(env);
  return {
    ...(otlpOn ? { otlp: { url, protocol: protocolOf(env, warnings), headers, ...(timeoutMs ? { timeoutMs } : {}) } } : {}),
    console: consoleOn,
    serviceName: env.OTEL_SERVICE_NAME?.trim() || "ode",
    resourceAttributes: parseKeyValues(env.OTEL_RESOURCE_ATTRIBUTES, warnings, "OTEL_RESOURCE_ATTRIBUTES"),
    captureContent: truthy(env.ODE_OTEL_CAPTURE_CONTENT),
    warnings,
  };
}
