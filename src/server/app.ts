import os from "node:os";
import type { HttpBindings } from "@hono/node-server";
import { RESPONSE_ALREADY_SENT } from "@hono/node-server/utils/response";
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "zod";
import { driveRun, prompt, startRun, TitlesInFlight, type PromptResult } from "../agent/prompt.js";
import { compactSession } from "../agent/compaction.js";
import { runShell } from "../agent/shell.js";
import { buildLoopExport, sanitizeLoopExport } from "../export/loop-export.js";
import { buildExport } from "../export/snapshot.js";
import { exportChunks, openExportReader } from "../export/stream.js";
import { readableChunks } from "../export/write.js";
import { sanitizeExport } from "../export/sanitize.js";
import { decodeUtf8, JsonSyntaxError, parseJson } from "../json/parse.js";
import { checkTree } from "../json/tree.js";
import { renderLoopReport } from "../report/loop.js";
import { loopView } from "../report/loop-data.js";
import { renderSessionReport } from "../report/session.js";
import type { Runtime } from "../runtime.js";
import type { CancelMeta } from "../session/abort.js";
import { fieldPath, firstIssue, InvalidInputError, OdeError } from "../session/errors.js";
import { headerCarrier, withTraceParent, type TraceCarrier } from "../telemetry/index.js";
import { storeUnavailable } from "../storage/errors.js";
import { basicAuth } from "./auth.js";
import { EventStreams, type EventStreamOptions } from "./events.js";
import { registerLoopRoutes } from "./loops.js";
import {
  abortBody,
  configView,
  createBody,
  messagesView,
  one,
  promptBody,
  promptInput,
  RUN_ID_HEADER,
  sessionView,
  shellBody,
  statusView,
  turnView,
} from "./opencode.js";
import { OpencodeEvents } from "./opencode-events.js";

export interface ServerOptions extends EventStreamOptions {
  /** When set, every route needs HTTP Basic auth with this password. */
  password?: string;
  /** Largest request body accepted, in bytes (DEFAULT_MAX_BODY_BYTES when unset). */
  maxBodyBytes?: number;
}

export interface OdeServer {
  app: Hono<{ Bindings: HttpBindings }>;
  events: EventStreams;
  /** The largest request body the app accepts, in bytes. */
  maxBodyBytes: number;
  /**
   * Refuses new requests, cancels every run with `meta` and resolves once their results are stored (and the title
   * generations they started have ended), or when `timeoutMs` has passed.
   */
  drain(meta: CancelMeta, timeoutMs: number): Promise<void>;
  /** Cancels every loop and run with `meta`; a hard one after `drain`'s makes their kills hard. */
  cancelAll(meta: CancelMeta): void;
}

const renameBody = z.looseObject({ title: z.string() });
/** ode's compaction body: the model that writes the summary, `provider/model`. */
const compactBody = z.looseObject({ model: z.string().optional() });
/** opencode's `summarize` body. */
const summarizeBody = z.looseObject({ providerID: z.string(), modelID: z.string(), auto: z.boolean().optional() });

/** Request bodies larger than this are refused with 413 before they are read into memory. */
export const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;

/** The answer (413) to a request body over the limit. */
export function payloadTooLarge(maxBodyBytes: number) {
  return { name: "PayloadTooLargeError", data: { message: `request body larger than ${maxBodyBytes} bytes (ode serve --max-body)` } };
}

/** Parses a JSON body (an empty one counts as `{}`) and names the first invalid field. */
async function body<S extends z.ZodType>(c: Context, schema: S): Promise<z.output<S>> {
  let json: unknown = {};
  try {
    const raw = decodeUtf8(new Uint8Array(await c.req.arrayBuffer()));
    if (raw.trim()) json = parseJson(raw);
  } catch (error) {
    if (error instanceof JsonSyntaxError) throw new InvalidInputError(`body: not valid JSON: ${error.message}`);
    throw error;
  }
  const problem = checkTree(json);
  if (problem) throw new InvalidInputError(`${fieldPath(problem.path, "body")}: ${problem.message}`);
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new InvalidInputError(firstIssue(parsed.error, "body"));
  return parsed.data;
}

/** The caller's W3C trace context: the runs a request starts continue its trace. */
function traceCarrier(c: Context): TraceCarrier {
  return headerCarrier((name) => c.req.header(name));
}

