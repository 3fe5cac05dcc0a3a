import type { LanguageModelV3Message, LanguageModelV3Usage } from "@ai-sdk/provider";
import { newId } from "../ids.js";
import { modelInfo, tokenCost } from "../provider/catalog.js";
import { loadModel, modelSpec, pickModelName, type ResolvedModel } from "../provider/provider.js";
import type { Runtime } from "../runtime.js";
import { ABORTED_MESSAGE, type AbortDiagnostic } from "../session/abort.js";
import { COMPACTION_AGENT, type CompactionPartFields, type CompactionRecord, type CompactionTrigger } from "../session/compaction.js";
import { errorText, OdeError } from "../session/errors.js";
import type { ActiveRun, RunOutcome } from "../session/runs.js";
import type { AssistantMessage, MessageError, Part, SessionInfo, UserMessage } from "../session/schema.js";
import {
  estimateTokens,
  historyBudget,
  historyWindow,
  isContextLengthError,
  planCompaction,
  promptChars,
  storedPrompt,
  windowPromptMessages,
  type HistoryWindow,
} from "./context.js";
import { toMessageError } from "./errors.js";
import { loadInstructions } from "./instructions.js";
import { newAssistantMessage } from "./messages.js";
import { openModelStream, readModelStream, type PromptItem } from "./model-stream.js";
import { MODEL_MAX_RETRIES } from "./prompt.js";
import type { Step } from "./step.js";
import { systemPrompt } from "./system.js";
import { toTokens } from "./tokens.js";
import { fitTranscript, transcript } from "./transcript.js";

const SUMMARY_SYSTEM = `You condense the conversation between a user and a coding agent into a summary the agent will work
from instead of the conversation itself: it will not see the original messages again.
Write down:
- what the user asked for, with their instructions and constraints;
- what was done: files read, created or changed (exact paths), commands run and what they showed;
- decisions taken and why, and approaches that failed;
- what is still open, and the next step.
Keep names, paths, commands, numbers and error messages exact. Answer with the summary only, in plain text.`;


/** There is no turn the model has not already summarised: a manual compaction has nothing to do. */
export class NothingToCompactError extends OdeError {
  override name = "NothingToCompactError";
  override readonly status = 400;
  constructor(readonly sessionID: string) {
    super(`session ${sessionID} has nothing to compact: no message since its last summary`);
  }
}

/** What a compaction needs of the run it belongs to. */
export interface CompactionScope {
  rt: Runtime;
  run: ActiveRun;
  session: SessionInfo;
  model: ResolvedModel;
  /** The system prompt of the run's steps: counted in the estimates. */
  system: string;
}

export interface Compaction {
  record: CompactionRecord;
  /** The prompt the model now gets (system, summary, kept turns, later messages); absent when it failed. */
  prompt?: PromptItem[];
  /** Why the summary failed (stored on the summary message too). */
  error?: MessageError;
}

/** The prompt for a window of the history: the system message, then the window as the model gets it. */
function promptOf(scope: CompactionScope, window: HistoryWindow): LanguageModelV3Message[] {
  return [{ role: "system", content: scope.system }, ...windowPromptMessages(window)];
}

/** The run's prompt as stored now: the system message, then the history from the latest compaction on. */
function runPrompt(scope: CompactionScope): PromptItem[] {
  return [{ role: "system", content: scope.system }, ...storedPrompt(scope.rt.store, scope.session.id, scope.model.wire)];
}

/**
 * One model call without tools, through the same stream and retries as a step: the summary text and its usage.
 * An error the provider sends inside the stream is thrown.
 */
async function summarise(scope: CompactionScope, text: string): Promise<{ text: string; usage?: LanguageModelV3Usage }> {
  const { model, run } = scope;
  const stream = await openModelStream({
    model: model.language,
    prompt: [
      { role: "system", content: SUMMARY_SYSTEM },
      { role: "user", content: [{ type: "text", text }] },
    ],
    tools: [],
    abortSignal: run.signal,
    maxRetries: MODEL_MAX_RETRIES,
  });
  let summary = "";
  let usage: LanguageModelV3Usage | undefined;
  let failure: { error: unknown } | undefined;
  await readModelStream(stream, run.signal, (part) => {
    if (part.type === "text-delta") summary += part.delta;
    else if (part.type === "finish") usage = part.usage;
    else if (part.type === "error") failure ??= { error: part.error };
  });
  if (failure) throw failure.error;
  // The stream was cut by the run's abort.
  if (run.signal.aborted) throw run.signal.reason;
  return { text: summary, ...(usage ? { usage } : {}) };
}

