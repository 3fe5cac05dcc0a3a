import type { Runtime } from "../runtime.js";
import type { ActiveRun } from "../session/runs.js";
import type { ToolPart } from "../session/schema.js";
import { errorText } from "../session/errors.js";
import { ToolInterruptedError, type ToolDefinition, type ToolResult } from "../tool/tool.js";

/**
 * Executes one tool call and records it on its part (running, then completed or error). While it runs, the run's
 * phase says where a cancel lands (`tool` for the model's calls, `shell` for the user's prompt shell).
 */
export async function runToolCall(
  rt: Runtime,
  run: ActiveRun,
  part: ToolPart,
  def: ToolDefinition,
  input: unknown,
  directory: string,
  phase: "tool" | "shell",
): Promise<ToolResult> {
  const start = Date.now();
  part.state = { status: "running", input, time: { start } };
  rt.store.upsertPart(part);
  run.activeCalls.set(part.callID, phase);
  try {
    const result = await def.run(input, {
      sessionID: part.sessionID,
      messageID: part.messageID,
      callID: part.callID,
      directory,
      allowOutsidePaths: rt.config.allow_outside_paths ?? false,
      dataDir: rt.dataDir,
      abortSignal: run.signal,
      killSignal: run.killSignal,
      recordProcessGroup: (pgid) => rt.runs.recordProcessGroup(run.id, pgid),
      // The part's tool span was opened by the `running` update above: its spawns join it.
      ...(rt.tracing ? { spawnEnv: rt.tracing.spawnVariables(part.id) } : {}),
      onOutput: (chunk) =>
        rt.events.emit("message.part.output", part.sessionID, { messageID: part.messageID, partID: part.id, callID: part.callID, chunk }),
    });
    part.state = {
      status: "completed",
      input,
      output: result.output,
      title: result.title,
      metadata: result.metadata,
      time: { start, end: Date.now() },
    };
    rt.store.upsertPart(part);
    return result;
  } catch (error) {
    const interrupted = error instanceof ToolInterruptedError;
    // The tool stopped because its own abort signal fired: that is how the cancel reached it.
    if (interrupted && run.interrupt && !run.interrupt.via_ctx_abort) {
      run.interrupt.via_ctx_abort = true;
      rt.runs.writeInterrupt(run);
    }
    part.state = {
      status: "error",
      input,
      error: interrupted && error.output ? `${error.message}\n\n${error.output}` : errorText(error),
      metadata: interrupted ? error.metadata : {},
      time: { start, end: Date.now() },
    };
    rt.store.upsertPart(part);
    throw error;
  } finally {
    run.activeCalls.delete(part.callID);
  }
}
