import fs from "node:fs";
import path from "node:path";
import type { LanguageModelV3 } from "@ai-sdk/provider";
import type { Config, ProviderConfig } from "../config/config.js";
import { ConfigError, firstIssue } from "../session/errors.js";
import type { ModelInfo } from "./catalog.js";
import { providerFetch } from "./fetch.js";
import { scriptSchema, type Script } from "./scripted.js";
import type { WireFormat } from "./wire.js";

export interface ResolvedModel {
  providerID: string;
  modelID: string;
  language: LanguageModelV3;
  /** Prices and limits from ode.json or the catalog, when the run looked them up. */
  info?: ModelInfo;
  /** The request format whose stored history the model takes already serialised (`SerialisedHistory`). */
  wire?: WireFormat;
}

export const HOW_TO_CONFIGURE = `no model is configured. Pick one of:
  - set OPENAI_API_KEY or ANTHROPIC_API_KEY, or
  - write ode.json in the project (or ~/.config/ode/ode.json), e.g. for Ollama:
      {"model": "ollama/llama3.2",
       "provider": {"ollama": {"type": "openai-compatible", "options": {"baseURL": "http://127.0.0.1:11434/v1"}}}}
  - or pass -m provider/model for a provider declared there.
For the offline demo with a scripted model, run: npm run demo`;

const DEFAULT_MODELS: Array<[string, string]> = [
  ["ANTHROPIC_API_KEY", "anthropic/claude-sonnet-4-5"],
  ["OPENAI_API_KEY", "openai/gpt-4.1"],
];

/** The `provider/model` a run uses: the flag, then config `model`, then a default for an API key in the env. */
export function pickModelName(config: Config, flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return flag;
  if (config.model) return config.model;
  for (const [key, model] of DEFAULT_MODELS) if (env[key]) return model;
  throw new ConfigError(HOW_TO_CONFIGURE);
}

function providerType(id: string, config: ProviderConfig | undefined): NonNullable<ProviderConfig["type"]> {
  if (config?.type) return config.type;
  if (id === "openai" || id === "anthropic") return id;
  if (config?.options?.script !== undefined) return "scripted";
  return "openai-compatible";
}

function loadScript(id: string, config: Config, script: unknown) {
  let raw = script;
  if (typeof script === "string") {
    const file = path.resolve(config.providerDirs[id] ?? process.cwd(), script);
    try {
      raw = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (error) {
      throw new ConfigError(`provider ${id}: cannot read script ${file}: ${(error as Error).message}`);
    }
  }
  const parsed = scriptSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`provider ${id}: script: ${firstIssue(parsed.error)}`);
  return parsed.data;
}

/** A model checked against the config (names, keys, URLs, script), not yet built. */
export type ModelSpec =
  | { providerID: string; modelID: string; type: "openai" | "anthropic"; apiKey: string; baseURL?: string }
  | { providerID: string; modelID: string; type: "openai-compatible"; baseURL: string; apiKey?: string }
  | { providerID: string; modelID: string; type: "scripted"; script: Script };

/** Validates `provider/model` against the config synchronously, so a misconfiguration fails before a run starts. */
export function modelSpec(config: Config, name: string, env: NodeJS.ProcessEnv = process.env): ModelSpec {
  const slash = name.indexOf("/");
  if (slash <= 0 || slash === name.length - 1) {
    throw new ConfigError(`model "${name}" must be written provider/model, e.g. openai/gpt-4.1`);
  }
  const providerID = name.slice(0, slash);
  const modelID = name.slice(slash + 1);
  const provider = config.provider?.[providerID];
  const options = provider?.options ?? {};
  const type = providerType(providerID, provider);
  switch (type) {
    case "openai":
    case "anthropic": {
      const keyVar = type === "openai" ? "OPENAI_API_KEY" : "ANTHROPIC_API_KEY";
      const apiKey = options.apiKey ?? env[keyVar];
      if (!apiKey) throw new ConfigError(`provider ${providerID}: set ${keyVar} or provider.${providerID}.options.apiKey`);
      return { providerID, modelID, type, apiKey, baseURL: options.baseURL };
    }
    case "openai-compatible":
      if (!options.baseURL) {
        throw new ConfigError(
          `provider ${providerID} is not configured: add provider.${providerID}.options.baseURL to ode.json (e.g. http://127.0.0.1:11434/v1 for Ollama)`,
        );
      }
      return { providerID, modelID, type, baseURL: options.baseURL, apiKey: options.apiKey };
    case "scripted":
      return { providerID, modelID, type, script: loadScript(providerID, config, options.script) };
  }
}

/** Each provider's SDK is loaded only when a model of its type is used, so a run pays for one, not all. */
export async function loadModel(spec: ModelSpec): Promise<ResolvedModel> {
  const { providerID, modelID } = spec;
  switch (spec.type) {
    case "openai": {
      const { createOpenAI } = await import("@ai-sdk/openai");
      return { providerID, modelID, language: createOpenAI({ apiKey: spec.apiKey, baseURL: spec.baseURL, fetch: providerFetch })(modelID) };
    }
    case "anthropic": {
      const { createAnthropic } = await import("@ai-sdk/anthropic");
      return { providerID, modelID, language: createAnthropic({ apiKey: spec.apiKey, baseURL: spec.baseURL, fetch: providerFetch })(modelID) };
    }
    case "openai-compatible": {
      const { createOpenAICompatible } = await import("@ai-sdk/openai-compatible");
      const factory = createOpenAICompatible({ name: providerID, baseURL: spec.baseURL, apiKey: spec.apiKey, includeUsage: true, fetch: providerFetch });
      return { providerID, modelID, language: factory.chatModel(modelID), wire: "chat-completions" };
    }
    case "scripted": {
      const { createScriptedModel } = await import("./scripted.js");
      return { providerID, modelID, language: createScriptedModel(spec.script, modelID) };
    }
  }
}

export async function resolveModel(config: Config, name: string, env: NodeJS.ProcessEnv = process.env): Promise<ResolvedModel> {
  return loadModel(modelSpec(config, name, env));
}
