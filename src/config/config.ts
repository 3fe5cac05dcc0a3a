import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { decodeUtf8, JsonSyntaxError, parseJson } from "../json/parse.js";
import { checkTree } from "../json/tree.js";
import { ConfigError, fieldPath, firstIssue } from "../session/errors.js";
import { globalConfigDir } from "./paths.js";

const price = z.number().nonnegative();
const modelSchema = z.looseObject({
  cost: z.object({ input: price, output: price, cache_read: price.optional(), cache_write: price.optional() }).optional(),
  limit: z.object({ context: z.number().int().positive().optional(), output: z.number().int().positive().optional() }).optional(),
});

const providerSchema = z.object({
  type: z.enum(["openai", "anthropic", "openai-compatible", "scripted"]).optional(),
  options: z
    .looseObject({
      baseURL: z.string().optional(),
      apiKey: z.string().optional(),
      /** scripted only: a path (relative to the config file) or the script itself */
      script: z.unknown().optional(),
    })
    .optional(),
  /** Per model: `cost` (US dollars per million tokens) and `limit` (tokens), over the built-in catalog's. */
  models: z.record(z.string(), modelSchema).optional(),
});
export type ProviderConfig = z.infer<typeof providerSchema>;

const configSchema = z.object({
  $schema: z.string().optional(),
  model: z.string().optional(),
  small_model: z.string().optional(),
  provider: z.record(z.string(), providerSchema).optional(),
  allow_outside_paths: z.boolean().optional(),
  /** Steps (model calls) per run before the loop stops. */
  max_steps: z.number().int().positive().optional(),
});
export type Config = z.infer<typeof configSchema> & {
  /** Directory of the file each provider was declared in, to resolve relative script paths. */
  providerDirs: Record<string, string>;
};

const OPTION_KEYS = ["baseURL", "apiKey", "script"];

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
  check(raw, Object.keys(configSchema.shape), "");
  for (const [id, provider] of Object.entries((raw.provider ?? {}) as Record<string, unknown>)) {
    check(provider, Object.keys(providerSchema.shape), `provider.${id}.`);
    check((provider as { options?: unknown } | null)?.options, OPTION_KEYS, `provider.${id}.options.`);
  }
  return warnings;
}

/** `ode.json` is JSONC (comments and trailing commas allowed, as in the README's examples). */
function readConfigFile(file: string): { layer: z.infer<typeof configSchema>; warnings: string[] } | undefined {
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
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`${file}: ${firstIssue(parsed.error)}`);
  return { layer: parsed.data, warnings: unknownKeys(file, raw as Record<string, unknown>) };
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
