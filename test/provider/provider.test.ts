import { describe, expect, it } from "vitest";
import type { Config } from "../../src/config/config.js";
import { pickModelName, resolveModel } from "../../src/provider/provider.js";

const bare: Config = { providerDirs: {} };

describe("model resolution", () => {
  it("prefers the flag, then the config, then a default for an API key in the environment", () => {
    expect(pickModelName({ ...bare, model: "a/b" }, "c/d", {})).toBe("c/d");
    expect(pickModelName({ ...bare, model: "a/b" }, undefined, {})).toBe("a/b");
    expect(pickModelName(bare, undefined, { ANTHROPIC_API_KEY: "k" })).toMatch(/^anthropic\//);
    expect(pickModelName(bare, undefined, { OPENAI_API_KEY: "k" })).toMatch(/^openai\//);
    expect(() => pickModelName(bare, undefined, {})).toThrow(/no model is configured/);
  });

  it("builds real AI SDK models for each provider type", async () => {
    const config: Config = {
      providerDirs: {},
      provider: {
        ollama: { type: "openai-compatible", options: { baseURL: "http://127.0.0.1:11434/v1" } },
        demo: { type: "scripted", options: { script: { steps: [{ text: "hi" }] } } },
      },
    };
    const env = { OPENAI_API_KEY: "sk-test", ANTHROPIC_API_KEY: "sk-ant-test" };
    for (const name of ["openai/gpt-4.1", "anthropic/claude-sonnet-4-5", "ollama/llama3.2", "demo/anything"]) {
      const model = await resolveModel(config, name, env);
      expect(model.language.specificationVersion).toBe("v3");
      expect(`${model.providerID}/${model.modelID}`).toBe(name);
    }
  });

  it("says what is missing for a provider that cannot be used", async () => {
    await expect(resolveModel(bare, "openai/gpt-4.1", {})).rejects.toThrow(/OPENAI_API_KEY/);
    await expect(resolveModel(bare, "anthropic/x", {})).rejects.toThrow(/ANTHROPIC_API_KEY/);
    await expect(resolveModel(bare, "ollama/llama3.2", {})).rejects.toThrow(/provider\.ollama\.options\.baseURL/);
    await expect(resolveModel(bare, "no-slash", {})).rejects.toThrow(/provider\/model/);
    const badScript: Config = { providerDirs: {}, provider: { demo: { type: "scripted", options: { script: { steps: "x" } } } } };
    await expect(resolveModel(badScript, "demo/x", {})).rejects.toThrow(/provider demo: script: steps/);
  });
});
