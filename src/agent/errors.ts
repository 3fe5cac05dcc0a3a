import { APICallError, LoadAPIKeyError } from "@ai-sdk/provider";
import type { MessageError } from "../session/schema.js";

/** Maps whatever a provider threw to the named union stored on assistant messages. */
export function toMessageError(error: unknown, providerID: string): MessageError {
  if (APICallError.isInstance(error)) {
    return {
      name: "APIError",
      data: {
        message: error.message,
        ...(error.statusCode !== undefined ? { statusCode: error.statusCode } : {}),
        isRetryable: error.isRetryable,
        ...(error.responseBody ? { responseBody: error.responseBody } : {}),
        ...retryAfterField(error.responseHeaders),
      },
    };
  }
  if (LoadAPIKeyError.isInstance(error)) return { name: "ProviderAuthError", data: { providerID, message: error.message } };
  const message = error instanceof Error ? error.message : typeof error === "string" ? error : JSON.stringify(error);
  // Providers report in-stream failures (an `error` event in the SSE body) as plain objects or errors.
  if (error && typeof error === "object" && !(error instanceof Error)) return { name: "APIError", data: { message, isRetryable: false } };
  return { name: "UnknownError", data: { message } };
}

/** The provider's own wait before a retry (`retry-after-ms`, or `retry-after` in seconds or as a date), in ms. */
export function retryAfterMs(headers: Record<string, string> | undefined): number | undefined {
  if (!headers) return undefined;
  const ms = Number(headers["retry-after-ms"]);
  if (headers["retry-after-ms"] && Number.isFinite(ms) && ms >= 0) return Math.round(ms);
  const value = headers["retry-after"];
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.round(seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function retryAfterField(headers: Record<string, string> | undefined): { retryAfterMs?: number } {
  const ms = retryAfterMs(headers);
  return ms === undefined ? {} : { retryAfterMs: ms };
}
