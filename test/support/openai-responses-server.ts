import { split } from "./loopback.js";
import {
  startProviderServer,
  toolCallsOf,
  usageOf,
  type ProviderDialect,
  type ProviderReply,
  type ProviderReplySource,
  type ProviderTestServer,
} from "./anthropic-server.js";

export type { ProviderReply, ProviderReplySource, ProviderTestServer, RecordedRequest } from "./anthropic-server.js";

function usage(reply: ProviderReply) {
  const { input, output } = usageOf(reply);
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: input + output,
  };
}

/** The output items of a reply: a message (when it has text), then one function_call per tool call. */
function outputItems(reply: ProviderReply, index: number) {
  const items: Array<Record<string, unknown>> = [];
  if (reply.text !== undefined) {
    items.push({
      type: "message",
      id: `msg_test_${index}`,
      role: "assistant",
      status: "completed",
      content: [{ type: "output_text", text: reply.text, annotations: [] }],
    });
  }
  for (const [position, call] of toolCallsOf(reply, "call_test", index).entries()) {
    items.push({
      type: "function_call",
      id: `fc_test_${index}_${position}`,
      call_id: call.id,
      name: call.name,
      arguments: JSON.stringify(call.input),
      status: "completed",
    });
  }
  return items;
}

const responses: ProviderDialect = {
  path: "/v1/responses",
  errorBody: (status, message) => ({
    error: { message, type: status >= 500 ? "server_error" : "invalid_request_error", param: null, code: null },
  }),
  stream(send, body, reply, index) {
    let sequence = 0;
    const emit = (data: Record<string, unknown>) => send(data.type as string, { ...data, sequence_number: sequence++ });
    const base = {
      id: `resp_test_${index}`,
      object: "response",
      created_at: Math.floor(Date.now() / 1000),
      model: body?.model ?? "gpt-test",
    };
    if (!emit({ type: "response.created", response: { ...base, status: "in_progress", output: [] } })) return;
    const items = outputItems(reply, index);
    for (const [outputIndex, item] of items.entries()) {
      if (item.type === "message") {
        emit({ type: "response.output_item.added", output_index: outputIndex, item: { ...item, status: "in_progress", content: [] } });
        for (const delta of split(reply.text ?? "", 3)) {
          emit({ type: "response.output_text.delta", item_id: item.id, output_index: outputIndex, content_index: 0, delta });
        }
      } else {
        emit({ type: "response.output_item.added", output_index: outputIndex, item: { ...item, status: "in_progress", arguments: "" } });
        for (const delta of split(item.arguments as string, 2)) {
          emit({ type: "response.function_call_arguments.delta", item_id: item.id, output_index: outputIndex, delta });
        }
        emit({ type: "response.function_call_arguments.done", item_id: item.id, output_index: outputIndex, arguments: item.arguments });
      }
      emit({ type: "response.output_item.done", output_index: outputIndex, item });
    }
    emit({ type: "response.completed", response: { ...base, status: "completed", output: items, usage: usage(reply) } });
  },
  respond(body, reply, index) {
    return {
      id: `resp_test_${index}`,
      object: "response",
      created_at: Math.floor(Date.now() / 1000),
      model: body?.model ?? "gpt-test",
      status: "completed",
      error: null,
      incomplete_details: null,
      output: outputItems(reply, index),
      usage: usage(reply),
    };
  },
};

/** Speaks enough of OpenAI's Responses API (streamed and not) for `@ai-sdk/openai`'s default (responses) model. */
export function startOpenAIResponsesServer(replies: ProviderReplySource): Promise<ProviderTestServer> {
  return startProviderServer(responses, replies);
}
