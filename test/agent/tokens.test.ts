import type { LanguageModelV3Usage } from "@ai-sdk/provider";
import { describe, expect, it } from "vitest";
import { addTokens, toTokens } from "../../src/agent/tokens.js";

describe("token counts", () => {
  it("are stored disjoint, so summing them never counts cached or reasoning tokens twice", () => {
    const usage: LanguageModelV3Usage = {
      inputTokens: { total: 100, noCache: 30, cacheRead: 60, cacheWrite: 10 },
      outputTokens: { total: 50, text: 20, reasoning: 30 },
    };
    const tokens = toTokens(usage);
    expect(tokens).toEqual({ input: 30, output: 20, reasoning: 30, cache: { read: 60, write: 10 } });
    expect(tokens.input + tokens.output + tokens.reasoning + tokens.cache.read + tokens.cache.write).toBe(150);
  });

  it("derive the split when a provider reports only totals", () => {
    const usage: LanguageModelV3Usage = {
      inputTokens: { total: 10, noCache: undefined, cacheRead: 4, cacheWrite: undefined },
      outputTokens: { total: 5, text: undefined, reasoning: 2 },
    };
    expect(toTokens(usage)).toEqual({ input: 6, output: 3, reasoning: 2, cache: { read: 4, write: 0 } });
    expect(addTokens(toTokens(usage), toTokens(usage)).input).toBe(12);
  });

  it("are zero when the stream ended without a usage report", () => {
    expect(toTokens(undefined)).toEqual({ input: 0, output: 0, reasoning: 0, cache: { read: 0, write: 0 } });
  });
});
