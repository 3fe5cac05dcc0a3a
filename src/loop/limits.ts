import type { MessageError } from "../session/schema.js";

/** Error codes and types providers use for quotas and rate limits (OpenAI's `code`, Anthropic's `type`). */
const LIMIT_CODES = new Set(["insufficient_quota", "rate_limit_exceeded", "rate_limit_error", "quota_exceeded", "billing_hard_limit_reached"]);

export interface UsageLimit {
  /** How long the provider asked to wait, when it said. */
  retryAfterMs?: number;
}

function errorFields(body: unknown): { code?: unknown; type?: unknown } {
  if (typeof body !== "string") return {};
  try {
    const parsed = JSON.parse(body) as { error?: { code?: unknown; type?: unknown } };
    return typeof parsed?.error === "object" && parsed.error !== null ? parsed.error : {};
  } catch {
    return {};
  }
}

/**
 * A provider's rate limit or quota error, recognised by its HTTP status (429) or the error code/type fields of its
 * body, never by its message text (which a prompt or a model could echo).
 */
export function usageLimit(error: MessageError | undefined): UsageLimit | undefined {
  if (error?.name !== "APIError") return undefined;
  const data = error.data as { statusCode?: unknown; responseBody?: unknown; retryAfterMs?: unknown };
  const fields = errorFields(data.responseBody);
  const limited = data.statusCode === 429 || LIMIT_CODES.has(String(fields.code)) || LIMIT_CODES.has(String(fields.type));
  if (!limited) return undefined;
  return typeof data.retryAfterMs === "number" ? { retryAfterMs: data.retryAfterMs } : {};
}
