import { APICallError, type LanguageModelV3Message, type LanguageModelV3ToolResultPart } from "@ai-sdk/provider";
import type { ModelLimits } from "../provider/catalog.js";
import { compactionPartOf, isCompletedSummary, isSummary } from "../session/compaction.js";
import { chatCompletionsJSON, type WireFormat } from "../provider/wire.js";
import { promptCacheOf, type CacheEntry, type CachedMessage } from "../session/prompt-cache.js";
import type { MessageWithParts, Part } from "../session/schema.js";
import type { Store } from "../session/store.js";
import { PROMPT_FORMAT, PROMPT_PART_TYPES, toPromptMessages, userText } from "./history.js";
import type { PromptItem } from "./model-stream.js";

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

function contentChars(message: PromptItem): number {
  if (message.role === "serialised") return message.chars;
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
export function estimateTokens(messages: readonly PromptItem[]): number {
  return Math.ceil(promptChars(messages) / 4);
}

/** The characters of `messages[from..]` that the estimate counts. */
export function promptChars(messages: readonly PromptItem[], from = 0): number {
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

/**
 * The window in the order the model gets it: the summary as the answer to SUMMARY_QUESTION, then the messages after
 * it, with CONTINUE_PROMPT between when they do not start with the user. `convert` turns stored messages into
 * prompt items, `text` a user's text.
 */
function windowLayout<M extends MessageWithParts, T>(
  window: HistoryWindow<M>,
  convert: (messages: M[]) => T[],
  startsWithUser: (items: T[]) => boolean,
  text: (text: string) => T,
): T[] {
  const rest = convert(window.messages);
  if (!window.compaction) return rest;
  const summary = convert([window.compaction.summary]);
  const resume = startsWithUser(rest) ? [] : [text(CONTINUE_PROMPT)];
  return [text(SUMMARY_QUESTION), ...summary, ...resume, ...rest];
}

/** The window as the model gets it (`windowLayout`), converted by `convert`. */
export function windowPromptMessages<M extends MessageWithParts>(
  window: HistoryWindow<M>,
  convert: (messages: M[]) => LanguageModelV3Message[] = toPromptMessages,
): LanguageModelV3Message[] {
  return windowLayout(window, convert, (rest) => rest[0]?.role === "user", userText);
}

/** A stored message as the prompt needs it (`value`), with only what the window looks at kept beside. */
interface PromptEntry<V> extends MessageWithParts {
  value: V;
}

/** What the prompt cache keeps of a message's prompt messages. */
function cacheEntry(prompt: LanguageModelV3Message[]): CacheEntry {
  return { prompt: JSON.stringify(prompt), wire: Buffer.from(prompt.map(chatCompletionsJSON).join(",")), chars: promptChars(prompt) };
}

/**
 * A session's history window, each message with its `value`: read from its prompt cache entry (`read`) or, for one
 * without, converted from its parts, cached, and made from the conversion (`made`). Only infos and compaction parts
 * are kept beside, so the run never holds the parsed parts of the whole session at once.
 */
function storedWindow<K extends keyof CacheEntry, V>(
  store: Store,
  sessionID: string,
  rows: Iterable<CachedMessage<K>>,
  read: (cached: Pick<CacheEntry, K>) => V,
  made: (prompt: LanguageModelV3Message[], entry: CacheEntry) => V,
): HistoryWindow<PromptEntry<V>> {
  const compactions = new Map<string, Part[]>();
  for (const part of store.partsOfType(sessionID, "compaction")) compactions.set(part.messageID, [...(compactions.get(part.messageID) ?? []), part]);
  const entries: Array<PromptEntry<V | undefined>> = [];
  const uncached: Array<PromptEntry<V | undefined>> = [];
  for (const { info, cached } of rows) {
    const entry = { info, parts: compactions.get(info.id) ?? [], value: cached && read(cached) };
    entries.push(entry);
    if (!cached) uncached.push(entry);
  }
  const converted = promptCacheOf(store).fill(sessionID, uncached.map((entry) => entry.info), PROMPT_PART_TYPES, PROMPT_FORMAT, (message) => {
    const prompt = toPromptMessages([message]);
    const entry = cacheEntry(prompt);
    return { value: made(prompt, entry), entry };
  });
  uncached.forEach((entry, i) => (entry.value = converted[i]!));
  return historyWindow(entries as Array<PromptEntry<V>>);
}

/** One stored message of a serialised history: whether it is the user's, its request JSON, and its size. */
interface WirePiece {
  user: boolean;
  wire: Buffer;
  chars: number;
}

const COMMA = Buffer.from(",");

/**
 * A session's history as the model gets it, from its latest compaction on, read from the prompt cache (filled where
 * it has no entry). For a model with a `wire` format, one item: the history as that request format has it, which
 * is neither converted nor stringified again; for others, the prompt messages.
 */
export function storedPrompt(store: Store, sessionID: string, wire?: WireFormat): PromptItem[] {
  const cache = promptCacheOf(store);
  if (!wire) {
    const read = (cached: Pick<CacheEntry, "prompt">) => JSON.parse(cached.prompt) as LanguageModelV3Message[];
    const window = storedWindow(store, sessionID, cache.prompts(sessionID, PROMPT_FORMAT), read, (prompt) => prompt);
    return windowPromptMessages(window, (list) => list.flatMap((entry) => entry.value));
  }
  const window = storedWindow(store, sessionID, cache.wires(sessionID, PROMPT_FORMAT), (cached) => cached, (_, entry) => entry);
  const pieces = windowLayout<PromptEntry<Pick<CacheEntry, "wire" | "chars">>, WirePiece>(
    window,
    (list) => list.filter((entry) => entry.value.wire.length > 0).map(({ info, value }) => ({ user: info.role === "user", ...value })),
    (rest) => rest[0]?.user === true,
    (text) => ({ user: true, wire: Buffer.from(chatCompletionsJSON(userText(text))), chars: promptChars([userText(text)]) }),
  );
  if (pieces.length === 0) return [];
  return [
    {
      role: "serialised",
      format: wire,
      wire: Buffer.concat(pieces.flatMap((piece, i) => (i === 0 ? [piece.wire] : [COMMA, piece.wire]))),
      chars: pieces.reduce((sum, piece) => sum + piece.chars, 0),
    },
  ];
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
