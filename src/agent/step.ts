import type { LanguageModelV3Message, LanguageModelV3Usage } from "@ai-sdk/provider";
import { newId } from "../ids.js";
import type { Runtime } from "../runtime.js";
import { errorText } from "../session/errors.js";
import type { ActiveRun } from "../session/runs.js";
import type { AssistantMessage, Part, ToolPart } from "../session/schema.js";
import { ToolError } from "../tool/tool.js";
import { toPromptMessages } from "./history.js";
import type { ModelStreamPart } from "./model-stream.js";
import type { RunTools } from "./run-tools.js";
import { addTokens, toTokens } from "./tokens.js";
import { tokenCost, type ModelCost } from "../provider/catalog.js";
import { runToolCall } from "./tool-call.js";

const TEXT_FLUSH_MS = 250;

type TextLikePart = Extract<Part, { type: "text" | "reasoning" }>;

/** One step: one model call, streamed into parts of its own assistant message, with the tools it called. */
export class Step {
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
  /** Whether anything but the stream's opening arrived: the step-start part is written with the first of it. */
  started = false;
  /** The model's own end of the call (its finish, or an error it reported in the stream). */
  private ending?: { reason: string; usage?: LanguageModelV3Usage };

  constructor(
    private readonly rt: Runtime,
    private readonly run: ActiveRun,
    readonly message: AssistantMessage,
    private readonly tools: RunTools,
    private readonly prices?: ModelCost,
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
  promptMessages(): LanguageModelV3Message[] {
    return toPromptMessages([{ info: this.message, parts: this.parts }]);
  }

  toolPart(callID: string, toolName: string): ToolPart {
    let part = this.toolParts.get(callID);
    if (!part) {
      part = this.add<ToolPart>({ ...this.base(), type: "tool", tool: toolName, callID, state: { status: "pending", input: {} } });
      this.toolParts.set(callID, part);
    }
    return part;
  }

  /**
   * A complete tool call from the model: its input parsed and, for a tool of this run, executed at once while the
   * stream goes on. A call that cannot run is recorded as a failed call the model reads in the next step.
   */
  call(callID: string, toolName: string, rawInput: string): void {
    const part = this.toolPart(callID, toolName);
    let input: unknown;
    try {
      input = rawInput.trim() === "" ? {} : JSON.parse(rawInput);
    } catch {
      this.toolFailed(callID, toolName, rawInput, new ToolError(`invalid input for ${toolName}: not JSON: ${rawInput.slice(0, 200)}`));
      return;
    }
    const def = this.tools.byName.get(toolName);
    if (!def) {
      const available = [...this.tools.byName.keys()].join(", ") || "none";
      this.toolFailed(callID, toolName, input, new ToolError(`unknown tool ${toolName}; the tools are: ${available}`));
      return;
    }
    if (part.state.status === "pending") part.state = { status: "pending", input };
    // runToolCall records a failure on the part itself; the model reads it from there in the next step.
    const execution = runToolCall(this.rt, this.run, part, def, input, this.message.path.cwd, "tool").catch(() => {});
    this.executions.add(execution);
    void execution.then(() => this.executions.delete(execution));
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
    this.rt.events.emit("message.part.delta", this.message.sessionID, { messageID: this.message.id, partID: part.id, partType: type, delta });
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
    this.started = true;
    this.add({ ...this.base(), type: "step-start" });
  }

  /** The model said how the call ended; the step-finish part waits until the tools it called have settled. */
  end(reason: string, usage?: LanguageModelV3Usage): void {
    this.ending = { reason, ...(usage ? { usage } : {}) };
  }

  /**
   * Writes the step-finish part once the stream and the tools are done. A stream that ended with neither a finish
   * nor any output is an error: the provider closed the connection without an answer.
   */
  settle(): void {
    if (this.ending) this.stepFinish(this.ending.reason, this.ending.usage);
    else if (this.started) this.stepFinish("other");
    else this.error ??= new Error("No output generated: the model stream ended without a finish");
  }

  private stepFinish(reason: string, usage?: LanguageModelV3Usage): void {
    const tokens = toTokens(usage);
    this.finish = reason;
    const cost = tokenCost(this.prices, tokens);
    this.message.tokens = addTokens(this.message.tokens, tokens);
    this.message.cost += cost;
    this.message.finish = reason;
    this.add({ ...this.base(), type: "step-finish", reason, tokens, cost });
  }

  private toolFailed(callID: string, toolName: string, input: unknown, error: unknown): void {
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

/** Feeds one part of the provider's stream into the step. */
export function handleStreamPart(step: Step, part: ModelStreamPart): void {
  if (part.type === "stream-start") return;
  if (!step.started) step.stepStart();
  switch (part.type) {
    case "text-start":
      step.textPart(part.id, "text");
      break;
    case "text-delta":
      step.delta(part.id, "text", part.delta);
      break;
    case "text-end":
      step.endText(part.id, "text");
      break;
    case "reasoning-start":
      step.textPart(part.id, "reasoning");
      break;
    case "reasoning-delta":
      step.delta(part.id, "reasoning", part.delta);
      break;
    case "reasoning-end":
      step.endText(part.id, "reasoning");
      break;
    case "tool-input-start":
      step.toolPart(part.id, part.toolName);
      break;
    case "tool-call":
      step.call(part.toolCallId, part.toolName, part.input);
      break;
    case "finish":
      step.end(part.finishReason.unified, part.usage);
      break;
    case "error":
      step.error = part.error;
      step.end("error");
      break;
    default:
      break;
  }
}
