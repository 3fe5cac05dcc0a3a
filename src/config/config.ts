import fs from "node:fs";
import path from "node:path";
import { decodeUtf8, JsonSyntaxError, parseJson } from "../json/parse.js";
import { checkTree } from "../json/tree.js";
import { boolean, CheckError, number, object, oneOf, optional, record, string, unknown } from "../json/check.js";
import { ConfigError, fieldPath, firstIssue } from "../session/errors.js";
import { globalConfigDir } from "./paths.js";

/** The provider kinds ode can build a model for. */
export const PROVIDER_TYPES = ["openai", "anthropic", "openai-compatible", "scripted"] as const;
export type ProviderType = (typeof PROVIDER_TYPES)[number];

/** Per model: `cost` (US dollars per million tokens) and `limit` (tokens), over the built-in catalog's. */
export interface ModelConfig {
  cost?: { input: number; output: number; cache_read?: number; cache_write?: number };
  limit?: { context?: number; output?: number };
  [key: string]: unknown;
}

export interface ProviderConfig {
  type?: ProviderType;
  options?: {
    baseURL?: string;
    apiKey?: string;
    /** scripted only: a path (relative to the config file) or the script itself */
    script?: unknown;
    [key: string]: unknown;
  };
  models?: Record<string, ModelConfig>;
}

/** What one ode.json says. */
interface ConfigLayer {
  $schema?: string;
  model?: string;
  small_model?: string;
  provider?: Record<string, ProviderConfig>;
  allow_outside_paths?: boolean;
  /** Steps (model calls) per run before the loop stops. */
  max_steps?: number;
}

export type Config = ConfigLayer & {
  /** Directory of the file each provider was declared in, to resolve relative script paths. */
  providerDirs: Record<string, string>;
};

// The checks are hand-written (not zod) because every command reads ode.json, including those that must start
// fast and never load a model (`ode session list`).
const price = number({ min: 0 });
const tokenCount = optional(number({ int: true, min: 0, exclusive: true }));
const modelFields = {
  cost: optional(object({ input: price, output: price, cache_read: optional(price), cache_write: optional(price) })),
  limit: optional(object({ context: tokenCount, output: tokenCount })),
};
const optionFields = { baseURL: optional(string), apiKey: optional(string), script: unknown };
const providerFields = {
  type: optional(oneOf(PROVIDER_TYPES)),
  options: optional(object(optionFields, { loose: true })),
  models: optional(record(object<ModelConfig>(modelFields, { loose: true }))),
};
const configFields = {
  $schema: optional(string),
  model: optional(string),
  small_model: optional(string),
  provider: optional(record(object<ProviderConfig>(providerFields))),
  allow_outside_paths: optional(boolean),
  max_steps: optional(number({ int: true, min: 0, exclusive: true })),
};
const checkLayer = object<ConfigLayer>(configFields);

/** Levenshtein distance, to name the known key a typo was probably meant to be. */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    row = next;
  }
  return row[b.length]!;
}

/** Keys the schema would drop without a word: each gets a warning naming the closest known key. */
function unknownKeys(file: string, raw: Record<string, unknown>): string[] {
  const warnings: string[] = [];
  const check = (value: unknown, known: string[], at: string) => {
    if (typeof value !== "object" || value === null) return;
    for (const key of Object.keys(value)) {
      if (known.includes(key)) continue;
      const closest = known.reduce((best, candidate) => (distance(key, candidate) < distance(key, best) ? candidate : best));
      warnings.push(`${file}: unknown key ${JSON.stringify(at + key)} is ignored (did you mean ${JSON.stringify(at + closest)}?)`);
    }
  };
  check(raw, Object.keys(configFields), "");
  for (const [id, provider] of Object.entries((raw.provider ?? {}) as Record<string, unknown>)) {
    check(provider, Object.keys(providerFields), `provider.${id}.`);
    check((provider as { options?: unknown } | null)?.options, Object.keys(optionFields), `provider.${id}.options.`);
  }
  return warnings;
}

/** `ode.json` is JSONC (comments and trailing commas allowed, as in the README's examples). */
function readConfigFile(file: string): { layer: ConfigLayer; warnings: string[] } | undefined {
  let raw: unknown;
  try {
    raw = parseJson(decodeUtf8(fs.readFileSync(file)), { jsonc: true });
  } catch (error) {
    if (error instanceof JsonSyntaxError) throw new ConfigError(`${file}: not valid JSON: ${error.message}`);
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new ConfigError(`${file}: cannot be read (${(error as NodeJS.ErrnoException).code})`);
  }
  const problem = checkTree(raw);
  if (problem) throw new ConfigError(`${file}: ${fieldPath(problem.path)}: ${problem.message}`);
  let layer: ConfigLayer;
  try {
    layer = checkLayer(raw, []);
  } catch (error) {
    if (error instanceof CheckError) throw new ConfigError(`${file}: ${firstIssue(error)}`);
    throw error;
  }
  return { layer, warnings: unknownKeys(file, raw as Record<string, unknown>) };
}

/** `ode.json` of the project directory wins over `~/.config/ode/ode.json`, key by key. */
export function loadConfig(
  projectDir: string,
  env: NodeJS.ProcessEnv = process.env,
  /** Told about what was read but not understood (unknown keys), one line each. */
  warn: (message: string) => void = () => {},
): Config {
  const globalFile = path.join(globalConfigDir(env), "ode.json");
  const projectFile = path.join(projectDir, "ode.json");
  const config: Config = { providerDirs: {} };
  for (const file of [globalFile, projectFile]) {
    const read = readConfigFile(file);
    if (!read) continue;
    read.warnings.forEach(warn);
    const { provider, ...rest } = read.layer;
    Object.assign(config, rest);
    for (const [id, value] of Object.entries(provider ?? {})) {
      config.provider = { ...config.provider, [id]: value };
      config.providerDirs[id] = path.dirname(file);
    }
  }
  return config;
}
