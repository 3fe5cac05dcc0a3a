import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { onTestFinished } from "vitest";
import type { ToolContext, ToolDefinition, ToolResult } from "../../src/tool/tool.js";

/** A fresh directory removed when the current test ends; realpath'd because tmpdir may be a symlink. */
export function tempDir(prefix = "ode-tool-"): string {
  const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), prefix)));
  onTestFinished(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

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
