import { APICallError, type LanguageModelV3Message, type LanguageModelV3ToolResultPart } from "@ai-sdk/provider";
import type { ModelLimits } from "../provider/catalog.js";
import { compactionPartOf, isCompletedSummary, isSummary } from "../session/compaction.js";
import { promptCacheOf } from "../session/prompt-cache.js";
import type { MessageWithParts, Part } from "../session/schema.js";
import type { Store } from "../session/store.js";
import { PROMPT_FORMAT, PROMPT_PART_TYPES, toPromptMessages } from "./history.js";

/** Reserved for the model's answer when its `limit.output` is unknown, and at most (opencode's cap too). */
export const OUTPUT_RESERVE_MAX = 32_000;

/** What the model is asked before the summary, standing in for the marker message. */
export const SUMMARY_QUESTION = "What did we do so far? Summarise the conversation up to here.";
/** Sent after a summary when no kept turn follows it: the summarised turn was the one the run was working on. */
export const CONTINUE_PROMPT =
  "Continue the task from where the summary leaves off. If it is already done, say so and stop.";

/**
 * Tokens the system prompt and history may take before a step: the context window minus a reserve for the answer
 * (`limit.output`, at most OUTPUT_RESERVE_MAX and at most half the window). Undefined when the window is unknown:
 * then only a provider's "context length exceeded" error sets compaction off.
 */
export function historyBudget(limit: ModelLimits | undefined): number | undefined {
  const context = limit?.context;
  if (!context || context <= 0) return undefined;
  const reserve = Math.min(limit.output ?? OUTPUT_RESERVE_MAX, OUTPUT_RESERVE_MAX, Math.floor(context / 2));
  return context - reserve;
}

function contentChars(message: LanguageModelV3Message): number {
  if (message.role === "system") return message.content.length;
  let chars = 0;
  for (const part of message.content) {
    if (part.type === "text" || part.type === "reasoning") chars += part.text.length;
    else if (part.type === "tool-call") chars += part.toolName.length + JSON.stringify(part.input ?? {}).length;
    else if (part.type === "tool-result") chars += part.toolName.length + resultChars(part.output);
  }
  return chars;
}

/** A tool result's text is counted by its length: stringifying each one would serialise the whole history again. */
function resultChars(output: LanguageModelV3ToolResultPart["output"]): number {
  return output.type === "text" || output.type === "error-text" ? output.value.length : JSON.stringify(output).length;
}

/**
 * About four characters per token over a prompt (system message included): rough, but the same for every model and
 * cheap enough to run before each step.
 */
export function estimateTokens(messages: readonly LanguageModelV3Message[]): number {
  return Math.ceil(promptChars(messages) / 4);
}

/** The characters of `messages[from..]` that the estimate counts. */
export function promptChars(messages: readonly LanguageModelV3Message[], from = 0): number {
  let chars = 0;
  for (let i = from; i < messages.length; i++) chars += contentChars(messages[i]!);
  return chars;
}

/** The latest completed compaction of a session and the messages the model still sees verbatim after it. */
export interface HistoryWindow<M extends MessageWithParts = MessageWithParts> {
  compaction?: { marker: M; summary: M };
  /** Kept turns (from the compaction's `tail_start_id`), then what came after the summary, in that order. */
  messages: M[];
}

/** The compaction messages of every compaction: none of them is sent as it is. */
function isCompactionMessage(message: MessageWithParts): boolean {
  return isSummary(message.info) || compactionPartOf(message) !== undefined;
}

export function historyWindow<M extends MessageWithParts>(stored: readonly M[]): HistoryWindow<M> {
  let summaryIndex = -1;
  for (let i = stored.length - 1; i >= 0 && summaryIndex < 0; i--) if (isCompletedSummary(stored[i]!.info)) summaryIndex = i;
  const summary = stored[summaryIndex];
  const parentID = summary?.info.role === "assistant" ? summary.info.parentID : undefined;
  const markerIndex = parentID ? stored.findIndex((m) => m.info.id === parentID) : -1;
  const marker = stored[markerIndex];
  const part = marker && compactionPartOf(marker);
  if (!summary || !marker || !part) return { messages: stored.filter((m) => !isCompactionMessage(m)) };
  const tailIndex = part.tail_start_id ? stored.findIndex((m) => m.info.id === part.tail_start_id) : -1;
  const tail = tailIndex >= 0 && tailIndex < markerIndex ? stored.slice(tailIndex, markerIndex) : [];
  const after = stored.slice(summaryIndex + 1);
  return { compaction: { marker, summary }, messages: [...tail, ...after].filter((m) => !isCompactionMessage(m)) };
}

const userText = (text: string): LanguageModelV3Message => ({ role: "user", content: [{ type: "text", text }] });

