import { describe, expect, it } from "vitest";
import { z } from "zod";
import { readTool } from "../../src/tool/read.js";
import { defineTool, ToolError, ToolInterruptedError } from "../../src/tool/tool.js";
import { makeContext } from "./context.js";

const echo = defineTool({
  name: "echo",
  description: "prints its text n times",
  inputSchema: z.object({ text: z.string(), times: z.number().int() }),
  async execute(input) {
    return { title: "echo", output: `${input.text}\n`.repeat(input.times), metadata: {} };
  },
});

describe("defineTool: the one wrapper every tool goes through", () => {
  it("validates input and names the field, the same way for every tool", async () => {
    await expect(echo.run({ text: "a", times: 1.5 }, makeContext())).rejects.toThrow(
      new ToolError("invalid input for echo: times: Invalid input: expected int, received number"),
    );
    await expect(readTool.run({}, makeContext())).rejects.toThrow(/^invalid input for read: filePath: /);
  });

  it("does not start a call once the run is cancelled", async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await echo.run({ text: "a", times: 1 }, makeContext({ abortSignal: controller.signal })).catch((e) => e);
    expect(error).toBeInstanceOf(ToolInterruptedError);
    expect(error.metadata).toEqual({ interrupted: true });
  });

  it("truncates any tool's output over the limits and saves the full text", async () => {
    const result = await echo.run({ text: "line", times: 5000 }, makeContext());
    expect(result.metadata).toMatchObject({ truncated: true, outputPath: expect.stringContaining("tool-output") });
    expect(result.output).toMatch(/^\[output truncated: showing the last 2000 lines/);
    const small = await echo.run({ text: "line", times: 2 }, makeContext());
    expect(small).toEqual({ title: "echo", output: "line\nline\n", metadata: {} });
  });
});
