import { acceptJsonPost, listenOnLoopback, sendJson, split } from "./loopback.js";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";

export interface ScriptedToolCall {
  id?: string;
  name: string;
  arguments: Record<string, unknown> | string;
}

export interface ScriptedReply {
  text?: string;
  /** Streamed as `delta.reasoning_content`, the field most OpenAI-compatible reasoning servers use. */
  reasoning?: string;
  toolCalls?: ScriptedToolCall[];
  /** Defaults to `tool_calls` when the reply has tool calls, else `stop`. */
  finishReason?: "stop" | "tool_calls" | "length";
  /** Defaults to 10 prompt and 5 completion tokens. */
  usage?: { prompt_tokens: number; completion_tokens: number };
  /** A non-200 status answers with `errorBody` (or an OpenAI-style error object) instead of a completion. */
  status?: number;
  errorBody?: unknown;
  /** Extra response headers of a non-200 answer (e.g. `retry-after`). */
  errorHeaders?: Record<string, string>;
  /** After the text chunks, either send an SSE `{"error": ...}` event or drop the connection. */
  midStreamError?: "event" | "disconnect";
  delayMs?: number;
  /** Send headers and one chunk, then hold the stream open until the client aborts or the server closes. */
  stall?: boolean;
  chunkDelayMs?: number;
}

export interface RecordedRequest {
  body: any;
  headers: Record<string, string | string[] | undefined>;
  time: number;
}

export type ReplySource = ScriptedReply[] | ((req: RecordedRequest, index: number) => ScriptedReply);

export interface OpenAITestServer {
  /** Includes the `/v1` prefix, ready for `createOpenAICompatible({ baseURL })`. */
  baseURL: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

const EXHAUSTED: ScriptedReply = { text: "(no more scripted replies)" };

export async function startOpenAIServer(replies: ReplySource): Promise<OpenAITestServer> {
  const requests: RecordedRequest[] = [];

  const pick = (req: RecordedRequest, index: number): ScriptedReply =>
    typeof replies === "function" ? replies(req, index) : (replies[index] ?? EXHAUSTED);

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) {
        sendJson(res, 500, { error: { message: `test server failure: ${String(error)}`, type: "server_error" } });
      } else {
        res.destroy();
      }
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const accepted = await acceptJsonPost(req, res, "/v1/chat/completions", (_, message) => ({
      error: { message, type: "invalid_request_error" },
    }));
    if (!accepted) return;
    const { body } = accepted;
    const recorded: RecordedRequest = { body, headers: { ...req.headers }, time: Date.now() };
    const index = requests.length;
    requests.push(recorded);
    const reply = pick(recorded, index);

    if (reply.delayMs && !(await pause(res, reply.delayMs))) return;

    if (reply.status !== undefined && reply.status !== 200) {
      sendJson(
        res,
        reply.status,
        reply.errorBody ?? { error: { message: `scripted status ${reply.status}`, type: "server_error", code: reply.status } },
        reply.errorHeaders,
      );
      return;
    }

    if (body?.stream === true) {
      await stream(res, body, reply, index);
    } else {
      await respond(res, body, reply, index);
    }
  }

  return { ...(await listenOnLoopback(server)), requests };
}

