import type { JSONSchema7, LanguageModelV3FunctionTool } from "@ai-sdk/provider";
import { asSchema } from "@ai-sdk/provider-utils";
import type { ToolDefinition } from "../tool/tool.js";

/** The tools of one run: what the model is offered, and the definitions its calls run. */
export interface RunTools {
  offered: LanguageModelV3FunctionTool[];
  byName: Map<string, ToolDefinition>;
}

/** A tool's input schema as JSON schema, converted once per definition rather than on every step of every run. */
const jsonSchemas = new WeakMap<ToolDefinition, Promise<JSONSchema7>>();

function inputJsonSchema(def: ToolDefinition): Promise<JSONSchema7> {
  let schema = jsonSchemas.get(def);
  if (!schema) {
    schema = Promise.resolve(asSchema(def.inputSchema).jsonSchema);
    jsonSchemas.set(def, schema);
  }
  return schema;
}

/** Builds a run's tool set once: every registered tool, less those the turn switched off by name. */
export async function runTools(definitions: Iterable<ToolDefinition>, enabled: Record<string, boolean> = {}): Promise<RunTools> {
  const byName = new Map<string, ToolDefinition>();
  for (const def of definitions) if (enabled[def.name] !== false) byName.set(def.name, def);
  const offered = await Promise.all(
    [...byName.values()].map(async (def): Promise<LanguageModelV3FunctionTool> => ({
      type: "function",
      name: def.name,
      description: def.description,
      inputSchema: await inputJsonSchema(def),
    })),
  );
  return { offered, byName };
}
