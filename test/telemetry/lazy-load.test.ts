import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { collect, makeProject, mockConfig, ODE, ROOT, startModel, tempDir, type Project } from "../support/ode.js";
import { startOtlpReceiver, type OtlpReceiver } from "../support/otlp-receiver.js";

const HOOK = path.join(ROOT, "test", "support", "load-log.mjs");

let receiver: OtlpReceiver | undefined;
afterEach(async () => {
  await receiver?.close();
  receiver = undefined;
});

/** The built chunks that hold the OpenTelemetry SDK or its OTLP exporters (found by what they define). */
function sdkChunks(): string[] {
  const dir = path.join(ROOT, "dist", "chunks");
  return fs
    .readdirSync(dir)
    .filter((name) => name.endsWith(".js"))
    .filter((name) => /BatchSpanProcessorBase = class|OTLPTraceExporter = class/.test(fs.readFileSync(path.join(dir, name), "utf8")));
}

/** Runs the built ode with the load log and returns the dist files it loaded. */
async function loadedChunks(project: Project, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string[]> {
  const log = path.join(tempDir(), "loaded.txt");
  const child = spawn(process.execPath, ["--import", HOOK, ODE, ...args], {
    cwd: project.dir,
    env: { ...project.env, ...env, ODE_TEST_LOAD_LOG: log },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const result = await collect(child);
  expect(result.code, result.stderr).toBe(0);
  return fs
    .readFileSync(log, "utf8")
    .split("\n")
    .filter((url) => url.includes("/dist/"))
    .map((url) => path.basename(new URL(url).pathname));
}

describe("the OpenTelemetry SDK is loaded only by a traced command", () => {
  it("is not read by ode --version or an untraced run, and is by a traced run", async () => {
    const chunks = sdkChunks();
    // The SDK and both exporters live in chunks of their own (the test would prove nothing otherwise).
    expect(chunks.length).toBeGreaterThan(0);
    expect(chunks).not.toContain("ode.js");

    const model = await startModel([{ text: "one" }, { text: "two" }]);
    const project = makeProject(mockConfig(model.baseURL));
    for (const key of Object.keys(project.env)) if (key.startsWith("OTEL_")) delete project.env[key];

    const version = await loadedChunks(project, ["--version"]);
    expect(version).toContain("ode.js");
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
