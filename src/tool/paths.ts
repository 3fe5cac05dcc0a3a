import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import { ToolError, type ToolContext } from "./tool.js";

// Enough for any sane chain of links; a cycle must not hang the check.
const MAX_LINK_HOPS = 32;

/**
 * Resolves a path the model gave (relative to the project directory, or absolute) and refuses
 * anything that lands outside the project unless the config allows it.
 */
export function resolveToolPath(ctx: ToolContext, p: string): string {
  const resolved = path.resolve(ctx.directory, p);
  if (ctx.allowOutsidePaths) return resolved;
  // Compare real locations: a symlink inside the project must not become a way out of it.
  if (!isWithin(realLocation(path.resolve(ctx.directory)), realLocation(resolved))) {
    throw new ToolError(`path outside the project directory: ${p}`);
  }
  return resolved;
}

/** Like resolveToolPath, but the path must exist; a missing one is a ToolError the model can act on. */
export async function statToolPath(ctx: ToolContext, p: string): Promise<{ path: string; stats: fs.Stats }> {
  const resolved = resolveToolPath(ctx, p);
  try {
    return { path: resolved, stats: await fsp.stat(resolved) };
  } catch (err) {
    if (isMissing(err)) throw new ToolError(`no such file or directory: ${p}`);
    throw err;
  }
}

/** How a path is shown to the model and the UI: relative when inside the project, so it can be passed straight back. */
export function displayPath(ctx: ToolContext, abs: string): string {
  const rel = path.relative(ctx.directory, abs);
  return isRelativeInside(rel) ? rel || "." : abs;
}

function isWithin(root: string, target: string): boolean {
  return isRelativeInside(path.relative(root, target));
}

function isRelativeInside(rel: string): boolean {
  return rel !== ".." && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "ENOTDIR";
}

/**
 * The real location of a path that may not exist yet: the deepest existing ancestor is resolved
 * with realpath and the missing remainder appended, since that is where a write would land.
 */
function realLocation(p: string): string {
  const missing: string[] = [];
  let current = p;
  let hops = 0;
  for (;;) {
    try {
      return path.join(fs.realpathSync(current), ...missing);
    } catch {
      // realpath fails on a dangling symlink, yet writing through it still creates its target.
      const target = readLinkOrNull(current);
      if (target !== null && hops++ < MAX_LINK_HOPS) {
        current = path.resolve(path.dirname(current), target);
        continue;
      }
      const parent = path.dirname(current);
      if (parent === current) return path.join(current, ...missing);
      missing.unshift(path.basename(current));
      current = parent;
    }
  }
}

function readLinkOrNull(p: string): string | null {
  try {
    return fs.readlinkSync(p);
  } catch {
    return null;
  }
}
