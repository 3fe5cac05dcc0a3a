import { describe, expect, it } from "vitest";
import { tracingConfig } from "../../src/telemetry/config.js";
import { carrierOf, parentContext } from "../../src/telemetry/tracer.js";
import { trace } from "@opentelemetry/api";

describe("tracing configuration from the standard OTEL_* variables", () => {
  it("is off by default, and when disabled or exporting to none", () => {
    expect(tracingConfig({})).toBeUndefined();
    expect(tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_SDK_DISABLED: "true" })).toBeUndefined();
    expect(tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_TRACES_EXPORTER: "none" })).toBeUndefined();
  });

  it("appends /v1/traces to the base endpoint and uses a traces endpoint as given", () => {
    expect(tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318/" })?.otlp?.url).toBe("http://c:4318/v1/traces");
    expect(tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "https://c/otlp" })?.otlp?.url).toBe("https://c/otlp/v1/traces");
    const both = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://a:4318", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://b:1234/custom" };
    expect(tracingConfig(both)?.otlp?.url).toBe("http://b:1234/custom");
    expect(tracingConfig({ OTEL_TRACES_EXPORTER: "otlp" })?.otlp?.url).toBe("http://localhost:4318/v1/traces");
  });

  it("reads protocol, headers, service name, resource attributes and content capture", () => {
    const config = tracingConfig({
      OTEL_TRACES_EXPORTER: "otlp,console",
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_EXPORTER_OTLP_HEADERS: "x-api-key=abc%3D,x-team=t",
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: "x-team=traces",
      OTEL_SERVICE_NAME: "agents",
      OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=ci, host.role = runner",
      ODE_OTEL_CAPTURE_CONTENT: "1",
    });
    expect(config).toMatchObject({
      otlp: { protocol: "http/json", headers: { "x-api-key": "abc=", "x-team": "traces" } },
      console: true,
      serviceName: "agents",
      resourceAttributes: { "deployment.environment": "ci", "host.role": "runner" },
      captureContent: true,
      warnings: [],
    });
    expect(tracingConfig({ OTEL_TRACES_EXPORTER: "console" })).toMatchObject({ console: true, serviceName: "ode", captureContent: false });
    expect(tracingConfig({ OTEL_TRACES_EXPORTER: "console" })?.otlp).toBeUndefined();
  });

  it("falls back to http/protobuf for gRPC, with a warning for the log", () => {
    const config = tracingConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4317", OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" });
    expect(config?.otlp?.protocol).toBe("http/protobuf");
    expect(config?.warnings.join()).toMatch(/grpc is not supported/);
  });
});

describe("W3C trace context", () => {
  const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
  const spanId = "00f067aa0ba902b7";

  it("reads a valid traceparent and tracestate, and writes them back", () => {
    const context = parentContext({ traceparent: `00-${traceId}-${spanId}-01`, tracestate: "a=1,b=2" });
    const spanContext = trace.getSpanContext(context!)!;
    expect(spanContext).toMatchObject({ traceId, spanId, traceFlags: 1, isRemote: true });
    expect(carrierOf(spanContext)).toEqual({ TRACEPARENT: `00-${traceId}-${spanId}-01`, TRACESTATE: "a=1,b=2" });
  });

  it("ignores malformed or invalid ones", () => {
    for (const traceparent of [
      undefined,
      "",
      "garbage",
      `ff-${traceId}-${spanId}-01`,
      `00-${traceId}-${spanId}-01-extra`,
      `00-${"0".repeat(32)}-${spanId}-01`,
      `00-${traceId}-${"0".repeat(16)}-01`,
      `00-${traceId.toUpperCase()}-${spanId}-01`,
    ]) {
      expect(parentContext({ traceparent }), String(traceparent)).toBeUndefined();
    }
    // A later version may carry more fields; its first four are still read.
    expect(parentContext({ traceparent: `01-${traceId}-${spanId}-01-more` })).toBeDefined();
  });
});
