import fs from "node:fs/promises";
import { z } from "zod";
import { displayPath, statToolPath } from "./paths.js";
import { ToolError, defineTool } from "./tool.js";
import { walk } from "./walk.js";

const MAX_RESULTS = 100;

const inputSchema = z.object({
  pattern: z
    .string()
    .describe('Glob relative to the search directory, e.g. "**/*.ts" or "src/{a,b}/*.json". "*" stays within one directory; "**" crosses directories.'),
  path: z.string().optional().describe("Directory to search in; defaults to the project directory."),
});

export const globTool = defineTool({
  name: "glob",
  description:
    "Find files by name pattern (supports **, *, ?, {a,b}). Returns paths, most recently modified first, " +
    `at most ${MAX_RESULTS}. Skips node_modules and .git. Use grep to search file contents.`,
  inputSchema,
  async execute(input, ctx) {
    const pattern = input.pattern.replace(/^\.\//, "");
    if (pattern.startsWith("/")) {
      throw new ToolError("glob pattern must be relative; put the directory to search in `path`");
    }
    const root = await statToolPath(ctx, input.path ?? ".");
    if (!root.stats.isDirectory()) throw new ToolError(`not a directory: ${input.path}`);
    const matcher = globToRegExp(pattern);

    const matches: { path: string; mtime: number }[] = [];
    for await (const entry of walk(root.path, ctx.abortSignal)) {
      if (entry.isDirectory || !matcher.test(entry.relative)) continue;
      // A file can vanish mid-walk; it then simply sorts last.
      const stats = await fs.stat(entry.path).catch(() => undefined);
      matches.push({ path: entry.path, mtime: stats?.mtimeMs ?? 0 });
    }
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

/** Compiles a glob into a RegExp matched against a whole "/"-separated relative path. */
export function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${translate(glob)}$`);
}

function translate(glob: string): string {
  let out = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*" && glob[i + 1] === "*" && (i === 0 || glob[i - 1] === "/")) {
      const after = glob[i + 2];
      if (after === "/") {
        // "**/" may also match no directories at all: "**/*.ts" finds top-level files too.
        out += "(?:.*/)?";
        i += 2;
        continue;
      }
      if (after === undefined) {
        out += ".*";
        i += 1;
        continue;
      }
    }
    if (c === "*") {
      while (glob[i + 1] === "*") i++;
      out += "[^/]*";
    } else if (c === "?") {
      out += "[^/]";
    } else if (c === "{") {
      const close = matchingBrace(glob, i);
      if (close === -1) {
        out += "\\{";
        continue;
      }
      out += `(?:${splitAlternatives(glob.slice(i + 1, close)).map(translate).join("|")})`;
      i = close;
    } else {
      out += c.replace(/[.+^$()|[\]\\{}]/g, "\\$&");
    }
  }
  return out;
}

function matchingBrace(glob: string, open: number): number {
  let depth = 0;
  for (let i = open; i < glob.length; i++) {
    if (glob[i] === "{") depth++;
    else if (glob[i] === "}" && --depth === 0) return i;
  }
  return -1;
}

/** Splits brace contents on top-level commas only, so nested braces survive. */
function splitAlternatives(body: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < body.length; i++) {
    if (body[i] === "{") depth++;
    else if (body[i] === "}") depth--;
    else if (body[i] === "," && depth === 0) {
      parts.push(body.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(body.slice(start));
  return parts;
}