/** Stores the marker and the summary message (empty until the summary arrives); returns the summary message. */
function storeMarker(scope: CompactionScope, trigger: CompactionTrigger, tailStartID: string | undefined): AssistantMessage {
  const { rt, run, session, model } = scope;
  const marker: UserMessage = {
    id: newId("msg"),
    sessionID: session.id,
    role: "user",
    time: { created: Date.now() },
    agent: COMPACTION_AGENT,
    model: { providerID: model.providerID, modelID: model.modelID },
  };
  const fields: CompactionPartFields = {
    auto: trigger !== "manual",
    ...(trigger === "context-error" ? { overflow: true } : {}),
    ...(tailStartID ? { tail_start_id: tailStartID } : {}),
  };
  const summary: AssistantMessage = {
    ...newAssistantMessage(session.id, marker.id, model, session.directory),
    summary: true,
    agent: COMPACTION_AGENT,
  };
  rt.store.transaction(() => {
    rt.store.addMessage(marker);
    rt.store.upsertPart({ id: newId("prt"), sessionID: session.id, messageID: marker.id, type: "compaction", ...fields } as Part);
    if (run.kind === "compact") rt.runs.setUserMessage(run, marker.id, null);
    rt.store.addMessage(summary);
    rt.runs.addAssistantMessage(run, summary.id);
  });
  return summary;
}

/**
 * Summarises the oldest turns of the session with the run's model and stores the summary as a compaction (see
 * session/compaction.ts); the most recent turns that fit in half the budget stay verbatim. Undefined when there is
 * nothing to summarise. A failed or aborted summary is stored as such, and the history stays as it was.
 */
export async function compactHistory(scope: CompactionScope, trigger: CompactionTrigger, tokensBefore?: number): Promise<Compaction | undefined> {
  const { rt, run, session, model } = scope;
  const window = historyWindow(rt.store.messages(session.id));
  const before = tokensBefore ?? estimateTokens(promptOf(scope, window));
  const budget = historyBudget(model.info?.limit);
  const plan = planCompaction(window, Math.floor(Math.min(budget ?? before, before) / 2));
  if (!plan) return undefined;
  const summary = storeMarker(scope, trigger, plan.tailStartID);
  const record: CompactionRecord = {
    recorded_at: Date.now(),
    run_id: run.id,
    message_id: summary.id,
    trigger,
    success: false,
    messages: plan.head.length,
    tokens_before: before,
    ...(budget !== undefined ? { budget } : {}),
    ...(plan.tailStartID ? { tail_start_id: plan.tailStartID } : {}),
  };
  // On record from the start: a crash during the summary still leaves what was being summarised, and why.
  rt.store.mergeDiagnostics(summary.id, { compaction: record });
  run.stage = "model";
  const instruction = "Write the summary of the conversation above now.";
  const room = budget === undefined ? Infinity : budget * 4 - SUMMARY_SYSTEM.length - instruction.length;
  let error: MessageError | undefined;
  try {
    const result = await summarise(scope, `${fitTranscript(transcript(window, plan.head), room)}\n\n${instruction}`);
    const text = result.text.trim();
    if (!text) throw new Error("the model answered with an empty summary");
    const tokens = toTokens(result.usage);
    const now = Date.now();
    rt.store.upsertPart({ id: newId("prt"), sessionID: session.id, messageID: summary.id, type: "text", text, time: { start: record.recorded_at, end: now } });
    Object.assign(summary, { finish: "stop", tokens, cost: tokenCost(model.info?.cost, tokens) });
  } catch (thrown) {
    error = run.signal.aborted ? { name: "MessageAbortedError", data: { message: ABORTED_MESSAGE } } : toMessageError(thrown, model.providerID);
    summary.error = error;
    record.error_message = error.data.message ?? errorText(thrown);
  }
  summary.time.completed = Date.now();
  rt.store.updateMessage(summary);
  let prompt: PromptItem[] | undefined;
  if (!error) {
    prompt = runPrompt(scope);
    record.success = true;
    record.tokens_after = estimateTokens(prompt);
  }
  rt.store.mergeDiagnostics(summary.id, { compaction: record });
  rt.events.emit("session.compacted", session.id, { runID: run.id, compaction: record });
  return { record, ...(prompt ? { prompt } : {}), ...(error ? { error } : {}) };
}

/**
 * Keeps a run's history within the model's context: before a step, compacts when the estimate is over the budget;
 * after a step that the provider refused for its length, compacts once so the step can be sent again. The
 * estimate is the larger of chars/4 and the last step's reported tokens plus chars/4 of what came after it.
 */
