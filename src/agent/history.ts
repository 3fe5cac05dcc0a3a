import type { LanguageModelV3Message, LanguageModelV3ToolResultPart } from "@ai-sdk/provider";
import type { MessageWithParts, ToolPart } from "../session/schema.js";

type AssistantContent = Extract<LanguageModelV3Message, { role: "assistant" }>["content"];

function toolResultOutput(part: ToolPart): LanguageModelV3ToolResultPart["output"] {
  const state = part.state;
  if (state.status === "completed") return { type: "text", value: state.output };
  if (state.status === "error") return { type: "error-text", value: state.error };
  return { type: "error-text", value: "The tool call was interrupted before it finished." };
}

export const userText = (text: string): LanguageModelV3Message => ({ role: "user", content: [{ type: "text", text }] });

/** The only part types `toPromptMessages` reads: a reader of history for the model can skip the rest. */
export const PROMPT_PART_TYPES = ["text", "reasoning", "tool"] as const satisfies readonly MessageWithParts["parts"][number]["type"][];

/**
 * What `toPromptMessages`, `chatCompletionsJSON` and `promptChars` make of a message, as the prompt cache names it:
 * change it whenever one of them changes.
 */
export const PROMPT_FORMAT = 2;

/**
 * The stored conversation in the provider's own prompt format: the same conversion for history and for the steps
 * of a run. Built once per run and appended to per step, so nothing re-validates the whole history on each step.
 */
export function toPromptMessages(messages: MessageWithParts[]): LanguageModelV3Message[] {
  const out: LanguageModelV3Message[] = [];
  for (const message of messages) appendPromptMessages(out, message);
  return out;
}

function appendPromptMessages(out: LanguageModelV3Message[], { info, parts }: MessageWithParts): void {
  if (info.role === "user") {
    const text = parts
      .filter((p) => p.type === "text")
      .map((p) => (p as { text: string }).text)
      .join("\n");
    if (text) out.push({ role: "user", content: [{ type: "text", text }] });
    return;
  }
  const content: AssistantContent = [];
  const results: LanguageModelV3ToolResultPart[] = [];
  for (const part of parts) {
    if (part.type === "text" && part.text) content.push({ type: "text", text: part.text });
    else if (part.type === "reasoning" && part.text) content.push({ type: "reasoning", text: part.text });
    else if (part.type === "tool") {
      content.push({ type: "tool-call", toolCallId: part.callID, toolName: part.tool, input: part.state.input ?? {} });
      results.push({ type: "tool-result", toolCallId: part.callID, toolName: part.tool, output: toolResultOutput(part) });
    }
  }
  if (content.length > 0) out.push({ role: "assistant", content });
  if (results.length > 0) out.push({ role: "tool", content: results });
}
