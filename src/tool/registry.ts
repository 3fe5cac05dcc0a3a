import type { TitleLookup } from "../shell/env.js";
import { createBashTool } from "./bash.js";
import { editTool } from "./edit.js";
import { globTool } from "./glob.js";
import { grepTool } from "./grep.js";
import { listTool } from "./list.js";
import { readTool } from "./read.js";
import type { ToolDefinition } from "./tool.js";
import { writeTool } from "./write.js";

export function builtinTools(sessions: TitleLookup): ToolDefinition[] {
  return [createBashTool(sessions), readTool, writeTool, editTool, globTool, grepTool, listTool];
}