/**
 * The HTTP interface: a thin layer over the functions the CLI uses, on one runtime shared by all sessions. Routes,
 * bodies, answers and events are opencode's (see opencode.ts), so opencode's clients work against it.
 */
export function createServer(rt: Runtime, options: ServerOptions = {}): OdeServer {
  const app = new Hono<{ Bindings: HttpBindings }>();
  const translator = new OpencodeEvents(rt);
  const events = new EventStreams(rt.events, (event) => translator.translate(event), rt.store.log, options);
  const pending = new Set<Promise<unknown>>();
  let closing = false;

  const track = <T>(work: Promise<T>): Promise<T> => {
    pending.add(work);
    const done = () => pending.delete(work);
    work.then(done, done);
    return work;
  };
  // A run's title generation outlives its request. Shutdown stops it rather than wait for the model (a wait cut
  // short by the exit would leave its trace in flight for good) and waits only for the trace to say so.
  const titles = new TitlesInFlight();
  const trackTitle = (result: PromptResult) => void track(titles.add(result));
  /**
   * A run the request waits for. The answer goes out only once every event client has been handed the run's
   * events: opencode's client exits on the answer and would lose what is still queued.
   */
  const runOfRequest = async <T extends { runID: string }>(c: Context, run: () => Promise<T>): Promise<T> => {
    const result = await track(withTraceParent(rt, traceCarrier(c), run));
    await events.flushed();
    c.header(RUN_ID_HEADER, result.runID);
    return result;
  };


  app.use(async (c, next) => {
    if (closing) return c.json({ name: "ServerClosingError", data: { message: "the server is shutting down" } }, 503);
    await next();
  });
  if (options.password) app.use(basicAuth(options.password));
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  app.use(
    bodyLimit({
      maxSize: maxBodyBytes,
      // Refused as it arrives (a body without a length, or too long to be read first; see serve.ts): the rest of
      // it is still on the wire, so the connection is not one to send the next request on.
      onError: (c) => c.json(payloadTooLarge(maxBodyBytes), 413, { connection: "close" }),
    }),
  );

  app.onError((thrown, c) => {
    const error = storeUnavailable(thrown, rt.store.dir) ?? thrown;
    if (error instanceof OdeError) return c.json({ name: error.name, data: { message: error.message } }, error.status as ContentfulStatusCode);
    rt.store.log.error("server request failed", { method: c.req.method, path: c.req.path, error: error.stack ?? String(error) });
    return c.json({ name: "UnknownError", data: { message: error.message } }, 500);
  });
  app.notFound((c) => c.json({ name: "NotFoundError", data: { message: `no route for ${c.req.method} ${c.req.path}` } }, 404));

  app.get("/session", (c) =>
    c.json(rt.store.listSessions(c.req.query("all") ? undefined : rt.directory).map((info) => sessionView(rt, info))),
  );

  app.post("/session", async (c) => {
    const { title } = await body(c, createBody);
    return c.json(sessionView(rt, rt.store.createSession({ directory: rt.directory, title })), 201);
  });

  app.get("/session/status", (c) => c.json(statusView(rt)));

  app.get("/session/:id", (c) => c.json(sessionView(rt, rt.store.getSession(c.req.param("id")))));

  app.patch("/session/:id", async (c) => {
    const { title } = await body(c, renameBody);
    return c.json(sessionView(rt, rt.store.renameSession(c.req.param("id"), title)));
  });

  app.delete("/session/:id", (c) => {
    rt.runs.deleteSession(c.req.param("id"));
    return c.json(true);
  });

  app.get("/session/:id/message", (c) => {
    const id = rt.store.getSession(c.req.param("id")).id;
    return c.json(messagesView(rt.store.messages(id)));
  });

  app.get("/session/:id/message/:messageID", (c) => c.json(one(rt, c.req.param("id"), c.req.param("messageID"))));

  app.post("/session/:id/message", async (c) => {
    const input = promptInput(c.req.param("id"), await body(c, promptBody));
    // The title is handed over inside the tracked work: a shutdown while the answer waits for the event clients
    // still finds it.
    const result = await runOfRequest(c, () => prompt(rt, input).then((done) => (trackTitle(done), done)));
    return c.json(turnView(rt, result));
  });

  app.post("/session/:id/prompt_async", async (c) => {
    const input = promptInput(c.req.param("id"), await body(c, promptBody));
    // Checks (session, model, busy) throw here and answer with their status; past this line the run exists.
    const started = withTraceParent(rt, traceCarrier(c), () => startRun(rt, input));
    const running = track(driveRun(rt, started));
    running.then(trackTitle, (error: unknown) =>
      rt.store.log.error("prompt_async run failed", {
        sessionID: input.sessionID,
        error: error instanceof Error ? (error.stack ?? error.message) : String(error),
      }),
    );
    c.header(RUN_ID_HEADER, started.run.id);
    return c.body(null, 204);
  });

  app.post("/session/:id/shell", async (c) => {
    const { command } = await body(c, shellBody);
    const sessionID = c.req.param("id");
    const result = await runOfRequest(c, () => runShell(rt, { sessionID, command }));
    return c.json(one(rt, sessionID, result.messageID));
  });

  // opencode answers a boolean; who aborted and why goes into the stored diagnostic and the `run.aborted` event.
  app.post("/session/:id/abort", async (c) => {
    const meta = await body(c, abortBody);
    const id = rt.store.getSession(c.req.param("id")).id;
    const result = rt.runs.cancel(id, { source: "api", via: "POST /session/:id/abort", ...meta });
    if (result.runID) c.header(RUN_ID_HEADER, result.runID);
    return c.json(result.cancelled);
  });

  // A compaction is a run (kind `compact`): busy sessions answer 409, and `abort` stops it like a turn.
  app.post("/session/:id/compact", async (c) => {
    const { model } = await body(c, compactBody);
    return c.json(await runOfRequest(c, () => compactSession(rt, { sessionID: c.req.param("id"), ...(model ? { model } : {}) })));
  });

  // opencode's route for the same: answers whether the summary was stored.
  app.post("/session/:id/summarize", async (c) => {
    const { providerID, modelID } = await body(c, summarizeBody);
    const result = await runOfRequest(c, () => compactSession(rt, { sessionID: c.req.param("id"), model: `${providerID}/${modelID}` }));
    return c.json(result.outcome === "completed");
  });

  app.get("/config", (c) => c.json(configView(rt)));

  app.get("/path", (c) => c.json({ home: os.homedir(), state: rt.dataDir, config: rt.dataDir, worktree: rt.directory, directory: rt.directory }));

  const wantsSanitized = (c: Context) => {
    const sanitize = c.req.query("sanitize");
    return !(sanitize === undefined || sanitize === "0" || sanitize === "false");
  };

  // Streamed: a long session's document is never whole in memory, and a slow client holds the export back.
  app.get("/session/:id/export", (c) => {
    const reader = openExportReader(rt.dataDir);
    let chunks: Iterable<string>;
    try {
      chunks = exportChunks(reader, c.req.param("id"), { sanitize: wantsSanitized(c) });
    } catch (error) {
      reader.close();
      throw error;
    }
    return new Response(readableChunks(chunks, () => reader.close()), { headers: { "content-type": "application/json" } });
  });

  app.get("/session/:id/report", (c) => {
    const doc = buildExport(rt, c.req.param("id"));
    const sanitized = wantsSanitized(c);
    return c.html(renderSessionReport(sanitized ? sanitizeExport(doc) : doc, { sanitized }));
  });

  app.get("/loop/:id/report", (c) => {
    const sanitized = wantsSanitized(c);
    const doc = buildLoopExport(rt, c.req.param("id"));
    return c.html(renderLoopReport(loopView(sanitized ? sanitizeLoopExport(doc) : doc), { sanitized }));
  });

  app.get("/event", (c) => {
    events.open(c.req.query("sessionID") || undefined, c.env.outgoing);
    return RESPONSE_ALREADY_SENT;
  });

  const loops = registerLoopRoutes(app, rt, body, track);

  const cancelAll = (meta: CancelMeta) => {
    loops.abortAll(meta);
    for (const run of rt.runs.all()) rt.runs.cancel(run.sessionID, meta);
  };

  const drain = async (meta: CancelMeta, timeoutMs: number) => {
    closing = true;
    cancelAll(meta);
    titles.stop();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    // Settling work can start more work to wait for (a finished prompt hands over its title generation).
    while (pending.size > 0) {
      const expired = await Promise.race([Promise.allSettled([...pending]).then(() => false), timeout.then(() => true)]);
      if (expired) break;
    }
    clearTimeout(timer);
  };

  return { app, events, maxBodyBytes, drain, cancelAll };
}
