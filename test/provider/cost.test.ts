import { describe, expect, it } from "vitest";
import type { Config } from "../../src/config/config.js";
import { modelInfo, tokenCost } from "../../src/provider/catalog.js";
import { makeProject, mockConfig, onlySession, runOde, startModel } from "../support/ode.js";

const config = (provider: Config["provider"] = {}): Config => ({ provider, providerDirs: {} });

describe("model prices and limits", () => {
  it("come from the offline catalog for known models, under the provider's id or its type", async () => {
    const known = await modelInfo(config(), "openai", "gpt-4.1");
    expect(known).toEqual({ cost: { input: 2, output: 8, cache_read: 0.5 }, limit: { context: 1047576, output: 32768 } });
    expect(await modelInfo(config({ work: { type: "openai" } }), "work", "gpt-4.1", "openai")).toEqual(known);
    // A dated snapshot answers for its alias.
    expect((await modelInfo(config(), "anthropic", "claude-opus-4-1")).cost).toMatchObject({ input: 15, output: 75 });
    expect(await modelInfo(config(), "ollama", "llama3.2", "openai-compatible")).toEqual({});
  });

  it("ode.json's models.<id>.cost and limit win over the catalog", async () => {
    const cfg = config({ openai: { models: { "gpt-4.1": { cost: { input: 1, output: 2 }, limit: { context: 1000 } } } } });
    expect(await modelInfo(cfg, "openai", "gpt-4.1")).toEqual({ cost: { input: 1, output: 2 }, limit: { context: 1000 } });
  });

  it("a step's cost counts every kind of token at its price", () => {
    const tokens = { input: 1_000_000, output: 100_000, reasoning: 100_000, cache: { read: 1_000_000, write: 0 } };
    expect(tokenCost({ input: 2, output: 8, cache_read: 0.5 }, tokens)).toBeCloseTo(2 + 1.6 + 0.5, 10);
    expect(tokenCost(undefined, tokens)).toBe(0);
  });
});

describe("cost of a run", () => {
  it("is stored on steps and messages, and shown by session show, the export and --format events", async () => {
    const model = await startModel([{ text: "priced", usage: { prompt_tokens: 1000, completion_tokens: 500 } }]);
    const base = mockConfig(model.baseURL) as { provider: { mock: object } };
    const project = makeProject({
      ...base,
      provider: { mock: { ...base.provider.mock, models: { "test-model": { cost: { input: 2, output: 8 } } } } },
    });
    const result = await runOde(project, ["run", "--format", "events", "hello"]);
    expect(result.code).toBe(0);
    const expected = (1000 * 2 + 500 * 8) / 1_000_000;
    const { session, messages } = onlySession(project.dataDir);
    const assistant = messages[1]!;
    expect(assistant.info).toMatchObject({ role: "assistant", cost: expected });
    expect(assistant.parts.find((p) => p.type === "step-finish")).toMatchObject({ cost: expected });
    const events = result.stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(events.some((e) => e.type === "message.updated" && e.info.cost === expected)).toBe(true);
    expect((await runOde(project, ["session", "show", session.id])).stdout).toContain("cost      $0.006000");
    expect(JSON.parse((await runOde(project, ["export"])).stdout).runtime.stats.cost).toBe(expected);
  });
});
