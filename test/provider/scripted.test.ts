import { generateText, stepCountIs, streamText, type ModelMessage } from "ai";
import { z } from "zod";
import { describe, expect, it } from "vitest";
import { createScriptedModel, scriptSchema, type Script } from "../../src/provider/scripted.js";
import { addTool, collect } from "../support/sdk.js";

function tools(calls: unknown[]) {
  return { add: addTool(calls) };
}

async function run(script: Script, messages: ModelMessage[], calls: unknown[] = []) {
  const result = streamText({
    model: createScriptedModel(script, "demo"),
    messages,
    tools: tools(calls),
    stopWhen: stepCountIs(5),
  });
  const parts = await collect(result.fullStream);
  return { parts, text: await result.text, steps: await result.steps, response: await result.response };
}

describe("ScriptedLanguageModel", () => {
  it("drives a two-step tool loop through streamText", async () => {
    const calls: unknown[] = [];
    const script: Script = {
      steps: [
        { reasoning: "I should add them.", tool_calls: [{ name: "add", input: { a: 2, b: 3 } }], usage: { input: 40, output: 12 } },
        { text: "The sum is 5, as computed.", usage: { input: 60, output: 8 } },
      ],
    };
    const { parts, text, steps } = await run(script, [{ role: "user", content: "add 2 and 3" }], calls);

    expect(calls).toEqual([{ a: 2, b: 3 }]);
    expect(text).toBe("The sum is 5, as computed.");
    expect(steps.map((s) => s.finishReason)).toEqual(["tool-calls", "stop"]);
    expect(steps[0].toolCalls[0]).toMatchObject({ toolCallId: "call_0_0_0", toolName: "add", input: { a: 2, b: 3 } });
    expect(steps[0].reasoningText).toBe("I should add them.");
    expect(parts.filter((p) => p.type === "text-delta").length).toBeGreaterThan(1);
    expect(steps[0].usage).toMatchObject({ inputTokens: 40, outputTokens: 12, inputTokenDetails: { cacheReadTokens: 0 } });
    expect(steps[1].usage.totalTokens).toBe(68);
  });

  it("picks the turn from the number of user messages and clamps to the last turn", async () => {
    const model = createScriptedModel(
      {
        turns: [
          [{ text: "first turn" }],
          [{ tool_calls: [{ name: "add", input: { a: 1, b: 1 } }] }, { text: "second turn" }],
        ],
      },
      "demo",
    );
    const go = (messages: ModelMessage[], calls: unknown[] = []) =>
      streamText({ model, messages, tools: tools(calls), stopWhen: stepCountIs(5) });

    const first = go([{ role: "user", content: "one" }]);
    expect(await first.text).toBe("first turn");

    const history: ModelMessage[] = [
      { role: "user", content: "one" },
      ...(await first.response).messages,
      { role: "user", content: "two" },
    ];
    const calls: unknown[] = [];
    // Two sessions on one instance at once: nothing about one may leak into the other.
    const [second, again] = [go(history, calls), go([{ role: "user", content: "one" }])];
    expect(await second.text).toBe("second turn");
    expect(await again.text).toBe("first turn");
    expect((await second.steps)[0].toolCalls[0].toolCallId).toBe("call_1_0_0");
    expect(calls).toEqual([{ a: 1, b: 1 }]);

    const third = go([...history, ...(await second.response).messages, { role: "user", content: "three" }]);
    expect((await third.steps)[0].toolCalls[0].toolCallId).toBe("call_1_0_0");
    expect(await third.text).toBe("second turn");
  });

  it("answers past the end of a turn with a stop", async () => {
    const { text, steps } = await run({ steps: [] }, [{ role: "user", content: "hi" }]);
    expect(text).toBe("(end of script)");
    expect(steps[0].finishReason).toBe("stop");
  });

  it("answers a title request (no tools) with the script title or the first words", async () => {
    const prompt = "please refactor the parser module so that it streams tokens";
    const titled = await generateText({ model: createScriptedModel({ title: "Parser refactor", steps: [] }, "m"), prompt });
    expect(titled.text).toBe("Parser refactor");
    expect(titled.finishReason).toBe("stop");

    const untitled = streamText({ model: createScriptedModel({ steps: [{ text: "not this" }] }, "m"), prompt });
    expect(await untitled.text).toBe("please refactor the parser module so");
  });

  it("replays the same content through doGenerate", async () => {
    const calls: unknown[] = [];
    const result = await generateText({
      model: createScriptedModel({ steps: [{ tool_calls: [{ name: "add", input: { a: 4, b: 5 } }] }, { text: "9" }] }, "m"),
      prompt: "4+5",
      tools: tools(calls),
      stopWhen: stepCountIs(5),
    });
    expect(calls).toEqual([{ a: 4, b: 5 }]);
    expect(result.text).toBe("9");
    expect(result.steps[0].toolCalls[0].toolCallId).toBe("call_0_0_0");
    expect(result.totalUsage.inputTokens).toBeGreaterThan(0);
  });

  it("streams a scripted error as an error part", async () => {
    const errors: unknown[] = [];
    const result = streamText({
      model: createScriptedModel({ steps: [{ text: "partial", error: "provider exploded" }] }, "m"),
      prompt: "go",
      tools: tools([]),
      onError: ({ error }) => void errors.push(error),
    });
    const parts = await collect(result.fullStream);
    expect(parts.find((p) => p.type === "error")).toMatchObject({ error: { message: "provider exploded" } });
    expect(parts.find((p) => p.type === "finish-step")).toMatchObject({ finishReason: "error" });
    expect(errors).toHaveLength(1);
  });

  it("aborts promptly during delay_ms", async () => {
    const controller = new AbortController();
    const result = streamText({
      model: createScriptedModel({ steps: [{ delay_ms: 10_000, text: "too late" }] }, "m"),
      prompt: "go",
      tools: tools([]),
      abortSignal: controller.signal,
    });
    const started = Date.now();
    setTimeout(() => controller.abort(), 30);
    const types = (await collect(result.fullStream)).map((p) => p.type);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(types).toContain("abort");
    expect(types).not.toContain("text-delta");
  });

  it("rejects an aborted call with an AbortError", async () => {
    const model = createScriptedModel({ steps: [{ delay_ms: 10_000 }] }, "m");
    const controller = new AbortController();
    const call = model.doStream({
      prompt: [{ role: "user", content: [{ type: "text", text: "go" }] }],
      tools: [{ type: "function", name: "add", inputSchema: { type: "object" } }],
      abortSignal: controller.signal,
    });
    controller.abort();
    await expect(call).rejects.toMatchObject({ name: "AbortError" });
  });
});

describe("scriptSchema", () => {
  it("accepts steps or turns", () => {
    expect(scriptSchema.parse({ title: "t", steps: [{ text: "hi", usage: { input: 1, output: 2 } }] }).title).toBe("t");
    expect(scriptSchema.safeParse({ turns: [[{ tool_calls: [{ name: "bash", input: { command: "ls" } }] }]] }).success).toBe(true);
  });

  it("explains what is wrong", () => {
    const message = (value: unknown) => {
      const result = scriptSchema.safeParse(value);
      return result.success ? "" : z.prettifyError(result.error);
    };
    expect(message({})).toContain("exactly one of `steps` or `turns`");
    expect(message({ steps: [], turns: [[]] })).toContain("exactly one of `steps` or `turns`");
    expect(message({ steps: [{ delay_ms: -1 }] })).toContain("delay_ms must not be negative");
    expect(message({ steps: [{ tool_calls: [{ name: "x", input: "ls" }] }] })).toContain("tool call input must be a JSON object");
    expect(message({ steps: [{ txt: "typo" }] })).toMatch(/txt/);
    expect(message("nope")).toContain("a script must be a JSON object");
  });
});
