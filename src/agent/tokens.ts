import type { LanguageModelV3Usage } from "@ai-sdk/provider";
import type { Tokens } from "../session/schema.js";

export function emptyTokens(): Tokens {
  return { input: 0, output: 0, reasoning: 0, cache: { read: 0, write: 0 } };
}

/** Disjoint counts, as opencode stores them: input without cached tokens, output without reasoning. */
export function toTokens(usage: LanguageModelV3Usage | undefined): Tokens {
  if (!usage) return emptyTokens();
  const { inputTokens: input, outputTokens: output } = usage;
  const read = input.cacheRead ?? 0;
  const write = input.cacheWrite ?? 0;
  const reasoning = output.reasoning ?? 0;
  return {
    input: input.noCache ?? Math.max(0, (input.total ?? 0) - read - write),
    output: output.text ?? Math.max(0, (output.total ?? 0) - reasoning),
    reasoning,
    cache: { read, write },
  };
}

export function addTokens(a: Tokens, b: Tokens): Tokens {
  return {
    input: a.input + b.input,
    output: a.output + b.output,
    reasoning: a.reasoning + b.reasoning,
    cache: { read: a.cache.read + b.cache.read, write: a.cache.write + b.cache.write },
  };
}