async function stream(res: ServerResponse, body: any, reply: ScriptedReply, index: number): Promise<void> {
  const id = `chatcmpl-test-${index}`;
  const created = Math.floor(Date.now() / 1000);
  const model = typeof body?.model === "string" ? body.model : "test-model";
  const chunk = (delta: Record<string, unknown>, finishReason: string | null = null) => ({
    id,
    object: "chat.completion.chunk",
    created,
    model,
    choices: [{ index: 0, delta, finish_reason: finishReason }],
  });

  res.writeHead(200, {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    connection: "keep-alive",
  });
  res.flushHeaders();

  const gap = reply.chunkDelayMs ?? 0;
  const send = async (payload: unknown): Promise<boolean> => {
    if (res.destroyed) return false;
    res.write(`data: ${typeof payload === "string" ? payload : JSON.stringify(payload)}\n\n`);
    return gap > 0 ? pause(res, gap) : !res.destroyed;
  };

  if (!(await send(chunk({ role: "assistant", content: "" })))) return;

  if (reply.stall) {
    await untilClosed(res);
    return;
  }

  for (const piece of split(reply.reasoning ?? "", 3)) {
    if (!(await send(chunk({ reasoning_content: piece })))) return;
  }
  for (const piece of split(reply.text ?? "", 3)) {
    if (!(await send(chunk({ content: piece })))) return;
  }

  if (reply.midStreamError === "event") {
    await send({ error: { message: "scripted mid-stream error", type: "server_error", code: "stream_error" } });
    res.end();
    return;
  }
  if (reply.midStreamError === "disconnect") {
    res.destroy();
    return;
  }

  const toolCalls = normalizeToolCalls(reply, index);
  for (const [position, call] of toolCalls.entries()) {
    const opening = { index: position, id: call.id, type: "function", function: { name: call.name, arguments: "" } };
    if (!(await send(chunk({ tool_calls: [opening] })))) return;
    for (const piece of split(call.arguments, 2)) {
      if (!(await send(chunk({ tool_calls: [{ index: position, function: { arguments: piece } }] })))) return;
    }
  }

  if (!(await send(chunk({}, finishReasonOf(reply))))) return;
  if (body?.stream_options?.include_usage === true) {
    if (!(await send({ id, object: "chat.completion.chunk", created, model, choices: [], usage: usageOf(reply) }))) return;
  }
  await send("[DONE]");
  res.end();
}

async function respond(res: ServerResponse, body: any, reply: ScriptedReply, index: number): Promise<void> {
  if (reply.stall) {
    await untilClosed(res);
    return;
  }
  if (reply.midStreamError === "disconnect") {
    res.destroy();
    return;
  }
  if (reply.midStreamError === "event") {
    sendJson(res, 500, { error: { message: "scripted mid-stream error", type: "server_error", code: "stream_error" } });
    return;
  }
  const toolCalls = normalizeToolCalls(reply, index);
  sendJson(res, 200, {
    id: `chatcmpl-test-${index}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: typeof body?.model === "string" ? body.model : "test-model",
    choices: [
      {
        index: 0,
        message: {
          role: "assistant",
          content: reply.text ?? null,
          ...(reply.reasoning !== undefined ? { reasoning_content: reply.reasoning } : {}),
          ...(toolCalls.length > 0
            ? {
                tool_calls: toolCalls.map((call) => ({
                  id: call.id,
                  type: "function",
                  function: { name: call.name, arguments: call.arguments },
                })),
              }
            : {}),
        },
        finish_reason: finishReasonOf(reply),
      },
    ],
    usage: usageOf(reply),
  });
}

function normalizeToolCalls(reply: ScriptedReply, index: number): { id: string; name: string; arguments: string }[] {
  return (reply.toolCalls ?? []).map((call, position) => ({
    id: call.id ?? `call_${index}_${position}`,
    name: call.name,
    arguments: typeof call.arguments === "string" ? call.arguments : JSON.stringify(call.arguments),
  }));
}

function finishReasonOf(reply: ScriptedReply): string {
  return reply.finishReason ?? (reply.toolCalls?.length ? "tool_calls" : "stop");
}

function usageOf(reply: ScriptedReply) {
  const { prompt_tokens, completion_tokens } = reply.usage ?? { prompt_tokens: 10, completion_tokens: 5 };
  return { prompt_tokens, completion_tokens, total_tokens: prompt_tokens + completion_tokens };
}

/** Resolves true after `ms`, or false as soon as the client goes away, so aborted requests stop being served. */
function pause(res: ServerResponse, ms: number): Promise<boolean> {
  if (res.destroyed) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onClose = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      res.off("close", onClose);
      resolve(!res.destroyed);
    }, ms);
    res.once("close", onClose);
  });
}

function untilClosed(res: ServerResponse): Promise<void> {
  if (res.destroyed) return Promise.resolve();
  return new Promise((resolve) => res.once("close", () => resolve()));
}
