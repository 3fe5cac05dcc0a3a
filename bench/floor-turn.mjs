// The floor for `ode run`: the same two-step tool turn (a bash call, then an answer) with the bare AI SDK and its
// provider in one process, against the same loopback model. `node bench/floor-turn.mjs BASE_URL`; the run
// benchmark times it next to `ode run` for the ratio.
import { spawn } from "node:child_process";
import { createOpenAICompatible } from "@ai-sdk/openai-compatible";
import { stepCountIs, streamText, tool } from "ai";
import { z } from "zod";

const provider = createOpenAICompatible({ name: "mock", baseURL: process.argv[2] });
const bash = tool({
  description: "Run a shell command",
  inputSchema: z.object({ command: z.string() }),
  execute: ({ command }) =>
    new Promise((resolve) => {
      const child = spawn("bash", ["-c", command], { stdio: ["ignore", "pipe", "pipe"] });
      let output = "";
      child.stdout.on("data", (d) => (output += d));
      child.on("close", () => resolve(output));
    }),
});
const result = streamText({
  model: provider("m"),
  system: "You are a coding agent.",
  messages: [{ role: "user", content: "say hi with bash" }],
  tools: { bash },
  stopWhen: stepCountIs(2),
});
for await (const part of result.fullStream) if (part.type === "text-delta") process.stdout.write(part.text);
process.stdout.write("\n");
