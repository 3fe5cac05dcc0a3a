import type { HttpBindings } from "@hono/node-server";
import type { Context, Hono } from "hono";
import { z } from "zod";
import { startLoop, type LoopHandle } from "../loop/run-loop.js";
import { loopSpec } from "../loop/spec.js";
import { modelSpec, pickModelName } from "../provider/provider.js";
import type { Runtime } from "../runtime.js";
import type { CancelMeta } from "../session/abort.js";
import { errorText } from "../session/errors.js";
import { headerCarrier, withTraceParent } from "../telemetry/index.js";

const count = z.union([z.string(), z.number()]);
const loopBody = z.strictObject({
  prompt: z.string().optional(),
  promptFile: z.string().optional(),
  name: z.string().optional(),
  titleTemplate: z.string().optional(),
  model: z.string().optional(),
  maxIterations: count.optional(),
  minIterations: count.optional(),
  completionPromise: z.string().optional(),
  until: z.string().optional(),
  iterationTimeout: count.optional(),
  maxDuration: count.optional(),
  maxTokens: count.optional(),
  noProgress: count.optional(),
  maxFailures: count.optional(),
  onLimit: z.string().optional(),
});
const abortBody = z.object({ reason: z.string().optional() });

type BodyParser = <S extends z.ZodType>(c: Context, schema: S) => Promise<z.output<S>>;

/**
 * `POST /loop` starts a loop in the background (202 with its id), `GET /loop[/:id]` reads the records,
 * `POST /loop/:id/abort` stops one; loop events go out on `/event` with the rest. Returns what shutdown needs:
 * the loops this server runs are stopped (not merely their current iteration) when it drains.
 */
export function registerLoopRoutes(
  app: Hono<{ Bindings: HttpBindings }>,
  rt: Runtime,
  body: BodyParser,
  track: <T>(work: Promise<T>) => Promise<T>,
): { abortAll(meta: CancelMeta): void } {
  const running = new Map<string, LoopHandle>();

  app.post("/loop", async (c) => {
    const input = await body(c, loopBody);
    const spec = loopSpec(input, rt.directory);
    modelSpec(rt.config, pickModelName(rt.config, spec.model, rt.env), rt.env);
    const handle = withTraceParent(rt, headerCarrier((name) => c.req.header(name)), () => startLoop(rt, spec));
    running.set(handle.loop.id, handle);
    void track(handle.done)
      .catch((error: unknown) => rt.store.log.error("loop failed", { loopID: handle.loop.id, error: errorText(error) }))
      .finally(() => running.delete(handle.loop.id));
    return c.json({ loopID: handle.loop.id }, 202);
  });

  app.get("/loop", (c) => c.json(rt.loops.list()));

  app.get("/loop/:id", (c) => {
    const loop = rt.loops.get(c.req.param("id"));
    return c.json({ ...loop, iterations: rt.loops.iterations(loop.id) });
  });

  app.post("/loop/:id/abort", async (c) => {
    const { reason } = await body(c, abortBody);
    const id = rt.loops.get(c.req.param("id")).id;
    const meta: CancelMeta = { source: "api", via: "POST /loop/:id/abort", ...(reason !== undefined ? { reason } : {}) };
    const handle = running.get(id);
    if (handle) {
      handle.abort(meta);
      return c.json({ aborted: true });
    }
    return c.json(rt.loops.requestAbort(id, meta));
  });

  return {
    abortAll: (meta) => {
      for (const handle of running.values()) handle.abort(meta);
    },
  };
}
