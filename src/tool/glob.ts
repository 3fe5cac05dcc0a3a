import fs from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { displayPath, statToolPath } from "./paths.js";
import { globMatcher, listFiles, mentionsDependencies } from "./files.js";
import { ToolError, defineTool } from "./tool.js";

const MAX_RESULTS = 100;

const inputSchema = z.object({
  pattern: z
    .string()
    .describe(
      'Glob relative to the search directory, e.g. "**/*.ts", "src/{a,b}/*.json" or "**/[A-Z]*.md". "*" stays within one directory; "**" crosses directories.',
    ),
  path: z.string().optional().describe("Directory to search in; defaults to the project directory."),
});

export const globTool = defineTool({
  name: "glob",
  description:
    "Find files by name pattern (supports **, *, ?, {a,b}, [a-z]). Returns paths, most recently modified first, " +
    `at most ${MAX_RESULTS}. Skips what .gitignore excludes, .git, and node_modules unless the pattern or path names it. ` +
    "Use grep to search file contents.",
  inputSchema,
  async execute(input, ctx) {
    const pattern = input.pattern.replace(/^\.\//, "");
    if (pattern.startsWith("/")) {
      throw new ToolError("glob pattern must be relative; put the directory to search in `path`");
    }
    const root = await statToolPath(ctx, input.path ?? ".");
    if (!root.stats.isDirectory()) throw new ToolError(`not a directory: ${input.path}`);
    const matcher = globMatcher(pattern);
    const files = await listFiles(root.path, {
      base: ctx.directory,
      signal: ctx.abortSignal,
      dependencies: mentionsDependencies(pattern, input.path),
    });
    const matches = await Promise.all(
      files.filter((relative) => matcher(relative)).map(async (relative) => {
        const file = path.join(root.path, relative);
        // A file can vanish mid-walk; it then simply sorts last.
        const stats = await fs.stat(file).catch(() => undefined);
        return { path: file, mtime: stats?.mtimeMs ?? 0 };
      }),
    );
    matches.sort((a, b) => b.mtime - a.mtime || (a.path < b.path ? -1 : 1));

    const shown = matches.slice(0, MAX_RESULTS).map((m) => displayPath(ctx, m.path));
    const truncated = matches.length > MAX_RESULTS;
    let output = shown.length ? shown.join("\n") : "No files found";
    if (truncated) {
      output += `\n\n(showing the ${MAX_RESULTS} most recently modified of ${matches.length} matches; narrow the pattern or path)`;
    }
    return {
      title: input.path ? `${pattern} in ${displayPath(ctx, root.path)}` : pattern,
      output,
      metadata: { count: matches.length, truncated },
    };
  },
});
