import http from "node:http";
import https from "node:https";
import { InvalidInputError, OdeError } from "../session/errors.js";
import type { MessageWithParts, SessionInfo } from "../session/schema.js";
import type { OutputFormat } from "./formats.js";
import { Renderer, type RenderedEvent } from "./render.js";
import { onInterrupt } from "./signals.js";

export interface AttachOptions {
  message: string;
  sessionID?: string;
  continue?: boolean;
  title?: string;
  format: OutputFormat;
  model?: string;
  timeoutMs?: number;
}

/** How long to keep reading events after the turn's answer, for those still in flight on the other connection. */
const EVENT_TAIL_MS = 5000;

/** The server's password and user name: ode's variables first, then opencode's, so either server is reachable. */
export function serverCredentials(env: NodeJS.ProcessEnv = process.env): { password?: string; username: string } {
  return {
    password: env.ODE_SERVER_PASSWORD || env.OPENCODE_SERVER_PASSWORD || undefined,
    // opencode checks the user name (default "opencode"); ode ignores it.
    username: env.ODE_SERVER_USERNAME || env.OPENCODE_SERVER_USERNAME || "opencode",
  };
}

/** The server's answer carries its HTTP status, so exit codes match a local run's (409 busy -> 3). */
class RemoteError extends OdeError {
  override name = "RemoteError";
  constructor(
    message: string,
    override readonly status: number,
  ) {
    super(message);
  }
}

function readAll(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    res.setEncoding("utf8");
    res.on("data", (chunk: string) => (text += chunk));
    res.on("end", () => resolve(text));
    res.on("error", reject);
  });
}

/** `localhost:4096`, `host:port` and a bare port mean an http server, as in opencode's `--attach`. */
export function serverURL(text: string): string {
  if (/^\d+$/.test(text)) return `http://127.0.0.1:${text}`;
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
}

/**
 * node:http rather than fetch: fetch gives up on a response whose headers take more than 5 minutes, and a prompt
 * answers only when its turn is over.
 */
class Remote {
  private readonly base: string;
  private readonly authorization?: string;

  constructor(url: string, credentials: { password?: string; username: string }) {
    let parsed: URL;
    try {
      parsed = new URL(serverURL(url));
      if (parsed.protocol !== "http:" && parsed.protocol !== "https:") throw new Error(parsed.protocol);
    } catch {
      throw new InvalidInputError(`--attach needs a server URL such as http://127.0.0.1:4096, not ${url}`);
    }
    const secret = decodeURIComponent(parsed.password) || credentials.password;
    if (secret) {
      const user = decodeURIComponent(parsed.username) || credentials.username;
      this.authorization = `Basic ${Buffer.from(`${user}:${secret}`).toString("base64")}`;
    }
    parsed.username = "";
    parsed.password = "";
    this.base = parsed.href.replace(/\/+$/, "");
  }

