import { newId } from "../ids.js";
import type { Runtime } from "../runtime.js";
import { ABORTED_MESSAGE } from "../session/abort.js";
import { InvalidInputError } from "../session/errors.js";
import type { RunOutcome } from "../session/runs.js";
import type { ToolPart, UserMessage } from "../session/schema.js";
import { errorText, runToolCall } from "./tool-call.js";
import { newAssistantMessage, recordUserMessage } from "./messages.js";

export interface ShellInput {
  sessionID: string;
  command: string;
}

export interface ShellResult {
  sessionID: string;
  runID: string;
  outcome: RunOutcome;
  output: string;
  exitCode: number | null;
  messageID: string;
}

/**
 * The prompt shell (`!cmd`, `ode shell`, `POST /session/:id/shell`): the user runs a command in the session's
 * context. It is a run of its own, recorded like opencode's: a user message with the command and an assistant
 * message holding a `bash` tool part with the output, so the model sees it in later turns.
 */
export async function runShell(rt: Runtime, input: ShellInput): Promise<ShellResult> {
  if (!input.command.trim()) throw new InvalidInputError("the shell command is empty");
  const session = rt.store.getSession(input.sessionID);
  const bash = rt.tools.find((t) => t.name === "bash")!;
  const run = rt.runs.start(session.id, "shell");
  const user: UserMessage = { id: newId("msg"), sessionID: session.id, role: "user", time: { created: Date.now() }, agent: "shell" };
  const assistant = newAssistantMessage(session.id, user.id, { providerID: "user", modelID: "shell" }, session.directory);
  const part: ToolPart = {
    id: newId("prt"),
    sessionID: session.id,
    messageID: assistant.id,
    type: "tool",
    tool: "bash",
    callID: `shell_${run.id.slice(4)}`,
    state: { status: "pending", input: { command: input.command } },
  };
  rt.store.transaction(() => {
    recordUserMessage(rt, run, user, `The user ran a shell command: ${input.command}`, input.command, true);
    rt.store.addMessage(assistant);
    rt.runs.addAssistantMessage(run, assistant.id);
    rt.store.upsertPart(part);
  });
  let outcome: RunOutcome = "completed";
  let output = "";
  let exitCode: number | null = null;
  try {
    const result = await runToolCall(rt, run, part, bash, { command: input.command }, session.directory, "shell");
    output = String(result.metadata.output ?? "");
    exitCode = (result.metadata.exit as number | null) ?? null;
  } catch (error) {
    outcome = run.interrupt ? "aborted" : "error";
    output = part.state.status === "error" ? String(part.state.metadata?.output ?? "") : "";
    assistant.error = run.interrupt
      ? { name: "MessageAbortedError", data: { message: ABORTED_MESSAGE } }
      : { name: "UnknownError", data: { message: errorText(error) } };
  } finally {
    assistant.time.completed = Date.now();
    rt.store.updateMessage(assistant);
    rt.runs.finish(run, outcome);
  }
  return { sessionID: session.id, runID: run.id, outcome, output, exitCode, messageID: assistant.id };
}
