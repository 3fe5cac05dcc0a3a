import { streamText, tool, type LanguageModelUsage, type ModelMessage, type ToolSet } from "ai";
import { publish } from "../bus.js";
import { newId } from "../ids.js";
import { loadModel, modelSpec, pickModelName } from "../provider/provider.js";
import type { Runtime } from "../runtime.js";
import { ABORTED_MESSAGE } from "../session/abort.js";
import { SessionNotFoundError } from "../session/errors.js";
import type { ActiveRun, RunOutcome } from "../session/runs.js";
import type { AssistantMessage, MessageError, Part, ToolPart, UserMessage } from "../session/schema.js";
import type { ToolDefinition } from "../tool/tool.js";
import { toMessageError } from "./errors.js";
import { addTokens, toTokens } from "./tokens.js";
import { toModelMessages } from "./history.js";
import { systemPrompt } from "./system.js";
import { errorText, runToolCall } from "./tool-call.js";
import { newAssistantMessage, recordUserMessage } from "./messages.js";
import { startTitleGeneration } from "./title.js";

export const DEFAULT_MAX_STEPS = 50;
const TEXT_FLUSH_MS = 250;

export interface PromptInput {
  sessionID: string;
  text: string;
  /** `provider/model`; defaults to the config's model. */
  model?: string;
  /** Cancels the run with source `timeout` after this many milliseconds. */
  timeoutMs?: number;
}

export interface PromptResult {
  sessionID: string;
  runID: string;
  outcome: RunOutcome;
  error?: MessageError;
  userMessageID: string;
  assistantMessageIDs: string[];
  /** The final step's text. */
  text: string;
  /** Settles when the background title generation of this turn has ended (at once when there was none). */
  titleDone: Promise<void>;
}

type TextLikePart = Extract<Part, { type: "text" | "reasoning" }>;

/** One step: one model call, streamed into parts of its own assistant message, with the tools it called. */
class Step {
  /** Text and reasoning parts by stream block; a provider may reuse a block id across the two kinds. */
  private readonly textParts = new Map<string, TextLikePart>();
  /** Parts with streamed text not yet stored, and the timer that stores them. */
  private readonly unsaved = new Set<TextLikePart>();
  private flushTimer?: NodeJS.Timeout;
  private readonly toolParts = new Map<string, ToolPart>();
  private readonly parts: Part[] = [];
  /** Tool executions still settling; an abort ends the stream before they have killed their processes. */
  readonly executions = new Set<Promise<unknown>>();
  text = "";
  error?: unknown;
  finish?: string;

  constructor(
    private readonly rt: Runtime,
    private readonly run: ActiveRun,
    readonly message: AssistantMessage,
  ) {}

  private base() {
    return { id: newId("prt"), sessionID: this.message.sessionID, messageID: this.message.id };
  }

  private save(part: Part): void {
    this.rt.store.upsertPart(part);
  }

  /** Stores a new part and keeps it, in creation order, for the conversation of the next step. */
  private add<P extends Part>(part: P): P {
    this.parts.push(part);
    this.save(part);
    return part;
  }

  /** This step as the model will see it in the next one: no need to read the history back from the store. */
  modelMessages(): ModelMessage[] {
    return toModelMessages([{ info: this.message, parts: this.parts }]);
  }

  toolPart(callID: string, toolName: string): ToolPart {
    let part = this.toolParts.get(callID);
    if (!part) {
      part = this.add<ToolPart>({ ...this.base(), type: "tool", tool: toolName, callID, state: { status: "pending", input: {} } });
      this.toolParts.set(callID, part);
    }
    return part;
  }

  tools(): ToolSet {
    const set: ToolSet = {};
    for (const def of this.rt.tools) set[def.name] = this.wrap(def);
    return set;
  }

  private wrap(def: ToolDefinition) {
    return tool({
      description: def.description,
      inputSchema: def.inputSchema,
      execute: async (input: unknown, options: { toolCallId: string }) => {
        const part = this.toolPart(options.toolCallId, def.name);
        const execution = runToolCall(this.rt, this.run, part, def, input, this.message.path.cwd, "tool");
        this.executions.add(execution);
        try {
          return (await execution).output;
        } finally {
          this.executions.delete(execution);
        }
      },
    });
  }

