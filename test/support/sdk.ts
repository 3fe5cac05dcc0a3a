import { tool, type TextStreamPart, type ToolSet } from "ai";
import { z } from "zod";

/** A tool for driving the AI SDK's loop in tests: adds two numbers and records each call's input. */
export function addTool(calls: unknown[]) {
  return tool({
    description: "Add two numbers",
    inputSchema: z.object({ a: z.number(), b: z.number() }),
    execute: async (input) => {
      calls.push(input);
      return input.a + input.b;
    },
  });
}

export async function collect<T extends ToolSet>(stream: AsyncIterable<TextStreamPart<T>>): Promise<TextStreamPart<T>[]> {
  const parts: TextStreamPart<T>[] = [];
  for await (const part of stream) parts.push(part);
  return parts;
}
