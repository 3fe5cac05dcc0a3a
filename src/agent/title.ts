import { generateText } from "ai";
import { publish } from "../bus.js";
import { log } from "../log.js";
import { resolveModel, type ResolvedModel } from "../provider/provider.js";
import type { Runtime } from "../runtime.js";
import type { TitleGenerationState } from "../session/abort.js";
import type { ActiveRun } from "../session/runs.js";
import type { SessionInfo, UserMessage } from "../session/schema.js";
import { normalizeTitle } from "../session/title.js";

/** How long a title may take; a one-shot `ode run` waits at most this long for it before exiting. */
export const TITLE_TIMEOUT_MS = 10_000;

export interface TitleTrace {
  started_at: number;
  completed_at?: number;
  success: boolean;
  applied: boolean;
  skipped?: boolean;
  error_message?: string;
  title?: string;
  model: string;
  user_message_id: string;
  assistant_message_id?: string;
}

const SYSTEM = `You write the title of a conversation between a user and a coding agent.
Answer with the title only: one line, at most 50 characters, no quotes, no trailing punctuation.
Use the language of the user's message.`;

/** Think-tags removed, first non-empty line, surrounding quotes trimmed, single line, at most 100 characters. */
export function cleanTitle(raw: string): string {
  const withoutThinking = raw.replace(/<think(?:ing)?>[\s\S]*?<\/think(?:ing)?>/gi, "").replace(/<think(?:ing)?>[\s\S]*$/i, "");
  const line = withoutThinking.split(/\r?\n/).find((l) => l.trim() !== "") ?? "";
  return normalizeTitle(line.trim().replace(/^["'`*]+|["'`*]+$/g, "").replace(/^title:\s*/i, ""));
}

function storeTrace(rt: Runtime, traceID: number, sessionID: string, trace: TitleTrace): void {
  rt.store.updateTitleTrace(traceID, trace);
  if (trace.assistant_message_id) rt.store.mergeDiagnostics(trace.assistant_message_id, { title_generation: trace });
  publish("session.title.generated", sessionID, { trace });
}

function titleModel(rt: Runtime, sessionModel: ResolvedModel): ResolvedModel {
  return rt.config.small_model ? resolveModel(rt.config, rt.config.small_model, rt.env) : sessionModel;
}

/**
 * Generates the session's title in the background on its first turn. Never blocks the turn and never fails it:
 * every outcome (success, provider error, empty answer, timeout, a title the user set) leaves a durable trace.
 * The returned promise settles when the trace is final.
 */
export function startTitleGeneration(
  rt: Runtime,
  run: ActiveRun,
  session: SessionInfo,
  user: UserMessage,
  text: string,
  sessionModel: ResolvedModel,
): Promise<void> {
  if (rt.store.userMessageCount(session.id) > 1) return Promise.resolve();
  const source = rt.store.titleSource(session.id);
  if (source === "generated") return Promise.resolve();
  let state: TitleGenerationState = "in_flight";
  run.titleState = () => state;
  let model: ResolvedModel;
  const trace: TitleTrace = {
    started_at: Date.now(),
    success: false,
    applied: false,
    model: `${sessionModel.providerID}/${sessionModel.modelID}`,
    user_message_id: user.id,
  };
  const traceID = rt.store.insertTitleTrace(session.id, trace);
  const finish = (patch: Partial<TitleTrace>) => {
    Object.assign(trace, patch, { completed_at: Date.now() });
    const first = run.assistantMessageIDs[0];
    if (first) trace.assistant_message_id = first;
    storeTrace(rt, traceID, session.id, trace);
  };
  if (source === "user") {
    state = "skipped";
    finish({ skipped: true });
    return Promise.resolve();
  }
  try {
    model = titleModel(rt, sessionModel);
    trace.model = `${model.providerID}/${model.modelID}`;
  } catch (error) {
    state = "failed_before_abort";
    finish({ error_message: (error as Error).message });
    log.warn("title generation failed", { sessionID: session.id, error: (error as Error).message });
    return Promise.resolve();
  }
  return (async () => {
    try {
      const result = await generateText({
        model: model.language,
        system: SYSTEM,
        messages: [{ role: "user", content: text }],
        maxRetries: 0,
        abortSignal: AbortSignal.timeout(TITLE_TIMEOUT_MS),
      });
      const title = cleanTitle(result.text);
      if (!title) throw new Error("the title model answered with an empty title");
      let applied = false;
      let storeError: string | undefined;
      try {
        applied = rt.store.applyGeneratedTitle(session.id, title);
      } catch (error) {
        storeError = `storing the title failed: ${(error as Error).message}`;
      }
      state = "completed_before_abort";
      finish({ success: true, applied, title, ...(storeError ? { error_message: storeError } : {}) });
    } catch (error) {
      const message =
        (error as Error).name === "TimeoutError" || (error as Error).name === "AbortError"
          ? `title generation timed out after ${TITLE_TIMEOUT_MS} ms`
          : (error as Error).message;
      state = "failed_before_abort";
      finish({ success: false, error_message: message });
      log.warn("title generation failed", { sessionID: session.id, error: message });
    }
  })();
}
