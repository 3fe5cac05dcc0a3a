import { newId } from "../ids.js";
import { modelInfo } from "../provider/catalog.js";
import { loadModel, modelSpec, pickModelName, type ModelSpec, type ResolvedModel } from "../provider/provider.js";
import type { Runtime } from "../runtime.js";
import { ABORTED_MESSAGE, timeoutProblem, type AbortDiagnostic } from "../session/abort.js";
import { InvalidInputError, SessionNotFoundError } from "../session/errors.js";
import type { ActiveRun, RunOutcome } from "../session/runs.js";
import type { MessageError, SessionInfo, UserMessage } from "../session/schema.js";
import { ContextGuard } from "./compaction.js";
import { toMessageError } from "./errors.js";
import { newAssistantMessage, recordUserMessage } from "./messages.js";
import { openModelStream, readModelStream, type PromptItem } from "./model-stream.js";
import { runTools, type RunTools } from "./run-tools.js";
import { handleStreamPart, Step } from "./step.js";
import { loadInstructions } from "./instructions.js";
import { systemPrompt } from "./system.js";
import { startTitleGeneration } from "./title.js";

export const DEFAULT_MAX_STEPS = 50;
/** A model request that fails with a retryable error is sent again this many times (with the AI SDK's backoff). */
export const MODEL_MAX_RETRIES = 1;

export interface PromptInput {
  sessionID: string;
  text: string;
  /** `provider/model`; defaults to the config's model. */
  model?: string;
  /** Cancels the run with source `timeout` after this many milliseconds. */
  timeoutMs?: number;
  /** The user message's id, chosen by the client (opencode's `messageID`). */
  messageID?: string;
  /** Instructions appended to the system prompt for this turn (opencode's `system`). */
  system?: string;
  /** Tools switched on or off by name for this turn (opencode's `tools`); unnamed tools stay on. */
  tools?: Record<string, boolean>;
}

export interface PromptResult {
  sessionID: string;
  runID: string;
  outcome: RunOutcome;
  error?: MessageError;
  userMessageID: string;
  assistantMessageIDs: string[];
  /** Who interrupted the run, where and how, when it was aborted. */
  abort?: AbortDiagnostic;
  /** The final step's text. */
  text: string;
  /** Settles when the background title generation of this turn has ended (at once when there was none). */
  titleDone: Promise<void>;
  /** Ends a title generation still in flight now, its trace saying so (the process is about to exit). */
  stopTitle(): void;
}

type TitleHandle = Pick<PromptResult, "titleDone" | "stopTitle">;

/**
 * The title generations a long-lived caller (the interactive prompt, the server) has handed over, so that ending
 * it can stop them instead of waiting for the model: once `stop` is called, each one in flight and each one
 * handed over later is stopped, its trace saying so.
 */
export class TitlesInFlight {
  private readonly results = new Set<TitleHandle>();
  private stopped = false;

  /** Keeps `result`'s title generation until it settles; returns its `titleDone`. */
  add(result: TitleHandle): Promise<void> {
    this.results.add(result);
    const settled = () => this.results.delete(result);
    void result.titleDone.then(settled, settled);
    if (this.stopped) result.stopTitle();
    return result.titleDone;
  }

  stop(): void {
    this.stopped = true;
    for (const result of this.results) result.stopTitle();
  }

  /** Settles when every generation handed over so far has ended. */
  settled(): Promise<unknown> {
    return Promise.all([...this.results].map((result) => result.titleDone));
  }
}

/** A run that has started: its row, its user message and its timeout exist; nothing has been awaited yet. */
export interface StartedRun {
  run: ActiveRun;
  session: SessionInfo;
  user: UserMessage;
  spec: ModelSpec;
  text: string;
  /** The system prompt, with the project instructions read when the run started and the caller's `system`. */
  system: string;
  timer?: NodeJS.Timeout;
  tools?: Record<string, boolean>;
}

/** What the steps found out, filled in as the run goes. */
interface RunState {
  outcome: RunOutcome;
  error?: MessageError;
  text: string;
  finish?: string;
  titleDone: Promise<void>;
}

/**
 * Starts a turn synchronously: checks the session, the model and the busy state, opens the run row and stores the
 * user message. The caller holds the run before anything is awaited, so a cancel that arrives with the prompt (an
 * HTTP abort, a signal) lands on it and the run ends in phase `queued`, with no assistant message.
 */
export function startRun(rt: Runtime, input: PromptInput): StartedRun {
  const problem = input.timeoutMs === undefined ? undefined : timeoutProblem(input.timeoutMs);
  if (problem) throw new InvalidInputError(`timeoutMs ${problem}`);
  const session = rt.store.getSession(input.sessionID);
  const spec = modelSpec(rt.config, pickModelName(rt.config, input.model, rt.env), rt.env);
  const instructions = loadInstructions(session.directory, rt.env);
  const run = rt.runs.start(session.id, "prompt");
  const user: UserMessage = {
    id: input.messageID ?? newId("msg"),
    sessionID: session.id,
    role: "user",
    time: { created: Date.now() },
    agent: "build",
    model: { providerID: spec.providerID, modelID: spec.modelID },
    // Which instruction files this turn's system prompt was built from; the export lists them.
    ...(instructions.files.length ? { instructions: instructions.files } : {}),
  };
  try {
    rt.store.transaction(() => recordUserMessage(rt, run, user, input.text, input.text));
  } catch (error) {
    rt.runs.finish(run, "error");
    throw error;
  }
  const timer =
    input.timeoutMs === undefined
      ? undefined
      : setTimeout(
          () => rt.runs.cancel(session.id, { source: "timeout", reason: `timeout after ${input.timeoutMs} ms`, via: "timeout" }),
          input.timeoutMs,
        );
  const base = systemPrompt(session.directory, instructions.text);
  const system = input.system ? `${base}\n\n${input.system}` : base;
  return { run, session, user, spec, text: input.text, system, ...(timer ? { timer } : {}), ...(input.tools ? { tools: input.tools } : {}) };
}