/**
 * The window as the model gets it: the summary as the answer to SUMMARY_QUESTION, then the messages after it.
 * `convert` turns stored messages into prompt messages (a reader that converted them already hands those out).
 */
export function windowPromptMessages<M extends MessageWithParts>(
  window: HistoryWindow<M>,
  convert: (messages: M[]) => LanguageModelV3Message[] = toPromptMessages,
): LanguageModelV3Message[] {
  const rest = convert(window.messages);
  if (!window.compaction) return rest;
  const summary = convert([window.compaction.summary]);
  const resume = rest[0]?.role === "user" ? [] : [userText(CONTINUE_PROMPT)];
  return [userText(SUMMARY_QUESTION), ...summary, ...resume, ...rest];
}

/** A stored message as the prompt needs it: converted once, with only what the window looks at kept beside. */
interface PromptEntry extends MessageWithParts {
  prompt: LanguageModelV3Message[];
}

/**
 * A session's history as the model gets it, from its latest compaction on. Each message comes from the prompt
 * cache, or is converted from its parts and cached; only infos and compaction parts are kept beside, so the run
 * never holds the parsed parts of the whole session at once.
 */
export function storedPrompt(store: Store, sessionID: string): LanguageModelV3Message[] {
  const compactions = new Map<string, Part[]>();
  for (const part of store.partsOfType(sessionID, "compaction")) compactions.set(part.messageID, [...(compactions.get(part.messageID) ?? []), part]);
  const cache = promptCacheOf(store);
  const entries: PromptEntry[] = [];
  const uncached: PromptEntry[] = [];
  for (const { info, cached } of cache.messages(sessionID, PROMPT_FORMAT)) {
    const entry = { info, parts: compactions.get(info.id) ?? [], prompt: cached === undefined ? [] : (JSON.parse(cached) as LanguageModelV3Message[]) };
    entries.push(entry);
    if (cached === undefined) uncached.push(entry);
  }
  const converted = cache.fill(sessionID, uncached.map((entry) => entry.info), PROMPT_PART_TYPES, PROMPT_FORMAT, (message) => toPromptMessages([message]));
  uncached.forEach((entry, i) => (entry.prompt = converted[i]!));
  return windowPromptMessages(historyWindow(entries), (list) => list.flatMap((entry) => entry.prompt));
}

/** What a compaction summarises and what it keeps. */
export interface CompactionPlan {
  /** Verbatim messages to summarise, oldest first (after the earlier summary, if any). */
  head: MessageWithParts[];
  /** The first message kept verbatim; undefined when every turn is summarised. */
  tailStartID?: string;
}

/**
 * Keeps the most recent turns (a user message and what answered it) verbatim while they fit in `keepTokens`, and
 * summarises the rest; at least one turn is always summarised, and a turn is never split. Undefined when there is
 * nothing new since the last summary.
 */
export function planCompaction(window: HistoryWindow, keepTokens: number): CompactionPlan | undefined {
  const turns: MessageWithParts[][] = [];
  for (const message of window.messages) {
    if (message.info.role === "user" || turns.length === 0) turns.push([message]);
    else turns.at(-1)!.push(message);
  }
  if (turns.length === 0) return undefined;
  let kept = 0;
  let tokens = 0;
  while (kept < turns.length - 1) {
    const size = estimateTokens(toPromptMessages(turns[turns.length - 1 - kept]!));
    if (tokens + size > keepTokens) break;
    tokens += size;
    kept++;
  }
  const head = turns.slice(0, turns.length - kept).flat();
  const tail = turns[turns.length - kept];
  return { head, ...(tail ? { tailStartID: tail[0]!.info.id } : {}) };
}

// The wordings providers use: OpenAI (`context_length_exceeded`, "maximum context length"), Anthropic ("prompt is
// too long"), llama.cpp and vLLM ("exceeds the available context size", "too many tokens"), Gemini ("input token
// count ... exceeds"), and a plain 413 body.
const CONTEXT_LENGTH =
  /context[_ -]length|maximum context|context (?:window|size)|too many tokens|prompt is too long|input token count|exceeds? the (?:model'?s? )?(?:maximum|context|token)|request too large/i;

/** A provider refused the request because the conversation does not fit the model's context. */
export function isContextLengthError(error: unknown): boolean {
  if (APICallError.isInstance(error)) {
    if (error.statusCode !== undefined && error.statusCode !== 400 && error.statusCode !== 413) return false;
    return CONTEXT_LENGTH.test(`${error.message} ${error.responseBody ?? ""}`);
  }
  // An error event inside the stream arrives as the provider's error object.
  if (error instanceof Error) return CONTEXT_LENGTH.test(error.message);
  return error !== null && typeof error === "object" && CONTEXT_LENGTH.test(JSON.stringify(error));
}
