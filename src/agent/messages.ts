import { newId } from "../ids.js";
import type { Runtime } from "../runtime.js";
import type { ActiveRun } from "../session/runs.js";
import type { AssistantMessage, UserMessage } from "../session/schema.js";
import { emptyTokens } from "./tokens.js";

/**
 * Stores a run's user message with its text part and binds it to the run (`attempted_input` is what the run
 * sends). Callers wrap it in their transaction with the rest of the run's opening writes.
 */
export function recordUserMessage(
  rt: Runtime,
  run: ActiveRun,
  user: UserMessage,
  text: string,
  attemptedInput: string,
  synthetic = false,
): void {
  rt.store.addMessage(user);
  rt.store.upsertPart({
    id: newId("prt"),
    sessionID: user.sessionID,
    messageID: user.id,
    type: "text",
    text,
    ...(synthetic ? { synthetic } : {}),
  });
  rt.runs.setUserMessage(run, user.id, attemptedInput);
}

/** A step's assistant message before anything streamed into it; `model` is who answers (`user/shell` for `!cmd`). */
export function newAssistantMessage(
  sessionID: string,
  parentID: string,
  model: { providerID: string; modelID: string },
  directory: string,
): AssistantMessage {
  return {
    id: newId("msg"),
    sessionID,
    role: "assistant",
    parentID,
    time: { created: Date.now() },
    modelID: model.modelID,
    providerID: model.providerID,
    path: { cwd: directory, root: directory },
    tokens: emptyTokens(),
    cost: 0,
  };
}
