import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { ConfigError, firstIssue } from "../session/errors.js";
import { globalConfigDir } from "./paths.js";

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
  models: z.record(z.string(), z.unknown()).optional(),
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

function readConfigFile(file: string): z.infer<typeof configSchema> | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new ConfigError(`${file}: cannot be read (${(error as NodeJS.ErrnoException).code})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`${file}: not valid JSON (${(error as Error).message})`);
  }
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`${file}: ${firstIssue(parsed.error)}`);
  return parsed.data;
}

/** `ode.json` of the project directory wins over `~/.config/ode/ode.json`, key by key. */
export function loadConfig(projectDir: string, env: NodeJS.ProcessEnv = process.env): Config {
  const globalFile = path.join(globalConfigDir(env), "ode.json");
  const projectFile = path.join(projectDir, "ode.json");
  const config: Config = { providerDirs: {} };
  for (const file of [globalFile, projectFile]) {
    const layer = readConfigFile(file);
    if (!layer) continue;
    const { provider, ...rest } = layer;
    Object.assign(config, rest);
    for (const [id, value] of Object.entries(provider ?? {})) {
      config.provider = { ...config.provider, [id]: value };
      config.providerDirs[id] = path.dirname(file);
    }
  }
  return config;
}
