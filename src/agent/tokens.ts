import type { LanguageModelUsage } from "ai";
import type { Tokens } from "../session/schema.js";

/** Disjoint counts, as opencode stores them: input without cached tokens, output without reasoning. */
export function toTokens(usage: LanguageModelUsage): Tokens {
  const read = usage.inputTokenDetails?.cacheReadTokens ?? usage.cachedInputTokens ?? 0;
  const write = usage.inputTokenDetails?.cacheWriteTokens ?? 0;
  const reasoning = usage.outputTokenDetails?.reasoningTokens ?? usage.reasoningTokens ?? 0;
  return {
    input: usage.inputTokenDetails?.noCacheTokens ?? Math.max(0, (usage.inputTokens ?? 0) - read - write),
    output: usage.outputTokenDetails?.textTokens ?? Math.max(0, (usage.outputTokens ?? 0) - reasoning),
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
