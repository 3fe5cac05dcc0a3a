import type { Dirent } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";

// Dependencies and VCS internals are noise for the model and the slowest part of any walk.
const SKIPPED_NAMES = new Set(["node_modules", ".git"]);

export interface WalkEntry {
  path: string;
  /** Relative to the walk root, always with "/" so glob patterns behave the same on every platform. */
  relative: string;
  /** 1 for the root's direct children. */
  depth: number;
  isDirectory: boolean;
}

/**
 * Yields everything below `root` breadth-first, so a capped listing shows the top levels rather
 * than one deep corner, in name order within each directory. Symlinked directories are reported
 * but not entered, which keeps link cycles from looping forever.
 */
export async function* walk(root: string, signal?: AbortSignal): AsyncGenerator<WalkEntry> {
  const queue = [{ dir: root, relative: "", depth: 0 }];
  for (let next = queue.shift(); next; next = queue.shift()) {
    signal?.throwIfAborted();
    let entries: Dirent[];
    try {
      entries = await fs.readdir(next.dir, { withFileTypes: true });
    } catch {
      // An unreadable directory should not sink a whole search.
      continue;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (SKIPPED_NAMES.has(entry.name)) continue;
      const abs = path.join(next.dir, entry.name);
      const relative = next.relative ? `${next.relative}/${entry.name}` : entry.name;
      const depth = next.depth + 1;
      const isDirectory = entry.isDirectory() || (entry.isSymbolicLink() && (await pointsToDirectory(abs)));
      yield { path: abs, relative, depth, isDirectory };
      if (entry.isDirectory()) queue.push({ dir: abs, relative, depth });
    }
  }
}

async function pointsToDirectory(p: string): Promise<boolean> {
  try {
    return (await fs.stat(p)).isDirectory();
  } catch {
    return false;
  }
}
