// The SDK's path for a turn on a long session: the history (a JSON file of the prompt messages) parsed once, then
// the two steps of a one-tool turn sent through the provider's own doStream, which converts and stringifies the
// whole prompt on each step, in one process, against the same loopback model. No database and no agent loop: what
// an agent that hands its history to these providers as messages pays for it.
// `node bench/floor-long-turn.mjs BASE_URL [HISTORY_FILE]`.
import fs from "node:fs";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";

const [baseURL, historyFile] = process.argv.slice(2);
const history = historyFile ? JSON.parse(fs.readFileSync(historyFile, "utf8")) : [];
const prompt = [{ role: "system", content: "You are a coding agent." }, ...history, { role: "user", content: [{ type: "text", text: "say hi with bash" }] }];
const model = createOpenAICompatible({ name: "mock", baseURL })("m");
const tools = [
  { type: "function", name: "bash", description: "Run a shell command", inputSchema: { type: "object", properties: { command: { type: "string" } }, required: ["command"] } },
];

async function step() {
  const { stream } = await model.doStream({ prompt, tools });
  const calls = [];
  for await (const part of stream) if (part.type === "tool-call") calls.push(part);
  return calls;
}

const [call] = await step();
const { toolCallId, toolName } = call;
prompt.push({ role: "assistant", content: [{ type: "tool-call", toolCallId, toolName, input: JSON.parse(call.input) }] });
prompt.push({ role: "tool", content: [{ type: "tool-result", toolCallId, toolName, output: { type: "text", value: "hi\n" } }] });
await step();
