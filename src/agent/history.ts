import type { ModelMessage } from "ai";
import type { AssistantModelMessage, ToolModelMessage } from "ai";
import type { MessageWithParts, ToolPart } from "../session/schema.js";

function toolResultText(part: ToolPart): { type: "text" | "error-text"; value: string } {
  const state = part.state;
  if (state.status === "completed") return { type: "text", value: state.output };
  if (state.status === "error") return { type: "error-text", value: state.error };
  return { type: "error-text", value: "The tool call was interrupted before it finished." };
}

/** The stored conversation as the model sees it: the same conversion for history and for the steps of a run. */
export function toModelMessages(messages: MessageWithParts[]): ModelMessage[] {
  const out: ModelMessage[] = [];
  for (const { info, parts } of messages) {
    if (info.role === "user") {
      const text = parts
        .filter((p) => p.type === "text")
        .map((p) => (p as { text: string }).text)
        .join("\n");
      if (text) out.push({ role: "user", content: text });
      continue;
    }
    const content: AssistantModelMessage["content"] & unknown[] = [];
    const results: ToolModelMessage["content"] = [];
    for (const part of parts) {
      if (part.type === "text" && part.text) content.push({ type: "text", text: part.text });
      else if (part.type === "reasoning" && part.text) content.push({ type: "reasoning", text: part.text });
      else if (part.type === "tool") {
        content.push({ type: "tool-call", toolCallId: part.callID, toolName: part.tool, input: part.state.input ?? {} });
        results.push({ type: "tool-result", toolCallId: part.callID, toolName: part.tool, output: toolResultText(part) });
      }
    }
    if (content.length > 0) out.push({ role: "assistant", content });
    if (results.length > 0) out.push({ role: "tool", content: results });
  }
  return out;
}
