import { execFile } from "node:child_process";
import fs from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { walk } from "../tool/walk.js";

const run = promisify(execFile);

/** The state of the working tree: path -> size and mtime, plus the commit HEAD names in a repository. */
export type TreeState = Map<string, string>;

async function gitFiles(directory: string): Promise<{ files: string[]; head: string } | undefined> {
  try {
    const listed = await run("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: directory, maxBuffer: 256 * 1024 * 1024 });
    const head = await run("git", ["rev-parse", "--verify", "-q", "HEAD"], { cwd: directory }).then(
      (r) => r.stdout.trim(),
      () => "",
    );
    return { files: listed.stdout.split("\0").filter(Boolean), head };
  } catch {
    return undefined;
  }
}

/**
 * A fingerprint of the working tree, to tell whether an iteration changed anything. In a git repository the
 * files git sees (tracked and untracked, not ignored) and HEAD, so a commit counts too; elsewhere every file
 * below the directory but `.git`, `node_modules` and ode's own data directory.
 */
export async function treeState(directory: string, dataDir: string): Promise<TreeState> {
  const state: TreeState = new Map();
  const git = await gitFiles(directory);
  const skip = path.relative(directory, dataDir);
  const inside = skip && !skip.startsWith("..") && !path.isAbsolute(skip) ? skip.split(path.sep).join("/") : undefined;
  let files: string[];
  if (git) {
    files = git.files;
    state.set("\0HEAD", git.head);
  } else {
    files = [];
    for await (const entry of walk(directory)) {
      if (entry.isDirectory) continue;
      if (inside && (entry.relative === inside || entry.relative.startsWith(`${inside}/`))) continue;
      files.push(entry.relative);
    }
  }
  for (const file of files) {
    if (inside && (file === inside || file.startsWith(`${inside}/`))) continue;
    const stats = await fs.stat(path.join(directory, file)).catch(() => undefined);
    if (stats) state.set(file, `${stats.size}:${stats.mtimeMs}`);
  }
  return state;
}

/** How many paths differ between two states (added, removed or changed). */
export function changedPaths(before: TreeState, after: TreeState): number {
  let changed = 0;
  for (const [file, stamp] of after) if (before.get(file) !== stamp) changed++;
  for (const file of before.keys()) if (!after.has(file)) changed++;
  return changed;
}
