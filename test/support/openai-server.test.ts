import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { APICallError, generateText, stepCountIs, streamText } from "ai";
import { afterEach, describe, expect, it } from "vitest";
import { startOpenAIServer, type ReplySource } from "./openai-server.js";
import { addTool, collect } from "./sdk.js";

const running: { close(): Promise<void> }[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.close()));
});

async function serve(replies: ReplySource, options: { includeUsage?: boolean } = {}) {
  const server = await startOpenAIServer(replies);
  running.push(server);
  const provider = createOpenAICompatible({ name: "test", baseURL: server.baseURL, ...options });
  return { server, model: provider.chatModel("test-model") };
}


describe("startOpenAIServer through @ai-sdk/openai-compatible", () => {
  it("runs a two-step tool loop with reasoning, split tool arguments and usage", async () => {
    const { server, model } = await serve(
      [
        {
          reasoning: "The user wants a sum.",
          toolCalls: [{ id: "call_add", name: "add", arguments: { a: 2, b: 3 } }],
          usage: { prompt_tokens: 20, completion_tokens: 7 },
        },
        { text: "The sum is 5.", usage: { prompt_tokens: 30, completion_tokens: 4 } },
      ],
      { includeUsage: true },
    );
    const calls: unknown[] = [];
    const result = streamText({
      model,
      prompt: "add 2 and 3",
      tools: { add: addTool(calls) },
      stopWhen: stepCountIs(3),
    });
    const parts = await collect(result.fullStream);

    expect(calls).toEqual([{ a: 2, b: 3 }]);
    expect(parts.filter((p) => p.type === "tool-input-delta").length).toBeGreaterThanOrEqual(2);
    expect(await result.text).toBe("The sum is 5.");
    const steps = await result.steps;
    expect(steps.map((s) => s.finishReason)).toEqual(["tool-calls", "stop"]);
    expect(steps[0].reasoningText).toBe("The user wants a sum.");

    expect(server.requests).toHaveLength(2);
    const [first, second] = server.requests;
    expect(first.body.stream).toBe(true);
    expect(first.body.stream_options).toEqual({ include_usage: true });
    expect(first.body.tools[0].function.name).toBe("add");
    const toolMessage = second.body.messages.find((m: { role: string }) => m.role === "tool");
    expect(toolMessage).toMatchObject({ tool_call_id: "call_add", content: "5" });
    const assistant = second.body.messages.find((m: { role: string }) => m.role === "assistant");
    expect(assistant.tool_calls[0]).toMatchObject({ id: "call_add", function: { name: "add", arguments: '{"a":2,"b":3}' } });

    const usage = await result.totalUsage;
    expect(usage.inputTokens).toBe(50);
    expect(usage.outputTokens).toBe(11);
    expect(steps[0].usage.inputTokenDetails.cacheReadTokens).toBe(0);
  });

  it("sends no usage unless the provider is created with includeUsage", async () => {
    const { server, model } = await serve([{ text: "hi" }]);
    const result = streamText({ model, prompt: "hello" });
    await collect(result.fullStream);
    expect(server.requests[0].body.stream_options).toBeUndefined();
    expect((await result.totalUsage).inputTokens).toBeUndefined();
    expect(await result.text).toBe("hi");
  });

  it("answers non-streamed requests with a chat.completion", async () => {
    const { server, model } = await serve([
      { toolCalls: [{ name: "add", arguments: '{"a":1,"b":1}' }] },
      { text: "2", reasoning: "easy" },
    ]);
    const calls: unknown[] = [];
    const result = await generateText({
      model,
      prompt: "1+1",
      tools: { add: addTool(calls) },
      stopWhen: stepCountIs(3),
    });
    expect(server.requests[0].body.stream).toBeUndefined();
    expect(calls).toEqual([{ a: 1, b: 1 }]);
    expect(result.text).toBe("2");
    expect(result.reasoningText).toBe("easy");
    expect(result.totalUsage.inputTokens).toBe(20);
  });

  it("surfaces a 500 as an APICallError", async () => {
    const { model } = await serve([{ status: 500, errorBody: { error: { message: "boom", type: "server_error" } } }]);
    const result = streamText({ model, prompt: "hello", maxRetries: 0, onError: () => {} });
    const errors = (await collect(result.fullStream)).filter((p) => p.type === "error");
    expect(errors).toHaveLength(1);
    const error = errors[0].type === "error" ? errors[0].error : undefined;
    expect(APICallError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ statusCode: 500, message: "boom", isRetryable: true });
  });

  it("surfaces a mid-stream error event as an error part after the text so far", async () => {
    const { model } = await serve([{ text: "partial answer", midStreamError: "event" }]);
    const result = streamText({ model, prompt: "hello", onError: () => {} });
    const parts = await collect(result.fullStream);
    const text = parts.flatMap((p) => (p.type === "text-delta" ? [p.text] : [])).join("");
    expect(text).toBe("partial answer");
    const error = parts.find((p) => p.type === "error");
    expect(error).toMatchObject({ error: { message: "scripted mid-stream error", code: "stream_error" } });
    expect(parts.find((p) => p.type === "finish-step")).toMatchObject({ finishReason: "error" });
  });

  it("surfaces a dropped connection by rejecting the stream, not as an error part", async () => {
    // Spaced chunks: deltas still queued when the stream errors are dropped, so they must be read before the cut.
    const { model } = await serve([{ text: "partial", midStreamError: "disconnect", chunkDelayMs: 20 }]);
    const errors: unknown[] = [];
    const result = streamText({ model, prompt: "hello", onError: ({ error }) => void errors.push(error) });
    const seen: string[] = [];
    const failure = await (async () => {
      for await (const part of result.fullStream) seen.push(part.type);
    })().then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(seen).toContain("text-delta");
    expect(APICallError.isInstance(failure)).toBe(true);
    expect(failure).toMatchObject({ statusCode: 200, isRetryable: true, message: "Failed to process successful response" });
    expect(errors).toEqual([]);
  });

  it("ends a stalled stream promptly when aborted", async () => {
    const { server, model } = await serve([{ stall: true }]);
    const controller = new AbortController();
    const result = streamText({ model, prompt: "hello", abortSignal: controller.signal, onError: () => {} });
    const parts: string[] = [];
    let abortedAt = 0;
    for await (const part of result.fullStream) {
      parts.push(part.type);
      if (part.type === "start-step") {
        setTimeout(() => {
          abortedAt = Date.now();
          controller.abort();
        }, 50);
      }
    }
    expect(abortedAt).toBeGreaterThan(0);
    expect(Date.now() - abortedAt).toBeLessThan(500);
    expect(parts).toContain("abort");
    expect(server.requests).toHaveLength(1);
  });

  it("replays from a function and falls back when an array runs out", async () => {
    const { server, model } = await serve((req, index) => ({ text: `reply ${index} to ${req.body.model}` }));
    const result = await generateText({ model, prompt: "hello" });
    expect(result.text).toBe("reply 0 to test-model");
    expect(server.requests[0].headers["content-type"]).toContain("application/json");

    const exhausted = await serve([]);
    const fallback = await generateText({ model: exhausted.model, prompt: "hello" });
    expect(fallback.text).toBe("(no more scripted replies)");
  });

  it("close() ends stalled streams so the server shuts down", async () => {
    const server = await startOpenAIServer([{ stall: true }]);
    const response = await fetch(`${server.baseURL}/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "m", messages: [], stream: true }),
    });
    const reader = response.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain('"chat.completion.chunk"');
    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeLessThan(500);
    await expect(reader.read()).rejects.toThrow();
  });
});
