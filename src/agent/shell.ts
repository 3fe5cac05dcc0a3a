import { newId } from "../ids.js";
import type { Runtime } from "../runtime.js";
import { ABORTED_MESSAGE } from "../session/abort.js";
import { errorText, InvalidInputError } from "../session/errors.js";
import type { ActiveRun, RunOutcome } from "../session/runs.js";
import type { AssistantMessage, SessionInfo, ToolPart, UserMessage } from "../session/schema.js";
import { runToolCall } from "./tool-call.js";
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
  /** Why the command could not run or finish, when the outcome is `error` (also on the assistant message). */
  error?: string;
}

/** A prompt-shell run that has started: its row and its messages exist; nothing has been awaited yet. */
export interface StartedShell {
  run: ActiveRun;
  session: SessionInfo;
  assistant: AssistantMessage;
  part: ToolPart;
  command: string;
}

/**
 * The prompt shell (`!cmd`, `ode shell`, `POST /session/:id/shell`): the user runs a command in the session's
 * context. It is a run of its own, recorded like opencode's: a user message with the command and an assistant
 * message holding a `bash` tool part with the output, so the model sees it in later turns. Starting is
 * synchronous, like `startRun`, so the caller holds the run before anything is awaited.
 */
export function startShell(rt: Runtime, input: ShellInput): StartedShell {
  if (!input.command.trim()) throw new InvalidInputError("the shell command is empty");
  const session = rt.store.getSession(input.sessionID);
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
  try {
    rt.store.transaction(() => {
      recordUserMessage(rt, run, user, `The user ran a shell command: ${input.command}`, input.command, true);
      rt.store.addMessage(assistant);
      rt.runs.addAssistantMessage(run, assistant.id);
      rt.store.upsertPart(part);
    });
  } catch (error) {
    rt.runs.finish(run, "error");
    throw error;
  }
  return { run, session, assistant, part, command: input.command };
}

/** Runs a started prompt-shell command to its end and closes the run. */
export async function driveShell(rt: Runtime, started: StartedShell): Promise<ShellResult> {
  const { run, session, assistant, part } = started;
  const bash = rt.tools.find((t) => t.name === "bash")!;
  let outcome: RunOutcome = "completed";
  let output = "";
  let exitCode: number | null = null;
  let failure: string | undefined;
  try {
    const result = await runToolCall(rt, run, part, bash, { command: started.command }, session.directory, "shell");
    output = String(result.metadata.output ?? "");
    exitCode = (result.metadata.exit as number | null) ?? null;
  } catch (error) {
    outcome = run.interrupt ? "aborted" : "error";
    output = part.state.status === "error" ? String(part.state.metadata?.output ?? "") : "";
    if (run.interrupt) assistant.error = { name: "MessageAbortedError", data: { message: ABORTED_MESSAGE } };
    else {
      failure = errorText(error);
      assistant.error = { name: "UnknownError", data: { message: failure } };
    }
  } finally {
    assistant.time.completed = Date.now();
    rt.store.updateMessage(assistant);
    rt.runs.finish(run, outcome);
  }
  return { sessionID: session.id, runID: run.id, outcome, output, exitCode, messageID: assistant.id, ...(failure ? { error: failure } : {}) };
}

/** Runs one prompt-shell command: `startShell` then `driveShell`. */
export function runShell(rt: Runtime, input: ShellInput): Promise<ShellResult> {
  try {
    return driveShell(rt, startShell(rt, input));
  } catch (error) {
    return Promise.reject(error);
  }
}
