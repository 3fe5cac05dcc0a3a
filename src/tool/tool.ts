import type { z } from "zod";
import { firstIssue } from "../session/errors.js";
import { truncateOutput } from "./truncate.js";

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
  /** Aborted when a cancel escalates to hard (a second Ctrl-C): processes are killed at once. */
  killSignal?: AbortSignal;
  /** Records a spawned process group on the run before the command runs, so crash recovery can kill it. */
  recordProcessGroup?: (pgid: number) => void;
  /** Variables a process spawned for this call gets on top of the session's (`TRACEPARENT` when tracing is on). */
  spawnEnv?: Record<string, string | undefined>;
  /** Receives a running command's output as it arrives, for live progress displays. */
  onOutput?: (chunk: string) => void;
}

export interface ToolResult {
  /** A one-line summary shown in the UI and stored on the part (`state.title`). */
  title: string;
  /** The text the model receives. */
  output: string;
  metadata: Record<string, unknown>;
}

/** What a tool is: its schema, its description and its body; `defineTool` adds the rest. */
export interface ToolSpec<Input = any> {
  name: string;
  description: string;
  inputSchema: z.ZodType<Input>;
  /** The body, given input that already passed `inputSchema`. */
  execute(input: Input, ctx: ToolContext): Promise<ToolResult>;
}

export interface ToolDefinition<Input = any> extends ToolSpec<Input> {
  /** One call as the agent makes it: validated, abort-aware, output truncated. */
  run(input: unknown, ctx: ToolContext): Promise<ToolResult>;
}

/** A failure the model should read and recover from (bad path, string not found, ...). */
export class ToolError extends Error {
  override name = "ToolError";
}

/** Thrown when a cancel interrupted the call; carries what it printed so far. */
export class ToolInterruptedError extends Error {
  override name = "ToolInterruptedError";
  readonly metadata: Record<string, unknown>;
  constructor(
    readonly output: string,
    metadata: Record<string, unknown> = {},
  ) {
    super("The command was interrupted");
    this.metadata = { ...metadata, interrupted: true };
  }
}

/**
 * The one wrapper every tool goes through, whoever calls it (the model's tool calls, the prompt shell): input
 * validated with the same error format, no start once the run is cancelled, and output over the limits
 * truncated with the full text saved. A tool that streams its output (bash) truncates as it goes and says so in
 * `metadata.truncated`; the wrapper then leaves it alone.
 */
export function defineTool<Input>(spec: ToolSpec<Input>): ToolDefinition<Input> {
  return {
    ...spec,
    async run(raw, ctx) {
      const parsed = spec.inputSchema.safeParse(raw);
      if (!parsed.success) throw new ToolError(`invalid input for ${spec.name}: ${firstIssue(parsed.error, "input")}`);
      if (ctx.abortSignal.aborted) throw new ToolInterruptedError("");
      const result = await spec.execute(parsed.data, ctx);
      if (result.metadata.truncated !== undefined) return result;
      const cut = truncateOutput(result.output, { dataDir: ctx.dataDir, id: `${ctx.messageID}_${ctx.callID}` });
      if (!cut.truncated) return result;
      return { ...result, output: cut.output, metadata: { ...result.metadata, truncated: true, outputPath: cut.outputPath } };
    },
  };
}
