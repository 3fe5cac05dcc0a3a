import fs from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { looksBinary } from "./binary.js";
import { globMatcher, listFiles, mentionsDependencies } from "./files.js";
import { displayPath, statToolPath } from "./paths.js";
import { ToolError, defineTool } from "./tool.js";

const MAX_MATCHES = 100;
// Larger files are almost always generated or data; searching them costs time and floods output.
const MAX_FILE_BYTES = 2 * 1024 * 1024;
// One minified line could otherwise fill the whole result.
const MAX_LINE_CHARS = 500;
/** Files read at once: enough to keep the disk busy, few enough to keep memory flat. */
const READ_BATCH = 32;

const inputSchema = z.object({
  pattern: z.string().describe('JavaScript regular expression matched against each line, e.g. "function\\s+\\w+Tool".'),
  path: z.string().optional().describe("File or directory to search; defaults to the project directory."),
  include: z
    .string()
    .optional()
    .describe('Glob on file names to limit the search, e.g. "*.ts" or "*.{ts,tsx}"; a glob with "/" matches the relative path.'),
});

export const grepTool = defineTool({
  name: "grep",
  description:
    `Search file contents with a JavaScript regex. Returns "path:line: text" for up to ${MAX_MATCHES} matching lines. ` +
    "Skips what .gitignore excludes, .git, node_modules (unless the path or include names it), binary files and files over 2 MiB.",
  inputSchema,
  async execute(input, ctx) {
    let regex: RegExp;
    try {
      regex = new RegExp(input.pattern);
    } catch (err) {
      throw new ToolError(`invalid regex: ${(err as Error).message}`);
    }
    const include = input.include === undefined ? undefined : globMatcher(input.include, { basename: true });
    const root = await statToolPath(ctx, input.path ?? ".");
    const files = root.stats.isDirectory()
      ? (await listFiles(root.path, { base: ctx.directory, signal: ctx.abortSignal, dependencies: mentionsDependencies(input.path, input.include) }))
          .filter((relative) => !include || include(relative))
          .map((relative) => path.join(root.path, relative))
      : [root.path];

    const lines: string[] = [];
    let truncated = false;
    search: for (let start = 0; start < files.length; start += READ_BATCH) {
      ctx.abortSignal.throwIfAborted();
      const batch = files.slice(start, start + READ_BATCH);
      const texts = await Promise.all(batch.map(readSearchable));
      for (const [index, text] of texts.entries()) {
        if (text === undefined) continue;
        const fileLines = text.split(/\r?\n/);
        for (let i = 0; i < fileLines.length; i++) {
          const line = fileLines[i]!;
          if (!regex.test(line)) continue;
          if (lines.length === MAX_MATCHES) {
            truncated = true;
            break search;
          }
          const shown = line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}…` : line;
          lines.push(`${displayPath(ctx, batch[index]!)}:${i + 1}: ${shown}`);
        }
      }
    }

    let output = lines.length ? lines.join("\n") : "No matches found";
    if (truncated) output += `\n\n(stopped at ${MAX_MATCHES} matches; narrow the pattern, path or include)`;
    return { title: input.pattern, output, metadata: { matches: lines.length, truncated } };
  },
});

async function readSearchable(file: string): Promise<string | undefined> {
  try {
    const stats = await fs.stat(file);
    if (!stats.isFile() || stats.size > MAX_FILE_BYTES) return undefined;
    const content = await fs.readFile(file);
    return looksBinary(content) ? undefined : content.toString("utf8");
  } catch {
    // Vanished or unreadable files are not worth failing the search over.
    return undefined;
  }
}
