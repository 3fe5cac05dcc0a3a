import { resolveModel, type ResolvedModel } from "../provider/provider.js";
import type { Runtime } from "../runtime.js";
import type { TitleGenerationState } from "../session/abort.js";
import type { ActiveRun } from "../session/runs.js";
import type { SessionInfo, UserMessage } from "../session/schema.js";
import { errorText } from "../session/errors.js";
import { normalizeTitle, titleStateBefore } from "../session/title.js";

/** How long a title may take; a one-shot `ode run` waits at most this long for it before exiting. */
export const TITLE_TIMEOUT_MS = 10_000;

/**
 * The title timeout in effect: `ODE_TITLE_TIMEOUT_MS` (a positive number of milliseconds) overrides
 * TITLE_TIMEOUT_MS, so tests and impatient loops can shorten the bounded wait of a one-shot `ode run`.
 */
export function titleTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env.ODE_TITLE_TIMEOUT_MS);
  return env.ODE_TITLE_TIMEOUT_MS && Number.isFinite(value) && value > 0 ? value : TITLE_TIMEOUT_MS;
}

export interface TitleTrace {
  started_at: number;
  completed_at?: number;
  success: boolean;
  applied: boolean;
  /** The title was set by the user (`--title`, rename): nothing was generated and no request was made. */
  skipped?: boolean;
  error_message?: string;
  /** The generated title, also when it was not applied. */
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
  const withoutThinking = raw
    .replace(/<think(?:ing)?>[\s\S]*?<\/think(?:ing)?>/gi, "")
    .replace(/<think(?:ing)?>[\s\S]*$/i, "");
  const line = withoutThinking.split(/\r?\n/).find((l) => l.trim() !== "") ?? "";
  const unlabelled = line.trim().replace(/^title:\s*/i, "");
  return normalizeTitle(unlabelled.replace(/^["'`*“”‘’«»]+|["'`*“”‘’«»]+$/g, ""));
}

function titleModel(rt: Runtime, sessionModel: ResolvedModel): Promise<ResolvedModel> | ResolvedModel {
  return rt.config.small_model ? resolveModel(rt.config, rt.config.small_model, rt.env) : sessionModel;
}

/**
 * Generates the session's title in the background on its first turn. Never blocks the turn and never fails it:
 * every outcome (success, provider error, empty answer, timeout, a title the user set) leaves a durable trace,
 * stored on the session's record when the generation starts and again when it ends, and attached to the turn's
 * first assistant message (`info.diagnostics.title_generation`) as soon as both exist, whichever comes first.
 * The returned promise never rejects; it settles when the trace is final, at most the title timeout after the call.
 */
export function startTitleGeneration(...args: Parameters<typeof start>): Promise<void> {
  try {
    return start(...args);
  } catch (error) {
    const [rt] = args;
    // The store could not even record the start (session gone, database error): the turn goes on without a title.
    rt.store.log.warn("title generation not started", { sessionID: args[2].id, error: errorText(error) });
    return Promise.resolve();
  }
}

function start(
  rt: Runtime,
  run: ActiveRun,
  session: SessionInfo,
  user: UserMessage,
  text: string,
  sessionModel: ResolvedModel,
): Promise<void> {
  const source = rt.store.titleSource(session.id);
  // The turn's own user message is already stored; a session that began with shell commands still gets a title.
  if (source === "generated" || rt.store.promptCount(session.id, 2) > 1) {
    // No generation on later turns; an abort still reports how the session's title came about.
    const state = titleStateBefore(rt.store.titleTraces<TitleTrace>(session.id).at(-1), source);
    run.titleState = () => state;
    return Promise.resolve();
  }
  const trace: TitleTrace = {
    started_at: Date.now(),
    success: false,
    applied: false,
    // What the generation uses (or would use); resolved below, and kept as configured when that fails.
    model: rt.config.small_model ?? `${sessionModel.providerID}/${sessionModel.modelID}`,
    user_message_id: user.id,
  };
  const traceID = rt.store.insertTitleTrace(session.id, trace);
  let state: TitleGenerationState = "in_flight";
  run.titleState = () => state;
  let done = false;
  let listening = true;

  const attach = () => {
    if (trace.assistant_message_id) rt.store.mergeDiagnostics(trace.assistant_message_id, { title_generation: { ...trace } });
  };
  // The turn's first assistant message may be created before or after the generation ends: attach the trace to
  // it the moment it appears (event-driven, no polling), and stop listening when the run ends without one.
  const unsubscribe = rt.events.subscribe((event) => {
    if (event.sessionID !== session.id) return;
    if (event.type === "run.finished" && event.properties.runID === run.id) {
      stopListening();
      return;
    }
    if (event.type !== "message.updated") return;
    const info = event.properties.info;
    if (info.role !== "assistant" || info.parentID !== user.id) return;
    stopListening();
    trace.assistant_message_id = info.id;
    guarded("attaching the title trace failed", () => {
      if (done) rt.store.updateTitleTrace(traceID, trace);
      attach();
    });
  });
  function stopListening() {
    if (!listening) return;
    listening = false;
    unsubscribe();
  }
  // Writes after the turn must never take the process down (a session deleted meanwhile, a store closed early).
  function guarded(what: string, write: () => void) {
    try {
      write();
    } catch (error) {
      rt.store.log.warn(what, { sessionID: session.id, error: errorText(error) });
    }
  }

  const finish = (patch: Partial<TitleTrace>, nextState: TitleGenerationState, warning?: string) => {
    state = nextState;
    done = true;
    Object.assign(trace, patch, { completed_at: Date.now() });
    const first = run.assistantMessageIDs[0];
    if (first && !trace.assistant_message_id) {
      trace.assistant_message_id = first;
      stopListening();
    }
    if (warning) rt.store.log.warn(warning, { sessionID: session.id, error: trace.error_message });
    guarded("storing the title trace failed", () => {
      rt.store.updateTitleTrace(traceID, trace);
      attach();
    });
    rt.events.emit("session.title.generated", session.id, { trace: { ...trace } });
  };

  if (source === "user") {
    finish({ skipped: true }, "skipped");
    return Promise.resolve();
  }
  return generateTitle(rt, session.id, sessionModel, text, trace, finish, run.killSignal).catch((error: unknown) =>
    rt.store.log.warn("title generation failed", { sessionID: session.id, error: errorText(error) }),
  );
}

async function generateTitle(
  rt: Runtime,
  sessionID: string,
  sessionModel: ResolvedModel,
  text: string,
  trace: TitleTrace,
  finish: (patch: Partial<TitleTrace>, nextState: TitleGenerationState, warning?: string) => void,
  /** A hard cancel (a second Ctrl-C) stops the generation too: the process is about to exit. */
  stop: AbortSignal,
): Promise<void> {
  let model: ResolvedModel;
  try {
    model = await titleModel(rt, sessionModel);
    trace.model = `${model.providerID}/${model.modelID}`;
  } catch (error) {
    finish({ error_message: errorText(error) }, "failed_before_abort", "title generation failed");
    return;
  }
  const timeoutMs = titleTimeoutMs(rt.env);
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  // The bound holds even for a provider that ignores its abort signal.
  const timeout = new Promise<never>((_, reject) => {
    const fail = (error: Error) => {
      controller.abort(error);
      reject(error);
    };
    timer = setTimeout(() => fail(new Error(`title generation timed out after ${timeoutMs} ms`)), timeoutMs);
    const stopped = () => fail(new Error("title generation stopped: ode was told to stop at once"));
    if (stop.aborted) stopped();
    else stop.addEventListener("abort", stopped, { once: true });
  });
  // One request, no retry: a title is not worth waiting for twice.
  const generate = Promise.resolve(model.language.doGenerate({
    prompt: [
      { role: "system", content: SYSTEM },
      { role: "user", content: [{ type: "text", text }] },
    ],
    abortSignal: controller.signal,
  }));
  generate.catch(() => {});
  try {
    const result = await Promise.race([generate, timeout]);
    const title = cleanTitle(result.content.map((c) => (c.type === "text" ? c.text : "")).join(""));
    if (!title) throw new Error("the title model answered with an empty title");
    let applied = false;
    let storeError: string | undefined;
    try {
      applied = rt.store.applyGeneratedTitle(sessionID, title);
      if (!applied && !rt.store.findSession(sessionID)) storeError = "the session was deleted";
    } catch (error) {
      storeError = `storing the title failed: ${errorText(error)}`;
    }
    finish(
      { success: true, applied, title, ...(storeError ? { error_message: storeError } : {}) },
      "completed_before_abort",
      storeError ? "generated title not stored" : undefined,
    );
  } catch (error) {
    const message = controller.signal.aborted ? errorText(controller.signal.reason) : errorText(error);
    finish({ success: false, error_message: message }, "failed_before_abort", "title generation failed");
  } finally {
    clearTimeout(timer);
  }
}
