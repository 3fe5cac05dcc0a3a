import fs from "node:fs";
import path from "node:path";
import type { ToolContext, ToolDefinition, ToolResult } from "../../src/tool/tool.js";
import { tempDir } from "../support/ode.js";

export { tempDir };

export function makeContext(overrides: Partial<ToolContext> = {}): ToolContext {
  return {
    sessionID: "ses_test",
    messageID: "msg_test",
    callID: "call_test",
    directory: tempDir(),
    allowOutsidePaths: false,
    dataDir: tempDir("ode-data-"),
    abortSignal: new AbortController().signal,
    ...overrides,
  };
}

/** Runs a tool the way the agent loop does: input first goes through the tool's own schema. */
export function runTool<I>(tool: ToolDefinition<I>, input: unknown, ctx: ToolContext): Promise<ToolResult> {
  return tool.execute(tool.inputSchema.parse(input), ctx);
}

/** Writes files given as { "relative/path": content }, creating directories as needed. */
export function writeFiles(root: string, files: Record<string, string | Buffer>): void {
  for (const [rel, content] of Object.entries(files)) {
    const file = path.join(root, rel);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
  }
}
