import type { LanguageModelUsage } from "ai";
import { describe, expect, it } from "vitest";
import { addTokens, toTokens } from "../../src/agent/tokens.js";

describe("token counts", () => {
  it("are stored disjoint, so summing them never counts cached or reasoning tokens twice", () => {
    const usage = {
      inputTokens: 100,
      inputTokenDetails: { noCacheTokens: 30, cacheReadTokens: 60, cacheWriteTokens: 10 },
      outputTokens: 50,
      outputTokenDetails: { textTokens: 20, reasoningTokens: 30 },
      totalTokens: 150,
    } as LanguageModelUsage;
    const tokens = toTokens(usage);
    expect(tokens).toEqual({ input: 30, output: 20, reasoning: 30, cache: { read: 60, write: 10 } });
    expect(tokens.input + tokens.output + tokens.reasoning + tokens.cache.read + tokens.cache.write).toBe(150);
  });

  it("derive the split when a provider reports only totals", () => {
    const usage = { inputTokens: 10, outputTokens: 5, cachedInputTokens: 4, reasoningTokens: 2 } as LanguageModelUsage;
    expect(toTokens(usage)).toEqual({ input: 6, output: 3, reasoning: 2, cache: { read: 4, write: 0 } });
    expect(addTokens(toTokens(usage), toTokens(usage)).input).toBe(12);
  });
});
