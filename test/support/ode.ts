import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach } from "vitest";
import { Store } from "../../src/session/store.js";
import { startOpenAIServer, type OpenAITestServer, type RecordedRequest, type ScriptedReply } from "./openai-server.js";

export const ROOT = path.resolve(import.meta.dirname, "..", "..");
export const ODE = path.join(ROOT, "dist", "ode.cjs");

export interface Project {
  dir: string;
  dataDir: string;
  env: NodeJS.ProcessEnv;
}

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** Runs `fn` after the current test, with the other cleanups (last registered, first run). */
export function onCleanup(fn: () => void | Promise<void>): void {
  cleanups.push(fn);
}

export function tempDir(prefix = "ode-test-"): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A scratch project with its own data directory and an `ode.json`; nothing is read from the user's home. */
export function makeProject(config?: object): Project {
  const dir = tempDir();
  const dataDir = path.join(dir, ".ode-data");
  if (config) fs.writeFileSync(path.join(dir, "ode.json"), JSON.stringify(config, null, 2));
  const env: NodeJS.ProcessEnv = { ...process.env, ODE_DATA_DIR: dataDir, XDG_CONFIG_HOME: path.join(dir, ".config") };
  for (const key of ["OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENCODE_SESSION_ID", "OPENCODE_SESSION_TITLE", "ODE_SERVER_PASSWORD"]) {
    delete env[key];
  }
  return { dir, dataDir, env };
}

/** ode.json for a provider "mock" served by the loopback OpenAI-compatible test server. */
export function mockConfig(baseURL: string, extra: object = {}): object {
  return {
    model: "mock/test-model",
    provider: { mock: { type: "openai-compatible", options: { baseURL, apiKey: "test" } } },
    ...extra,
  };
}

export function scriptedConfig(script: object | string, extra: object = {}): object {
  return { model: "demo/scripted", provider: { demo: { type: "scripted", options: { script } } }, ...extra };
}

export interface OdeResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function startOde(project: Project, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): ChildProcess {
  const child = spawn(process.execPath, [ODE, ...args], {
    cwd: options.cwd ?? project.dir,
    env: { ...project.env, ...options.env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  });
  return child;
}

export function collect(child: ChildProcess): Promise<OdeResult> {
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  return new Promise((resolve) => child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })));
}

export async function runOde(
  project: Project,
  args: string[],
  options: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {},
): Promise<OdeResult> {
  const child = startOde(project, args, options);
  const result = collect(child);
  child.stdin!.end(options.input ?? "");
  return result;
}

/** Waits until `check` returns a value, polling; for observing another process's progress in tests. */
export async function waitFor<T>(check: () => T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error("waitFor: timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** True for the background title request (the only model call made without tools). */
export function isTitleRequest(req: RecordedRequest): boolean {
  return !req.body.tools || req.body.tools.length === 0;
}

/**
 * A loopback model whose turn requests get `steps` in order and whose title requests get `title`, so tests do not
 * depend on which of the two concurrent requests arrives first.
 */
export async function startModel(
  steps: ScriptedReply[],
  title: ScriptedReply | ((req: RecordedRequest) => ScriptedReply) = { text: "Generated test title" },
): Promise<OpenAITestServer & { turnRequests: () => RecordedRequest[]; titleRequests: () => RecordedRequest[] }> {
  let next = 0;
  const server = await startOpenAIServer((req) => {
    if (isTitleRequest(req)) return typeof title === "function" ? title(req) : title;
    return steps[next++] ?? { text: "(no more scripted replies)" };
  });
  cleanups.push(() => server.close());
  return {
    ...server,
    turnRequests: () => server.requests.filter((r) => !isTitleRequest(r)),
    titleRequests: () => server.requests.filter(isTitleRequest),
  };
}

/** The data directory's only session with its messages, read from the store as another process left it. */
export function onlySession(dataDir: string) {
  const store = Store.open(dataDir);
  try {
    const [session] = store.listSessions();
    return { session: session!, messages: store.messages(session!.id) };
  } finally {
    store.close();
  }
}
