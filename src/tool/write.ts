import fs from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { displayPath, resolveToolPath } from "./paths.js";
import { ToolError, defineTool } from "./tool.js";

const inputSchema = z.object({
  filePath: z.string().describe("File to write, relative to the project directory or absolute."),
  content: z.string().describe("The complete new content of the file."),
});

export const writeTool = defineTool({
  name: "write",
  description:
    "Create a file or replace its entire content; missing parent directories are created. " +
    "Prefer edit for changing part of an existing file.",
  inputSchema,
  async execute(input, ctx) {
    const file = resolveToolPath(ctx, input.filePath);
    const shownPath = displayPath(ctx, file);
    const existing = await fs.stat(file).catch(() => undefined);
    if (existing?.isDirectory()) throw new ToolError(`${shownPath} is a directory`);

    await fs.mkdir(path.dirname(file), { recursive: true });
    await fs.writeFile(file, input.content);
    const bytes = Buffer.byteLength(input.content);
    const created = existing === undefined;
    return {
      title: shownPath,
      output: `${created ? "Created" : "Overwrote"} ${shownPath} (${bytes} bytes)`,
      metadata: { bytes, created },
    };
  },
});
