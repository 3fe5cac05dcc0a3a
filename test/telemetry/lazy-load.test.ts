import { afterEach, describe, expect, it } from "vitest";
import { chunksMatching, loadedChunks } from "../support/loaded-chunks.js";
import { makeProject, mockConfig, startModel } from "../support/ode.js";
import { startOtlpReceiver, type OtlpReceiver } from "../support/otlp-receiver.js";

let receiver: OtlpReceiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

/** The built chunks that hold the OpenTelemetry SDK or its OTLP exporters (found by what they define). */
const sdkChunks = () => chunksMatching(/BatchSpanProcessorBase = class|OTLPTraceExporter = class/);

describe("the OpenTelemetry SDK is loaded only by a traced command", () => {
  it("is not read by ode --version or an untraced run, and is by a traced run", async () => {
    const chunks = sdkChunks();
    // The SDK and both exporters live in chunks of their own (the test would prove nothing otherwise).
    expect(chunks.length).toBeGreaterThan(0);
    expect(chunks).not.toContain("ode.cjs");

    const model = await startModel([{ text: "one" }, { text: "two" }]);
    const project = makeProject(mockConfig(model.baseURL));
    for (const key of Object.keys(project.env)) if (key.startsWith("OTEL_")) delete project.env[key];

    const version = await loadedChunks(project, ["--version"]);
    expect(version).toContain("ode.cjs");
    expect(version.filter((c) => chunks.includes(c))).toEqual([]);

    const untraced = await loadedChunks(project, ["run", "--title", "t", "hello"]);
    expect(untraced.length).toBeGreaterThan(5);
    expect(untraced.filter((c) => chunks.includes(c))).toEqual([]);

    receiver = await startOtlpReceiver();
    const traced = await loadedChunks(project, ["run", "--title", "t", "hello"], { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint });
    expect(traced.filter((c) => chunks.includes(c)).length).toBeGreaterThan(0);
    expect(receiver.spans.map((s) => s.name)).toContain("invoke_agent ode");
  });
});
