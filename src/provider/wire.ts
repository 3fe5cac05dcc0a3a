import type { LanguageModelV3Message, LanguageModelV3ToolResultPart } from "@ai-sdk/provider";
import { secureJsonParse } from "@ai-sdk/provider-utils";
import { OdeError } from "../session/errors.js";

/**
 * The request formats whose history ode can send already serialised: a message is converted and stringified once,
 * when the prompt cache is filled, instead of by the provider on every step of every run.
 */
export type WireFormat = "chat-completions";

/** Stored history could not be sent as it is: a shape ode does not store, or a request that lost it. */
export class SerialisedHistoryError extends OdeError {
  override name = "SerialisedHistoryError";
}

/**
 * A prompt message as the JSON the chat-completions providers (`@ai-sdk/openai-compatible`) put in a request's
 * `messages`: one element, or several joined by commas (a tool message per result), or "" for none. Byte for byte
 * what the SDK writes for the messages ode stores (test/provider/wire.test.ts compares the two).
 */
export function chatCompletionsJSON(message: LanguageModelV3Message): string {
  switch (message.role) {
    case "system":
      return JSON.stringify({ role: "system", content: message.content });
    case "user":
      return JSON.stringify({ role: "user", content: onlyText(message.content) });
    case "assistant": {
      let text = "";
      let reasoning = "";
      const calls: unknown[] = [];
      for (const part of message.content) {
        if (part.type === "text") text += part.text;
        else if (part.type === "reasoning") reasoning += part.text;
        else if (part.type === "tool-call") {
          calls.push({ id: part.toolCallId, type: "function", function: { name: part.toolName, arguments: callArguments(part.input) } });
        }
      }
      return JSON.stringify({
        role: "assistant",
        content: calls.length > 0 ? text || null : text,
        ...(reasoning ? { reasoning_content: reasoning } : {}),
        ...(calls.length > 0 ? { tool_calls: calls } : {}),
      });
    }
    case "tool":
      return message.content
        .filter((part) => part.type === "tool-result")
        .map((part) => JSON.stringify({ role: "tool", tool_call_id: part.toolCallId, content: resultContent(part.output) }))
        .join(",");
  }
}

/** ode stores a user's turn as one text part (`toPromptMessages`): the only user message this writes. */
function onlyText(content: Extract<LanguageModelV3Message, { role: "user" }>["content"]): string {
  const [part] = content;
  if (content.length === 1 && part?.type === "text") return part.text;
  throw new SerialisedHistoryError("only a user message of one text part can be sent as stored history");
}

/** A string that is already JSON (as the SDK parses it, prototype keys refused) is sent as it is; anything else is stringified. */
function callArguments(input: unknown): string {
  if (typeof input !== "string") return JSON.stringify(input);
  try {
    secureJsonParse(input);
    return input;
  } catch {
    return JSON.stringify(input);
  }
}

/** ode stores a tool's result as text or as an error's text (`toPromptMessages`). */
function resultContent(output: LanguageModelV3ToolResultPart["output"]): string {
  if (output.type === "text" || output.type === "error-text") return output.value;
  throw new SerialisedHistoryError(`a tool result of type ${output.type} cannot be sent as stored history`);
}