  textPart(id: string, type: TextLikePart["type"]): TextLikePart {
    const key = `${type}:${id}`;
    const existing = this.textParts.get(key);
    if (existing) return existing;
    const part = this.add<TextLikePart>({ ...this.base(), type, text: "", time: { start: Date.now() } });
    this.textParts.set(key, part);
    return part;
  }

  delta(id: string, type: TextLikePart["type"], delta: string): void {
    const part = this.textPart(id, type);
    part.text += delta;
    if (type === "text") this.text += delta;
    publish("message.part.delta", this.message.sessionID, { messageID: this.message.id, partID: part.id, partType: type, delta });
    // Streamed text is stored at most every TEXT_FLUSH_MS, so a crash mid-answer keeps what had arrived without
    // a write per token.
    this.unsaved.add(part);
    this.flushTimer ??= setTimeout(() => this.flushText(), TEXT_FLUSH_MS);
  }

  private flushText(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    for (const part of this.unsaved) this.save(part);
    this.unsaved.clear();
  }

  endText(id: string, type: TextLikePart["type"]): void {
    this.closeText(this.textPart(id, type));
  }

  private closeText(part: TextLikePart): void {
    part.time = { start: part.time?.start ?? Date.now(), end: Date.now() };
    this.unsaved.delete(part);
    this.save(part);
  }

  stepStart(): void {
    this.add({ ...this.base(), type: "step-start" });
  }

  stepFinish(reason: string, usage: LanguageModelUsage): void {
    const tokens = toTokens(usage);
    this.finish = reason;
    this.message.tokens = addTokens(this.message.tokens, tokens);
    this.message.finish = reason;
    this.add({ ...this.base(), type: "step-finish", reason, tokens, cost: 0 });
  }

  toolFailed(callID: string, toolName: string, input: unknown, error: unknown): void {
    const part = this.toolPart(callID, toolName);
    if (part.state.status === "error") return;
    const start = part.state.status === "running" ? part.state.time.start : Date.now();
    part.state = { status: "error", input, error: errorText(error), time: { start, end: Date.now() } };
    this.save(part);
  }

  /** Ends the step's parts: tool calls cut off by an abort end as errors and open text is closed and stored. */
  closeParts(): void {
    for (const part of this.toolParts.values()) {
      if (part.state.status !== "pending" && part.state.status !== "running") continue;
      const start = part.state.status === "running" ? part.state.time.start : Date.now();
      part.state = {
        status: "error",
        input: part.state.input ?? {},
        error: "The tool call was interrupted",
        metadata: { interrupted: true },
        time: { start, end: Date.now() },
      };
      this.save(part);
    }
    for (const part of this.textParts.values()) if (part.time?.end === undefined) this.closeText(part);
    this.flushText();
  }
}

type FullStreamPart = ReturnType<typeof streamText>["fullStream"] extends AsyncIterable<infer P> ? P : never;

function handle(step: Step, part: FullStreamPart): void {
  switch (part.type) {
    case "start-step":
      step.stepStart();
      break;
    case "text-start":
      step.textPart(part.id, "text");
      break;
    case "text-delta":
      step.delta(part.id, "text", part.text);
      break;
    case "text-end":
      step.endText(part.id, "text");
      break;
    case "reasoning-start":
      step.textPart(part.id, "reasoning");
      break;
    case "reasoning-delta":
      step.delta(part.id, "reasoning", part.text);
      break;
    case "reasoning-end":
      step.endText(part.id, "reasoning");
      break;
    case "tool-input-start":
      step.toolPart(part.id, part.toolName);
      break;
    case "tool-call": {
      const toolPart = step.toolPart(part.toolCallId, part.toolName);
      if (toolPart.state.status === "pending") toolPart.state = { status: "pending", input: part.input };
      break;
    }
    case "tool-error":
      step.toolFailed(part.toolCallId, part.toolName, part.input, part.error);
      break;
    case "finish-step":
      step.stepFinish(part.finishReason, part.usage);
      break;
    case "error":
      step.error = part.error;
      break;
    default:
      break;
  }
}