  private open(method: string, path: string, body?: unknown): Promise<http.IncomingMessage> {
    const url = new URL(this.base + path);
    const headers: Record<string, string> = { accept: "application/json" };
    if (this.authorization) headers.authorization = this.authorization;
    if (body !== undefined) headers["content-type"] = "application/json";
    return new Promise((resolve, reject) => {
      const req = (url.protocol === "https:" ? https : http).request(url, { method, headers }, resolve);
      req.on("error", (error: NodeJS.ErrnoException) =>
        reject(new RemoteError(`cannot reach the ode server at ${this.base}: ${error.code ?? error.message}`, 503)),
      );
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  private async check(res: http.IncomingMessage): Promise<string> {
    const text = await readAll(res);
    const status = res.statusCode ?? 500;
    if (status < 400) return text;
    let message = text.trim() || `HTTP ${status}`;
    try {
      message = (JSON.parse(text) as { data?: { message?: string } }).data?.message ?? message;
    } catch {
      // Not one of ode's JSON errors (a proxy's page, say): its text is the message.
    }
    if (status === 401) message += " (set ODE_SERVER_PASSWORD or OPENCODE_SERVER_PASSWORD, or put the password in the URL)";
    throw new RemoteError(message, status);
  }

  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return (await this.request<T>(method, path, body)).body;
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<{ body: T; headers: http.IncomingHttpHeaders }> {
    const res = await this.open(method, path, body);
    return { body: JSON.parse(await this.check(res)) as T, headers: res.headers };
  }

  /**
   * Resolves once the server answered with its headers: it subscribes a stream before answering, so no event
   * published afterwards is missed. `ended` settles when the stream does.
   */
  async events(sessionID: string, onEvent: (event: RenderedEvent) => void): Promise<{ ended: Promise<void>; close(): void }> {
    // opencode's server has no session filter: events of other sessions are dropped here.
    const res = await this.open("GET", `/event?sessionID=${encodeURIComponent(sessionID)}`);
    if (res.statusCode !== 200) await this.check(res);
    res.setEncoding("utf8");
    let buffer = "";
    res.on("data", (chunk: string) => {
      buffer += chunk;
      for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
        const data = buffer
          .slice(0, end)
          .split("\n")
          .filter((line) => line.startsWith("data:"))
          .map((line) => line.slice(5).trimStart())
          .join("\n");
        buffer = buffer.slice(end + 2);
        if (!data) continue;
        const event = JSON.parse(data) as { type: string; sessionID?: string; properties?: Record<string, unknown> };
        const properties = event.properties ?? {};
        const of = (properties.sessionID as string | undefined) ?? event.sessionID;
        if (of === sessionID) onEvent({ type: event.type, sessionID: of, properties });
      }
    });
    const ended = new Promise<void>((resolve) => {
      res.on("close", resolve);
      res.on("error", () => resolve());
    });
    return { ended, close: () => res.destroy() };
  }
}

async function pickSession(remote: Remote, opts: AttachOptions): Promise<SessionInfo> {
  const rename = (session: SessionInfo) =>
    opts.title ? remote.call<SessionInfo>("PATCH", `/session/${encodeURIComponent(session.id)}`, { title: opts.title }) : session;
  if (opts.sessionID) return rename(await remote.call<SessionInfo>("GET", `/session/${encodeURIComponent(opts.sessionID)}`));
  if (opts.continue) {
    const [latest] = await remote.call<SessionInfo[]>("GET", "/session");
    if (!latest) throw new RemoteError("the server has no session in its directory to continue", 404);
    return rename(latest);
  }
  return remote.call<SessionInfo>("POST", "/session", opts.title ? { title: opts.title } : {});
}

/** How a turn ended, from opencode's answer (its last assistant message). */
function outcomeOf(turn: MessageWithParts): "completed" | "aborted" | "error" {
  if (turn.info.role !== "assistant" || !turn.info.error) return turn.info.role === "assistant" ? "completed" : "aborted";
  return turn.info.error.name === "MessageAbortedError" ? "aborted" : "error";
}

/**
 * `ode run --attach URL`: the same turn as a local `ode run`, run by a server (`ode serve` or `opencode serve`:
 * both speak opencode's API). Its events are streamed back and printed like a local run's; Ctrl-C asks the
 * server to abort the run, a second one exits at once.
 */
export async function runAttached(url: string, opts: AttachOptions): Promise<void> {
  const remote = new Remote(url, serverCredentials());
  const session = await pickSession(remote, opts);
  const path = `/session/${encodeURIComponent(session.id)}`;
  // opencode's deltas do not say whether they grow a text or a reasoning part; the part's first update does.
  const partTypes = new Map<string, string>();
  let sent = false;
  let idle = false;
  let streamEnded = false;
  let notify = () => {};
  const renderer = new Renderer(opts.format);
  const stream = await remote.events(session.id, (event) => {
    if (event.type.startsWith("server.")) return;
    const props = event.properties;
    if (event.type === "message.part.updated") {
      const part = props.part as { id: string; type: string };
      partTypes.set(part.id, part.type);
    }
    if (event.type === "message.part.delta" && props.partType === undefined) {
      renderer.handle({ ...event, properties: { ...props, partType: partTypes.get(String(props.partID)) } });
    } else {
      renderer.handle(event);
    }
    if (sent && event.type === "session.idle") {
      idle = true;
      notify();
    }
  });
  void stream.ended.then(() => {
    streamEnded = true;
    notify();
  });

  const detach = onInterrupt(() => {
    remote.call("POST", `${path}/abort`, { reason: "SIGINT in ode run --attach" }).catch((error: Error) => {
      process.stderr.write(`ode: could not abort the run: ${error.message}\n`);
    });
  });
  let turn: MessageWithParts;
  try {
    const [providerID, ...model] = opts.model?.split("/") ?? [];
    sent = true;
    ({ body: turn } = await remote.request<MessageWithParts>("POST", `${path}/message`, {
      parts: [{ type: "text", text: opts.message }],
      ...(providerID && model.length ? { model: { providerID, modelID: model.join("/") } } : {}),
      // ode's own field: an opencode server refuses unknown fields, so it is sent only when asked for.
      ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
    }));
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, EVENT_TAIL_MS);
      notify = () => {
        if (!idle && !streamEnded) return;
        clearTimeout(timer);
        resolve();
      };
      notify();
    });
  } finally {
    detach();
    stream.close();
    renderer.stop();
  }
  const error = turn.info.role === "assistant" ? turn.info.error : undefined;
  renderer.finish({ outcome: outcomeOf(turn), ...(error ? { error } : {}) }, session.id);
}