/**
 * Drives a started turn to its end: streams model steps (each its own assistant message) and runs the tools they
 * call until the model stops, the step limit is reached, or the run is cancelled; then closes the run.
 */
export async function driveRun(rt: Runtime, started: StartedRun): Promise<PromptResult> {
  const { run, session, user } = started;
  const state: RunState = { outcome: "completed", text: "", titleDone: Promise.resolve() };
  try {
    const { spec } = started;
    const model = { ...(await loadModel(spec)), info: await modelInfo(rt.config, spec.providerID, spec.modelID, spec.type) };
    state.titleDone = startTitleGeneration(rt, run, session, user, started.text, model);
    await driveSteps(rt, started, model, state);
    if (run.interrupt) {
      state.outcome = "aborted";
      state.error = { name: "MessageAbortedError", data: { message: ABORTED_MESSAGE } };
    } else if (state.error) {
      state.outcome = "error";
    }
  } catch (thrown) {
    state.outcome = run.interrupt ? "aborted" : "error";
    throw thrown;
  } finally {
    if (started.timer) clearTimeout(started.timer);
    rt.runs.finish(run, state.outcome, state.finish);
    rt.store.touchSession(session.id);
  }
  return {
    sessionID: session.id,
    runID: run.id,
    outcome: state.outcome,
    ...(state.error ? { error: state.error } : {}),
    ...(run.interrupt ? { abort: run.interrupt } : {}),
    userMessageID: user.id,
    assistantMessageIDs: [...run.assistantMessageIDs],
    text: state.text,
    titleDone: state.titleDone,
    // The generation stops on the run's hard kill; the run is over, so nothing else listens to it any more.
    stopTitle: () => run.killController.abort(),
  };
}

/** Runs one turn: `startRun` then `driveRun`. */
export function prompt(rt: Runtime, input: PromptInput): Promise<PromptResult> {
  try {
    return driveRun(rt, startRun(rt, input));
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * Model calls until the model is done. The history is read and converted once per run (from its latest compaction
 * on), the tools once, and each step appends what it produced: a step costs what is new, not the whole
 * conversation again. The context guard replaces the history by a compacted one when it would not fit the model
 * (agent/compaction.ts).
 */
async function driveSteps(rt: Runtime, started: StartedRun, model: ResolvedModel, state: RunState): Promise<void> {
  const { run, session } = started;
  const maxSteps = rt.config.max_steps ?? DEFAULT_MAX_STEPS;
  const tools = await runTools(rt.tools, started.tools);
  const context = new ContextGuard({ rt, run, session, model, system: started.system });
  let prompt: PromptItem[] = context.prompt();
  for (let n = 0; n < maxSteps && !run.signal.aborted; n++) {
    prompt = await context.beforeStep(prompt);
    if (run.signal.aborted) break;
    const step = await runStep(rt, started, model, prompt, tools);
    // The provider said the history is too long: compacted once, the step is sent again.
    const retry = await context.afterStep(step, prompt);
    if (retry) {
      prompt = retry;
      continue;
    }
    state.text = step.text;
    state.finish = step.finish;
    if (step.message.error && !run.signal.aborted) state.error = step.message.error;
    for (const message of step.promptMessages()) prompt.push(message);
    // Deleted mid-run (e.g. by `ode session delete` from the bash tool): nothing more can be stored.
    if (step.error instanceof SessionNotFoundError) throw step.error;
    if (run.signal.aborted || step.error !== undefined || step.finish !== "tool-calls") break;
  }
}

/** One model call, streamed into its own assistant message, with the tool calls it made settled and recorded. */
async function runStep(rt: Runtime, started: StartedRun, model: ResolvedModel, prompt: PromptItem[], tools: RunTools): Promise<Step> {
  const { run, session, user } = started;
  const message = newAssistantMessage(session.id, user.id, model, session.directory);
  rt.store.addMessage(message);
  rt.runs.addAssistantMessage(run, message.id);
  run.stage = "model";
  const step = new Step(rt, run, message, tools, model.info?.cost);
  let streamEnded = false;
  try {
    const stream = await openModelStream({
      model: model.language,
      prompt,
      tools: tools.offered,
      abortSignal: run.signal,
      maxRetries: MODEL_MAX_RETRIES,
      ...(model.wire ? { wire: model.wire } : {}),
    });
    await readModelStream(stream, run.signal, (part) => handleStreamPart(step, part));
    streamEnded = true;
  } catch (thrown) {
    step.error = thrown;
  }
  await Promise.allSettled(step.executions);
  // A stream that failed or was cut by an abort has no finish to record.
  if (streamEnded && !run.signal.aborted) step.settle();
  step.closeParts();
  message.time.completed = Date.now();
  if (run.signal.aborted) {
    message.error = { name: "MessageAbortedError", data: { message: ABORTED_MESSAGE } };
  } else if (step.error !== undefined) {
    message.error = toMessageError(step.error, model.providerID);
  }
  rt.store.updateMessage(message);
  return step;
}
