import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import { createRuntime, type Runtime } from "../runtime.js";
import { enableTracing } from "../telemetry/index.js";
import type { CancelMeta } from "../session/abort.js";
import { InvalidInputError } from "../session/errors.js";
import { wireSignals } from "../cli/signals.js";
import { createServer, payloadTooLarge, type OdeServer, type ServerOptions } from "./app.js";
import { basicAuthorizer, isLoopback } from "./auth.js";

/** A signal must end the process within 5 s: runs get most of it, closing the connections the rest. */
const SHUTDOWN_MS = 4000;
const DRAIN_MS = 3500;
const EXIT_GUARD_MS = 4800;
const CLOSE_GRACE_MS = 250;
/**
 * The page cache of the server's database connection, in KiB. SQLite's default as better-sqlite3 builds it is
 * 16,000 KiB per connection, and a long-running server's cache fills up to that as the database grows (+7 MiB of
 * RSS over 900 turns); the pages stay in the operating system's file cache, so a miss costs a read from memory.
 */
const SERVER_PAGE_CACHE_KIB = 2048;
/** The largest upload over the limit that is read to its end before it is refused (see `refusingOversized`). */
const READ_REFUSED_UPLOADS_UP_TO = 256 * 2 ** 20;

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * The server's two ways in for a request, with bodies whose Content-Length is over the limit answered 413 by their
 * headers. Answered while the body was still arriving, such a request had its connection closed under the upload
 * (by @hono/node-server half a second later, or by Node's keep-alive timer), and a client still sending, which is
 * every client of a busy machine, saw EPIPE or a reset instead of the 413 (fetch with a string body reports only
 * "fetch failed"). So the body is read to its end and thrown away, then answered; a client that asked to be told
 * first (`Expect: 100-continue`, as curl does for large bodies) is answered before it sends any. Only a client with
 * the password gets this: without it the app answers 401 at once. Uploads larger than READ_REFUSED_UPLOADS_UP_TO,
 * and bodies without a length, are refused by the app as they arrive.
 */
function refusingOversized(listener: Listener, maxBodyBytes: number, authorized: (header: string | undefined) => boolean) {
  const oversized = (req: IncomingMessage) => Number(req.headers["content-length"]) > maxBodyBytes && authorized(req.headers.authorization);
  const refuse = (res: ServerResponse, headers: Record<string, string> = {}) =>
    res.writeHead(413, { "content-type": "application/json", ...headers }).end(JSON.stringify(payloadTooLarge(maxBodyBytes)));
  const request: Listener = (req, res) => {
    if (!oversized(req) || Number(req.headers["content-length"]) > READ_REFUSED_UPLOADS_UP_TO) return listener(req, res);
    // A client that goes away mid-upload ends the request with an error; nobody is left to answer.
    req.once("error", () => undefined);
    req.once("end", () => refuse(res));
    req.resume();
  };
  const checkContinue: Listener = (req, res) => {
    if (oversized(req)) return refuse(res, { connection: "close" });
    res.writeContinue();
    request(req, res);
  };
  return { request, checkContinue };
}

export interface ListenOptions extends ServerOptions {
  port: number;
  hostname: string;
}

export interface RunningServer {
  url: string;
  server: Server;
  ode: OdeServer;
  /** Aborts the runs with `meta`, waits for their results to be stored, then closes every connection. */
  shutdown(meta: CancelMeta, timeoutMs?: number): Promise<void>;
}

export async function listen(rt: Runtime, options: ListenOptions): Promise<RunningServer> {
  if (!options.password && !isLoopback(options.hostname)) {
    throw new InvalidInputError(
      `refusing to listen on ${options.hostname} without a password: anyone who can reach it could run commands here. ` +
        `Set ODE_SERVER_PASSWORD (clients then use HTTP Basic auth) or bind a loopback address such as 127.0.0.1.`,
    );
  }
  const ode = createServer(rt, options);
  const listener = getRequestListener(ode.app.fetch, { hostname: options.hostname });
  const authorized = options.password ? basicAuthorizer(options.password) : () => true;
  const { request, checkContinue } = refusingOversized(listener, ode.maxBodyBytes, authorized);
  const server = createHttpServer(request).on("checkContinue", checkContinue);
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(new InvalidInputError(`cannot listen on ${options.hostname}:${options.port}: ${error.code ?? error.message}`)),
    );
    server.listen(options.port, options.hostname, resolve);
  });
  const { port } = server.address() as AddressInfo;
  const host = options.hostname.includes(":") ? `[${options.hostname}]` : options.hostname;

  const shutdown = async (meta: CancelMeta, timeoutMs = SHUTDOWN_MS) => {
    const deadline = Date.now() + timeoutMs;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    await ode.drain(meta, Math.min(DRAIN_MS, timeoutMs));
    // Event streams never end by themselves; ending them (rather than cutting them) lets their queues flush.
    ode.events.closeAll();
    server.closeIdleConnections();
    // The answers of requests that waited on the runs are written by now; give them a moment to reach the clients.
    const grace = Math.min(CLOSE_GRACE_MS, Math.max(0, deadline - Date.now()));
    await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, grace))]);
    server.closeAllConnections();
    await closed;
  };
  return { url: `http://${host}:${port}`, server, ode, shutdown };
}

/**
 * `ode serve`: serves until SIGTERM, SIGINT, SIGHUP or SIGQUIT, then aborts the running runs (source `shutdown`,
 * `via` the signal) and exits once they are recorded and their processes are gone. A second signal does not exit
 * at once, which would leave the processes of a soft kill running: it makes the kill hard and the same shutdown
 * ends sooner.
 */
export async function runServe(options: { port: number; hostname: string; maxBodyBytes?: number }): Promise<void> {
  // opencode's variable too, so a setup written for `opencode serve` secures ode the same way.
  const password = process.env.ODE_SERVER_PASSWORD || process.env.OPENCODE_SERVER_PASSWORD || undefined;
  const rt = createRuntime({ processWide: true });
  // The server's own runtime: a library user's connection keeps the cache it was given.
  rt.store.db.pragma(`cache_size = -${SERVER_PAGE_CACHE_KIB}`);
  await enableTracing(rt);
  let running: RunningServer;
  try {
    running = await listen(rt, { ...options, password });
  } catch (error) {
    rt.close();
    throw error;
  }
  process.stdout.write(`ode server listening on ${running.url}${password ? " (HTTP Basic auth required)" : ""}\n`);
  wireSignals(({ via, mode }) => {
    const meta: CancelMeta = { source: "shutdown", via, mode, reason: `ode serve received ${via}` };
    if (mode === "hard") return running.ode.cancelAll(meta);
    setTimeout(() => process.exit(1), EXIT_GUARD_MS).unref();
    void running
      .shutdown(meta)
      .then(() => rt.tracing?.shutdown())
      .finally(() => {
        rt.close();
        process.exit(0);
      });
  });
}
