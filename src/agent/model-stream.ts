import { APICallError, type LanguageModelV3, type LanguageModelV3FunctionTool, type LanguageModelV3Message, type LanguageModelV3StreamPart } from "@ai-sdk/provider";
import { delay } from "../delay.js";
import { lendHistory } from "../provider/fetch.js";
import { SerialisedHistoryError, type WireFormat } from "../provider/wire.js";
import { retryAfterMs } from "./errors.js";
import { userText } from "./history.js";

/** The AI SDK's backoff, kept so retries behave as they did when ode called `streamText`. */
const FIRST_RETRY_DELAY_MS = 2000;
const BACKOFF_FACTOR = 2;
/** A provider's retry-after is obeyed when it is shorter than this (or than the backoff). */
const MAX_RETRY_AFTER_MS = 60_000;

export type ModelStreamPart = LanguageModelV3StreamPart;

/** Stored history already serialised in a model's request format (`ResolvedModel.wire`), in a prompt's order. */
export interface SerialisedHistory {
  role: "serialised";
  format: WireFormat;
  /** The messages' JSON, joined by commas. */
  wire: Buffer;
  /** The characters the token estimate counts for these messages (`promptChars`). */
  chars: number;
}

export type PromptItem = LanguageModelV3Message | SerialisedHistory;

export interface ModelRequest {
  model: LanguageModelV3;
  /**
   * System message first, then the conversation: already in the provider's format, so nothing is converted here.
   * At most one item is serialised history, in the model's `wire` format.
   */
  prompt: PromptItem[];
  /** The format the model takes serialised history in (`ResolvedModel.wire`); without it, it takes none. */
  wire?: WireFormat;
  tools: LanguageModelV3FunctionTool[];
  abortSignal: AbortSignal;
  /** A retryable failure before anything streamed (429, 5xx, a dropped connection) is sent again this many times. */
  maxRetries: number;
}

/**
 * Opens one model call's stream through the provider's `doStream`. ode's own loop replaces `streamText`, which
 * re-validated the whole prompt with zod on every step: on a long session that was most of a turn's CPU.
 */
export async function openModelStream(request: ModelRequest): Promise<ReadableStream<ModelStreamPart>> {
  const { model, tools, abortSignal } = request;
  const serialised = request.prompt.filter((item) => item.role === "serialised");
  // A stand-in that reached another provider, or a second one, would go to the model as the text it is.
  if (serialised.length > 1) throw new SerialisedHistoryError("a request takes at most one serialised history");
  const [history] = serialised;
  if (history && history.format !== request.wire) throw new SerialisedHistoryError(`this model does not take history serialised as ${history.format}`);
  const standIn = history && lendHistory(history.wire);
  const prompt = request.prompt.map((item): LanguageModelV3Message => (item.role === "serialised" ? userText(standIn!.text) : item));
  const headers = standIn?.headers;
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await model.doStream({ prompt, abortSignal, ...(headers ? { headers } : {}), ...(tools.length > 0 ? { tools, toolChoice: { type: "auto" } } : {}) });
        return result.stream;
      } catch (error) {
        if (attempt >= request.maxRetries || !APICallError.isInstance(error) || !error.isRetryable || abortSignal.aborted) throw error;
        await delay(retryDelayMs(error, attempt), abortSignal);
        if (abortSignal.aborted) throw error;
      }
    }
  } finally {
    standIn?.release();
  }
}

function retryDelayMs(error: APICallError, attempt: number): number {
  const backoff = FIRST_RETRY_DELAY_MS * BACKOFF_FACTOR ** attempt;
  const asked = retryAfterMs(error.responseHeaders);
  return asked !== undefined && (asked < MAX_RETRY_AFTER_MS || asked < backoff) ? asked : backoff;
}

/**
 * Hands each part of the stream to `onPart` until it ends. An abort cancels the stream at once, even one whose
 * provider ignores its signal, and ends the reading without an error: the run's signal says why it stopped.
 */
export async function readModelStream(stream: ReadableStream<ModelStreamPart>, signal: AbortSignal, onPart: (part: ModelStreamPart) => void): Promise<void> {
  const reader = stream.getReader();
  const cancel = () => void reader.cancel(signal.reason).catch(() => {});
  if (signal.aborted) cancel();
  else signal.addEventListener("abort", cancel, { once: true });
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || signal.aborted) return;
      onPart(value);
    }
  } finally {
    signal.removeEventListener("abort", cancel);
  }
}
