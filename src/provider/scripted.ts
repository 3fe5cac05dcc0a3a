import type {
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3Content,
  LanguageModelV3FinishReason,
  LanguageModelV3GenerateResult,
  LanguageModelV3Prompt,
  LanguageModelV3StreamPart,
  LanguageModelV3StreamResult,
  LanguageModelV3Usage,
} from "@ai-sdk/provider";
import { z } from "zod";

export interface ScriptToolCall {
  name: string;
  input: Record<string, unknown>;
}

export interface ScriptStep {
  text?: string;
  reasoning?: string;
  tool_calls?: ScriptToolCall[];
  delay_ms?: number;
  /** Streamed as an error part after any reasoning and text; the step's tool calls are then never sent. */
  error?: string;
  usage?: { input: number; output: number };
  /** The step's text ends with the output of the last tool result the model was sent, as a model repeats it. */
  echo_tool_output?: boolean;
}

export interface Script {
  title?: string;
  /** One turn's steps, replayed for every user turn. */
  steps?: ScriptStep[];
  turns?: ScriptStep[][];
}

const count = (what: string) =>
  z.number({ error: `${what} must be a number` }).int(`${what} must be a whole number`).nonnegative(`${what} must not be negative`);

/** Only replaces the type complaint, so unknown keys are still named in zod's own message. */
const notAnObject = (message: string) => ({
  error: (issue: { code?: string }) => (issue.code === "invalid_type" ? message : undefined),
});

const stepSchema = z.strictObject(
  {
    text: z.string({ error: "text must be a string" }).optional(),
    reasoning: z.string({ error: "reasoning must be a string" }).optional(),
    tool_calls: z
      .array(
        z.strictObject(
          {
            name: z.string({ error: "a tool call needs a string name" }).min(1, "a tool call name must not be empty"),
            input: z.record(z.string(), z.unknown(), { error: "a tool call input must be a JSON object" }),
          },
          notAnObject("each tool call must be an object { name, input }"),
        ),
        { error: "tool_calls must be an array" },
      )
      .optional(),
    delay_ms: count("delay_ms").optional(),
    error: z.string({ error: "error must be a string (the message to stream)" }).optional(),
    echo_tool_output: z.boolean({ error: "echo_tool_output must be true or false" }).optional(),
    usage: z
      .strictObject(
        { input: count("usage.input"), output: count("usage.output") },
        notAnObject("usage must be an object { input, output }"),
      )
      .optional(),
  },
  notAnObject("each step must be an object"),
);

export const scriptSchema: z.ZodType<Script> = z
  .strictObject(
    {
      title: z.string({ error: "title must be a string" }).optional(),
      steps: z.array(stepSchema, { error: "steps must be an array of steps" }).optional(),
      turns: z
        .array(z.array(stepSchema, { error: "each turn must be an array of steps" }), {
          error: "turns must be an array of turns",
        })
        .min(1, "turns must contain at least one turn")
        .optional(),
    },
    notAnObject("a script must be a JSON object"),
  )
  .refine((script) => (script.steps === undefined) !== (script.turns === undefined), {
    error: "a script needs exactly one of `steps` or `turns`",
  });

const END_OF_SCRIPT = "(end of script)";
const TITLE_WORDS = 6;

interface Reply {
  step: ScriptStep;
  turn: number;
  index: number;
}

/**
 * Replays a script offline. Everything is derived from the prompt, so one instance can serve many sessions at
 * once without per-session state.
 */
export class ScriptedLanguageModel implements LanguageModelV3 {
  readonly specificationVersion = "v3";
  readonly provider = "scripted";
  readonly supportedUrls: Record<string, RegExp[]> = {};

  constructor(
    readonly script: Script,
    readonly modelId: string,
  ) {}

  async doGenerate(options: LanguageModelV3CallOptions): Promise<LanguageModelV3GenerateResult> {
    const { step, turn, index } = this.select(options);
    await sleep(step.delay_ms ?? 0, options.abortSignal);
    if (step.error !== undefined) throw new Error(step.error);
    const content: LanguageModelV3Content[] = [];
    if (step.reasoning) content.push({ type: "reasoning", text: step.reasoning });
    if (step.text) content.push({ type: "text", text: step.text });
    for (const call of toolCalls(step, turn, index)) content.push({ type: "tool-call", ...call });
    return {
      content,
      finishReason: finishReason(step),
      usage: usage(step, options.prompt),
      response: { modelId: this.modelId, timestamp: new Date() },
      warnings: [],
    };
  }

