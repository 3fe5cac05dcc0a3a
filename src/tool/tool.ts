import type { z } from "zod";

/** What a tool needs to know about the call it serves. */
export interface ToolContext {
  sessionID: string;
  messageID: string;
  callID: string;
  /** The project directory: relative paths resolve against it and the bash tool runs in it. */
  directory: string;
  /** Paths outside `directory` are refused unless this is true (config `allow_outside_paths`). */
  allowOutsidePaths: boolean;
  /** Where full outputs of truncated results are saved (`<dataDir>/tool-output/`). */
  dataDir: string;
  abortSignal: AbortSignal;
}

export interface ToolResult {
  /** A one-line summary shown in the UI and stored on the part (`state.title`). */
  title: string;
  /** The text the model receives. */
  output: string;
  metadata: Record<string, unknown>;
}

export interface ToolDefinition<Input = any> {
  name: string;
  description: string;
  inputSchema: z.ZodType<Input>;
  execute(input: Input, ctx: ToolContext): Promise<ToolResult>;
}

/** A failure the model should read and recover from (bad path, string not found, ...). */
export class ToolError extends Error {
  override name = "ToolError";
}
