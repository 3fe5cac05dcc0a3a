import { acceptJsonPost, listenOnLoopback, sendJson, split } from "./loopback.js";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { RecordedRequest } from "./openai-server.js";

export type { RecordedRequest } from "./openai-server.js";

/**
 * One scripted model reply, shared by the Anthropic Messages and OpenAI Responses test servers.
 * `toolCalls[].input` is the tool's argument object.
 */
export interface ProviderReply {
  text?: string;
  toolCalls?: Array<{ id?: string; name: string; input: Record<string, unknown> }>;
  /** Defaults to 10 input and 5 output tokens. */
  usage?: { input: number; output: number };
  /** A non-200 status answers with `errorBody` (or the provider's own error shape) instead of a reply. */
  status?: number;
  errorBody?: unknown;
  /** Send headers (and, when streaming, the opening event), then hold the response open until the client leaves. */
  stall?: boolean;
}

export type ProviderReplySource = ProviderReply[] | ((req: RecordedRequest, index: number) => ProviderReply);

export interface ProviderTestServer {
  /** Includes the `/v1` prefix, ready for the provider's `baseURL` option. */
  baseURL: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/** What a provider-specific server plugs into the shared HTTP harness. */
export interface ProviderDialect {
  /** The one POST path served, e.g. `/v1/messages`. */
  path: string;
  errorBody(status: number, message: string): unknown;
  /** Writes the SSE events of one streamed reply; the harness has already sent the headers. */
  stream(send: (event: string, data: unknown) => boolean, body: any, reply: ProviderReply, index: number): void;
  /** The JSON body of one non-streamed reply. */
  respond(body: any, reply: ProviderReply, index: number): unknown;
}

const EXHAUSTED: ProviderReply = { text: "(no more scripted replies)" };

/** A loopback HTTP server on 127.0.0.1:0 that records each request and answers it with the next scripted reply. */
export async function startProviderServer(dialect: ProviderDialect, replies: ProviderReplySource): Promise<ProviderTestServer> {
  const requests: RecordedRequest[] = [];
  const pick = (req: RecordedRequest, index: number): ProviderReply =>
    typeof replies === "function" ? replies(req, index) : (replies[index] ?? EXHAUSTED);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const accepted = await acceptJsonPost(req, res, dialect.path, dialect.errorBody);
    if (!accepted) return;
    const { body } = accepted;
    const recorded: RecordedRequest = { body, headers: { ...req.headers }, time: Date.now() };
    const index = requests.length;
    requests.push(recorded);
    const reply = pick(recorded, index);

    if (reply.status !== undefined && reply.status !== 200) {
      sendJson(res, reply.status, reply.errorBody ?? dialect.errorBody(reply.status, `scripted status ${reply.status}`));
      return;
    }
    if (body?.stream !== true) {
      if (reply.stall) return untilClosed(res);
      sendJson(res, 200, dialect.respond(body, reply, index));
      return;
    }
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
    res.flushHeaders();
    let opened = false;
    const send = (event: string, data: unknown): boolean => {
      if (res.destroyed) return false;
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      opened = true;
      return true;
    };
    if (reply.stall) {
      // Only the opening event: the dialect's first send.
      dialect.stream((event, data) => (opened ? false : send(event, data)), body, reply, index);
      return untilClosed(res);
    }
    dialect.stream(send, body, reply, index);
    res.end();
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, dialect.errorBody(500, `test server failure: ${String(error)}`));
      else res.destroy();
    });
  });
  return { ...(await listenOnLoopback(server)), requests };
}

export function usageOf(reply: ProviderReply): { input: number; output: number } {
  return reply.usage ?? { input: 10, output: 5 };
}

export function toolCallsOf(reply: ProviderReply, prefix: string, index: number) {
  return (reply.toolCalls ?? []).map((call, position) => ({
    id: call.id ?? `${prefix}_${index}_${position}`,
    name: call.name,
    input: call.input,
  }));
}

function untilClosed(res: ServerResponse): Promise<void> {
  if (res.destroyed) return Promise.resolve();
  return new Promise((resolve) => res.once("close", () => resolve()));
}

// --- Anthropic Messages API (POST /v1/messages) ---

const anthropic: ProviderDialect = {
  path: "/v1/messages",
  errorBody: (status, message) => ({
    type: "error",
    error: { type: status >= 500 ? "api_error" : "invalid_request_error", message },
  }),
  stream(send, body, reply, index) {
    const usage = usageOf(reply);
    const ok = send("message_start", {
      type: "message_start",
      message: {
        id: `msg_test_${index}`,
        type: "message",
        role: "assistant",
        model: body?.model ?? "claude-test",
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: usage.input, output_tokens: 1 },
      },
    });
    if (!ok) return;
    let block = 0;
    if (reply.text !== undefined) {
      send("content_block_start", { type: "content_block_start", index: block, content_block: { type: "text", text: "" } });
      for (const piece of split(reply.text, 3)) {
        send("content_block_delta", { type: "content_block_delta", index: block, delta: { type: "text_delta", text: piece } });
      }
      send("content_block_stop", { type: "content_block_stop", index: block++ });
    }
    for (const call of toolCallsOf(reply, "toolu_test", index)) {
      send("content_block_start", {
        type: "content_block_start",
        index: block,
        content_block: { type: "tool_use", id: call.id, name: call.name, input: {} },
      });
      for (const piece of split(JSON.stringify(call.input), 2)) {
        send("content_block_delta", {
          type: "content_block_delta",
          index: block,
          delta: { type: "input_json_delta", partial_json: piece },
        });
      }
      send("content_block_stop", { type: "content_block_stop", index: block++ });
    }
    send("message_delta", {
      type: "message_delta",
      delta: { stop_reason: reply.toolCalls?.length ? "tool_use" : "end_turn", stop_sequence: null },
      usage: { output_tokens: usage.output },
    });
    send("message_stop", { type: "message_stop" });
  },
  respond(body, reply, index) {
    const usage = usageOf(reply);
    return {
      id: `msg_test_${index}`,
      type: "message",
      role: "assistant",
      model: body?.model ?? "claude-test",
      content: [
        ...(reply.text !== undefined ? [{ type: "text", text: reply.text }] : []),
        ...toolCallsOf(reply, "toolu_test", index).map((call) => ({ type: "tool_use", ...call })),
      ],
      stop_reason: reply.toolCalls?.length ? "tool_use" : "end_turn",
      stop_sequence: null,
      usage: { input_tokens: usage.input, output_tokens: usage.output },
    };
  },
};

/** Speaks enough of Anthropic's Messages API (streamed and not) for `@ai-sdk/anthropic`. */
export function startAnthropicServer(replies: ProviderReplySource): Promise<ProviderTestServer> {
  return startProviderServer(anthropic, replies);
}