  async doStream(options: LanguageModelV3CallOptions): Promise<LanguageModelV3StreamResult> {
    const { step, turn, index } = this.select(options);
    // Waiting before the stream opens mirrors a slow first byte and lets an abort reject the call itself.
    await sleep(step.delay_ms ?? 0, options.abortSignal);
    const parts: LanguageModelV3StreamPart[] = [
      { type: "stream-start", warnings: [] },
      { type: "response-metadata", modelId: this.modelId, timestamp: new Date() },
    ];
    if (step.reasoning) {
      parts.push({ type: "reasoning-start", id: "reasoning-0" });
      for (const delta of chunks(step.reasoning)) parts.push({ type: "reasoning-delta", id: "reasoning-0", delta });
      parts.push({ type: "reasoning-end", id: "reasoning-0" });
    }
    if (step.text) {
      parts.push({ type: "text-start", id: "text-0" });
      for (const delta of chunks(step.text)) parts.push({ type: "text-delta", id: "text-0", delta });
      parts.push({ type: "text-end", id: "text-0" });
    }
    if (step.error !== undefined) {
      parts.push({ type: "error", error: new Error(step.error) });
      parts.push({ type: "finish", finishReason: { unified: "error", raw: "error" }, usage: usage(step, options.prompt) });
    } else {
      for (const call of toolCalls(step, turn, index)) {
        parts.push({ type: "tool-input-start", id: call.toolCallId, toolName: call.toolName });
        parts.push({ type: "tool-input-delta", id: call.toolCallId, delta: call.input });
        parts.push({ type: "tool-input-end", id: call.toolCallId });
        parts.push({ type: "tool-call", ...call });
      }
      parts.push({ type: "finish", finishReason: finishReason(step), usage: usage(step, options.prompt) });
    }
    return {
      stream: new ReadableStream<LanguageModelV3StreamPart>({
        start(controller) {
          for (const part of parts) controller.enqueue(part);
          controller.close();
        },
      }),
    };
  }

  private select(options: LanguageModelV3CallOptions): Reply {
    const { prompt } = options;
    const userIndexes = prompt.flatMap((message, i) => (message.role === "user" ? [i] : []));
    const lastUser = userIndexes.at(-1) ?? -1;
    if (!options.tools?.length) {
      return { step: { text: this.script.title ?? firstWords(prompt, lastUser) }, turn: 0, index: 0 };
    }
    const turns = this.script.turns ?? [this.script.steps ?? []];
    const turn = Math.max(0, Math.min(userIndexes.length - 1, turns.length - 1));
    const index = prompt.slice(lastUser + 1).filter((message) => message.role === "assistant").length;
    const step = turns[turn]?.[index] ?? { text: END_OF_SCRIPT };
    return { step: step.echo_tool_output ? { ...step, text: (step.text ?? "") + lastToolOutput(prompt) } : step, turn, index };
  }
}

export function createScriptedModel(script: Script, modelId: string): ScriptedLanguageModel {
  return new ScriptedLanguageModel(script, modelId);
}

function toolCalls(step: ScriptStep, turn: number, index: number) {
  return (step.tool_calls ?? []).map((call, n) => ({
    toolCallId: `call_${turn}_${index}_${n}`,
    toolName: call.name,
    input: JSON.stringify(call.input),
  }));
}

function finishReason(step: ScriptStep): LanguageModelV3FinishReason {
  return step.tool_calls?.length ? { unified: "tool-calls", raw: "tool_calls" } : { unified: "stop", raw: "stop" };
}

/** Without scripted numbers, a rough four-characters-per-token estimate keeps demo usage plausible and deterministic. */
function usage(step: ScriptStep, prompt: LanguageModelV3Prompt): LanguageModelV3Usage {
  const reasoningEstimate = estimateTokens(step.reasoning ?? "");
  const input = step.usage?.input ?? estimateTokens(JSON.stringify(prompt));
  const output =
    step.usage?.output ??
    reasoningEstimate + estimateTokens((step.text ?? "") + JSON.stringify(step.tool_calls ?? []));
  const reasoning = Math.min(reasoningEstimate, output);
  return {
    inputTokens: { total: input, noCache: input, cacheRead: 0, cacheWrite: 0 },
    outputTokens: { total: output, text: output - reasoning, reasoning },
  };
}

function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

function lastToolOutput(prompt: LanguageModelV3Prompt): string {
  for (let i = prompt.length - 1; i >= 0; i--) {
    const message = prompt[i]!;
    if (message.role !== "tool") continue;
    const result = [...message.content].reverse().find((part) => part.type === "tool-result");
    if (!result || result.type !== "tool-result") return "";
    const output = result.output;
    return output.type === "text" || output.type === "error-text" ? output.value : JSON.stringify("value" in output ? output.value : "");
  }
  return "";
}

function firstWords(prompt: LanguageModelV3Prompt, lastUser: number): string {
  const message = prompt[lastUser];
  if (message?.role !== "user") return "";
  const text = message.content.map((part) => (part.type === "text" ? part.text : "")).join(" ");
  return text.split(/\s+/).filter(Boolean).slice(0, TITLE_WORDS).join(" ");
}

/** A few deltas per block, cut after whitespace, so consumers see real incremental streaming. */
function chunks(text: string): string[] {
  const words = text.match(/\S+\s*|\s+/g) ?? [text];
  const size = Math.max(1, Math.ceil(words.length / 3));
  const out: string[] = [];
  for (let i = 0; i < words.length; i += size) out.push(words.slice(i, i + size).join(""));
  return out;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortError());
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

function abortError(): DOMException {
  return new DOMException("The scripted call was aborted.", "AbortError");
}