/**
 * Runs one turn: stores the user message, then streams model steps (each its own assistant message) and runs the
 * tools they call until the model stops, the step limit is reached, or the run is cancelled.
 */
export async function prompt(rt: Runtime, input: PromptInput): Promise<PromptResult> {
  const session = rt.store.getSession(input.sessionID);
  const spec = modelSpec(rt.config, pickModelName(rt.config, input.model, rt.env), rt.env);
  const run = rt.runs.start(session.id, "prompt");
  const timer =
    input.timeoutMs === undefined
      ? undefined
      : setTimeout(
          () => rt.runs.cancel(session.id, { source: "timeout", reason: `run timeout of ${input.timeoutMs} ms`, via: "timeout" }),
          input.timeoutMs,
        );
  const user: UserMessage = {
    id: newId("msg"),
    sessionID: session.id,
    role: "user",
    time: { created: Date.now() },
    agent: "build",
    model: { providerID: spec.providerID, modelID: spec.modelID },
  };
  let outcome: RunOutcome = "completed";
  let error: MessageError | undefined;
  let lastText = "";
  let lastFinish: string | undefined;
  let titleDone: Promise<void> = Promise.resolve();
  try {
    rt.store.transaction(() => recordUserMessage(rt, run, user, input.text, input.text));
    const model = await loadModel(spec);
    titleDone = startTitleGeneration(rt, run, session, user, input.text, model);
    // Let a cancel that arrived with the prompt (an HTTP abort, a signal) land before the model is called; such a
    // run ends in phase `queued`, with no assistant message.
    await new Promise((resolve) => setImmediate(resolve));
    const maxSteps = rt.config.max_steps ?? DEFAULT_MAX_STEPS;
    // The history is read once per run; each step appends what it produced.
    const messages = toModelMessages(rt.store.messages(session.id));
    for (let n = 0; n < maxSteps && !run.signal.aborted; n++) {
      const message = newAssistantMessage(session.id, user.id, model, session.directory);
      rt.store.addMessage(message);
      rt.runs.addAssistantMessage(run, message.id);
      run.stage = "model";
      const step = new Step(rt, run, message);
      const result = streamText({
        model: model.language,
        system: systemPrompt(session.directory),
        messages,
        tools: step.tools(),
        abortSignal: run.signal,
        maxRetries: 1,
        onError: () => {},
      });
      try {
        for await (const part of result.fullStream) handle(step, part);
      } catch (thrown) {
        step.error = thrown;
      }
      await Promise.allSettled(step.executions);
      step.closeParts();
      lastText = step.text;
      lastFinish = step.finish;
      message.time.completed = Date.now();
      if (run.signal.aborted) {
        message.error = { name: "MessageAbortedError", data: { message: ABORTED_MESSAGE } };
      } else if (step.error !== undefined) {
        message.error = toMessageError(step.error, model.providerID);
        error = message.error;
      }
      rt.store.updateMessage(message);
      messages.push(...step.modelMessages());
      // Deleted mid-run (e.g. by `ode session delete` from the bash tool): nothing more can be stored.
      if (step.error instanceof SessionNotFoundError) throw step.error;
      if (run.signal.aborted || step.error !== undefined || step.finish !== "tool-calls") break;
    }
    if (run.interrupt) {
      outcome = "aborted";
      error = { name: "MessageAbortedError", data: { message: ABORTED_MESSAGE } };
    } else if (error) {
      outcome = "error";
    }
  } catch (thrown) {
    outcome = run.interrupt ? "aborted" : "error";
    throw thrown;
  } finally {
    if (timer) clearTimeout(timer);
    rt.runs.finish(run, outcome, lastFinish);
    rt.store.touchSession(session.id);
  }
  return {
    sessionID: session.id,
    runID: run.id,
    outcome,
    ...(error ? { error } : {}),
    userMessageID: user.id,
    assistantMessageIDs: [...run.assistantMessageIDs],
    text: lastText,
    titleDone,
  };
}
