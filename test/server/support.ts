import { afterEach } from "vitest";
import { createRuntime, type Runtime } from "../../src/runtime.js";
import { listen, type ListenOptions, type RunningServer } from "../../src/server/serve.js";
import { collect, makeProject, startOde, waitFor, type Project } from "../support/ode.js";

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** An event as `/event` sends it: the runtime's events plus the stream's own (`server.*`). */
export interface WireEvent {
  type: string;
  sessionID?: string;
  properties: Record<string, any>;
}

export interface TestServer extends RunningServer {
  rt: Runtime;
  project: Project;
  api: Api;
}

export type Api = <T = any>(method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<{ status: number; body: T; headers: Headers }>;

export function client(url: string, defaults: Record<string, string> = {}): Api {
  return async (method, path, body, headers = {}) => {
    const res = await fetch(url + path, {
      method,
      headers: { ...defaults, ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
  };
}

/** An in-process server (createServer on @hono/node-server) on 127.0.0.1, port 0, over its own project. */
export async function startServer(config: object | undefined, options: Partial<ListenOptions> = {}): Promise<TestServer> {
  const project = makeProject(config);
  const rt = createRuntime({ directory: project.dir, dataDir: project.dataDir, env: project.env });
  const running = await listen(rt, { port: 0, hostname: "127.0.0.1", ...options });
  cleanups.push(async () => {
    await running.shutdown({ source: "shutdown", via: "test cleanup" }, 4000);
    rt.close();
  });
  const auth: Record<string, string> = options.password
    ? { authorization: `Basic ${Buffer.from(`ode:${options.password}`).toString("base64")}` }
    : {};
  return { ...running, rt, project, api: client(running.url, auth) };
}

export interface EventLog {
  events: WireEvent[];
  close(): void;
}

/** Reads `GET /event` in the background, collecting every event. */
export async function openEvents(url: string, query = "", headers: Record<string, string> = {}): Promise<EventLog> {
  const controller = new AbortController();
  const res = await fetch(`${url}/event${query}`, { headers, signal: controller.signal });
  if (res.status !== 200) throw new Error(`GET /event answered ${res.status}`);
  const events: WireEvent[] = [];
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = "";
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
          const line = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (line.startsWith("data: ")) events.push(JSON.parse(line.slice(6)));
        }
      }
    } catch {
      // Closed by the test.
    }
  })();
  const log = { events, close: () => controller.abort() };
  cleanups.push(async () => log.close());
  return log;
}

/** Emits on the server's runtime an event of any name: the stream tests need payloads no run produces. */
export function rawEmit(rt: Runtime): (type: string, sessionID: string, properties?: object) => void {
  const emit = rt.events.emit.bind(rt.events) as (type: string, sessionID: string, properties: object) => void;
  return (type, sessionID, properties = {}) => emit(type, sessionID, properties);
}

/** Starts `node dist/ode.cjs serve --port 0` and resolves with the URL it prints. */
export async function serve(project: Project, args: string[] = [], env: NodeJS.ProcessEnv = {}) {
  const child = startOde(project, ["serve", "--port", "0", ...args], { env });
  const result = collect(child);
  let stdout = "";
  child.stdout!.on("data", (d) => (stdout += d));
  const url = await Promise.race([
    waitFor(() => /listening on (http:\/\/\S+)/.exec(stdout)?.[1]),
    result.then((r) => {
      throw new Error(`ode serve exited ${r.code}: ${r.stderr}`);
    }),
  ]);
  return { child, url, result };
}
