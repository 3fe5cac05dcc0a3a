import fs from "node:fs/promises";
import { z } from "zod";
import { displayPath, statToolPath } from "./paths.js";
import { ToolError, defineTool } from "./tool.js";

const inputSchema = z.object({
  filePath: z.string().describe("File to edit, relative to the project directory or absolute."),
  oldString: z
    .string()
    .describe("Exact text to replace, including whitespace and indentation; include enough surrounding lines to be unique."),
  newString: z.string().describe("Text to put in its place."),
  replaceAll: z.boolean().optional().describe("Replace every occurrence instead of requiring exactly one."),
});

export const editTool = defineTool({
  name: "edit",
  description:
    "Replace an exact string in an existing file. Fails without changing the file if oldString is absent, " +
    "or appears more than once and replaceAll is not set. Read the file first to copy the text exactly.",
  inputSchema,
  async execute(input, ctx) {
    const { path: file, stats } = await statToolPath(ctx, input.filePath);
    const shownPath = displayPath(ctx, file);
    if (stats.isDirectory()) throw new ToolError(`${shownPath} is a directory`);
    if (input.oldString === "") throw new ToolError("oldString is empty; use the write tool to create or overwrite a file");
    if (input.oldString === input.newString) throw new ToolError("oldString and newString are identical; nothing to change");

    const content = await fs.readFile(file, "utf8");
    const count = countOccurrences(content, input.oldString);
    if (count === 0) throw new ToolError(`oldString not found in ${shownPath}`);
    if (count > 1 && !input.replaceAll) {
      throw new ToolError(`oldString found ${count} times in ${shownPath}; give more context or set replaceAll`);
    }

    // split/join rather than String.replace, which would interpret "$&" and friends in newString.
    const updated = content.split(input.oldString).join(input.newString);
    await fs.writeFile(file, updated);
    return {
      title: shownPath,
      output: `Replaced ${count} occurrence${count === 1 ? "" : "s"} in ${shownPath}`,
      metadata: { replacements: count },
    };
  },
});

function countOccurrences(text: string, needle: string): number {
  let n = 0;
  for (let i = text.indexOf(needle); i !== -1; i = text.indexOf(needle, i + needle.length)) n++;
  return n;
}
