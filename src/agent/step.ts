import { tool, type LanguageModelUsage, type ModelMessage, type streamText, type ToolSet } from "ai";
import { newId } from "../ids.js";
import type { Runtime } from "../runtime.js";
import { errorText } from "../session/errors.js";
import type { ActiveRun } from "../session/runs.js";
import type { AssistantMessage, Part, ToolPart } from "../session/schema.js";
import type { ToolDefinition } from "../tool/tool.js";
import { toModelMessages } from "./history.js";
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

  constructor(
    private readonly rt: Runtime,
    private readonly run: ActiveRun,
    readonly message: AssistantMessage,
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

  tools(enabled: Record<string, boolean> = {}): ToolSet {
    const set: ToolSet = {};
    for (const def of this.rt.tools) if (enabled[def.name] !== false) set[def.name] = this.wrap(def);
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
    this.add({ ...this.base(), type: "step-start" });
  }

  stepFinish(reason: string, usage: LanguageModelUsage): void {
    const tokens = toTokens(usage);
    this.finish = reason;
    const cost = tokenCost(this.prices, tokens);
    this.message.tokens = addTokens(this.message.tokens, tokens);
    this.message.cost += cost;
    this.message.finish = reason;
    this.add({ ...this.base(), type: "step-finish", reason, tokens, cost });
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

export function handleStreamPart(step: Step, part: FullStreamPart): void {
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
