import { z } from "zod";
import { displayPath, statToolPath } from "./paths.js";
import { ToolError, defineTool } from "./tool.js";
import { walk, type WalkEntry } from "./walk.js";

const MAX_ENTRIES = 500;

const inputSchema = z.object({
  path: z.string().optional().describe("Directory to list; defaults to the project directory."),
});

export const listTool = defineTool({
  name: "list",
  description:
    `List a directory as an indented tree (directories end with "/"), at most ${MAX_ENTRIES} entries, ` +
    "shallowest first. Skips node_modules and .git. Use glob to find files by pattern.",
  inputSchema,
  async execute(input, ctx) {
    const root = await statToolPath(ctx, input.path ?? ".");
    if (!root.stats.isDirectory()) throw new ToolError(`not a directory: ${input.path}`);

    const entries: WalkEntry[] = [];
    let truncated = false;
    for await (const entry of walk(root.path, ctx.abortSignal)) {
      if (entries.length === MAX_ENTRIES) {
        truncated = true;
        break;
      }
      entries.push(entry);
    }
    // The walk is breadth-first; a tree needs each directory followed by its own contents.
    entries.sort((a, b) => comparePaths(a.relative, b.relative));

    const lines = [`${root.path}/`];
    for (const e of entries) lines.push(`${"  ".repeat(e.depth)}${e.relative.split("/").pop()}${e.isDirectory ? "/" : ""}`);
    if (entries.length === 0) lines.push("  (empty directory)");
    if (truncated) lines.push(`\n(showing the first ${MAX_ENTRIES} entries, shallowest first; list a subdirectory to see more)`);
    return {
      title: displayPath(ctx, root.path),
      output: lines.join("\n"),
      metadata: { count: entries.length, truncated },
    };
  },
});

function comparePaths(a: string, b: string): number {
  const as = a.split("/");
  const bs = b.split("/");
  for (let i = 0; i < Math.min(as.length, bs.length); i++) {
    if (as[i] !== bs[i]) return as[i]! < bs[i]! ? -1 : 1;
  }
  return as.length - bs.length;
}