export class ContextGuard {
  private retried = false;
  /** A summary failed in this run: the next steps are not held up by asking again. */
  private failed = false;
  /** The reported size of the last step's request and answer, and how many messages it covered. */
  private measured?: { tokens: number; messages: number };
  /** How much of the run's prompt has been counted, and its characters. */
  private counted?: { prompt: readonly PromptItem[]; length: number; chars: number };

  constructor(private readonly scope: CompactionScope) {}

  /** The run's first prompt: the system message and the stored history from the latest compaction on. */
  prompt(): PromptItem[] {
    return runPrompt(this.scope);
  }

  /**
   * The run appends to its prompt, so what was counted of it is kept and a step counts only what it added: on a
   * long session the estimate costs what is new, like the step itself.
   */
  private estimate(prompt: readonly PromptItem[]): number {
    if (this.counted?.prompt !== prompt) this.counted = { prompt, length: 0, chars: 0 };
    this.counted.chars += promptChars(prompt, this.counted.length);
    this.counted.length = prompt.length;
    const chars = Math.ceil(this.counted.chars / 4);
    if (!this.measured) return chars;
    return Math.max(chars, this.measured.tokens + Math.ceil(promptChars(prompt, this.measured.messages) / 4));
  }

  private async compact(trigger: CompactionTrigger, prompt: readonly PromptItem[]): Promise<PromptItem[] | undefined> {
    const done = await compactHistory(this.scope, trigger, this.estimate(prompt));
    if (done?.prompt) this.measured = undefined;
    else this.failed = true;
    return done?.prompt;
  }

  /** The prompt to send: compacted first when it is over the budget (unchanged when that fails). */
  async beforeStep(prompt: PromptItem[]): Promise<PromptItem[]> {
    const budget = historyBudget(this.scope.model.info?.limit);
    if (budget === undefined || this.failed || this.estimate(prompt) <= budget) return prompt;
    return (await this.compact("overflow", prompt)) ?? prompt;
  }

  /**
   * Call with the prompt the step was sent, before its own messages are appended. Returns the prompt to send the
   * step again with when the provider refused it as too long and one compaction made it shorter; a second refusal
   * in the run is not retried.
   */
  async afterStep(step: Step, prompt: PromptItem[]): Promise<PromptItem[] | undefined> {
    const { input, output, reasoning, cache } = step.message.tokens;
    const reported = input + output + reasoning + cache.read + cache.write;
    if (reported > 0) this.measured = { tokens: reported, messages: prompt.length };
    if (this.retried || step.error === undefined || this.scope.run.signal.aborted || !isContextLengthError(step.error)) return undefined;
    this.retried = true;
    return this.compact("context-error", prompt);
  }
}

export interface CompactInput {
  sessionID: string;
  /** `provider/model` that writes the summary; defaults to the config's model. */
  model?: string;
}

export interface CompactResult {
  sessionID: string;
  runID: string;
  outcome: RunOutcome;
  compaction: CompactionRecord;
  error?: MessageError;
  abort?: AbortDiagnostic;
}

/**
 * `ode session compact`: summarises the session's older turns now, as a run of kind `compact` (one run per session,
 * abortable, recorded like any other). Throws NothingToCompactError when nothing was said since the last summary.
 */
export async function compactSession(rt: Runtime, input: CompactInput): Promise<CompactResult> {
  const session = rt.store.getSession(input.sessionID);
  const spec = modelSpec(rt.config, pickModelName(rt.config, input.model, rt.env), rt.env);
  if (historyWindow(rt.store.messages(session.id)).messages.length === 0) throw new NothingToCompactError(session.id);
  const run = rt.runs.start(session.id, "compact");
  let outcome: RunOutcome = "error";
  try {
    const model = { ...(await loadModel(spec)), info: await modelInfo(rt.config, spec.providerID, spec.modelID, spec.type) };
    const system = systemPrompt(session.directory, loadInstructions(session.directory, rt.env).text);
    const done = await compactHistory({ rt, run, session, model, system }, "manual");
    // Checked before the run started; a message deleted since is the only way here.
    if (!done) throw new NothingToCompactError(session.id);
    outcome = run.interrupt ? "aborted" : done.record.success ? "completed" : "error";
    return {
      sessionID: session.id,
      runID: run.id,
      outcome,
      compaction: done.record,
      ...(done.error ? { error: done.error } : {}),
      ...(run.interrupt ? { abort: run.interrupt } : {}),
    };
  } finally {
    rt.runs.finish(run, run.interrupt ? "aborted" : outcome);
    rt.store.touchSession(session.id);
  }
}
