import fs from "node:fs";
import path from "node:path";
import { globalConfigDir } from "../config/paths.js";

/** The file names read in each directory, the first that exists winning: AGENTS.md, else CLAUDE.md. */
const NAMES = ["AGENTS.md", "CLAUDE.md"];
/** An instructions file is meant for a prompt; a huge one is a mistake, and is cut rather than sent whole. */
const MAX_FILE_CHARS = 64 * 1024;

export interface Instructions {
  /** Absolute paths of the files used, the most general first. */
  files: string[];
  /** Their text, each headed by its path, for the system prompt. */
  text: string;
}

function firstExisting(dir: string): { file: string; text: string } | undefined {
  for (const name of NAMES) {
    const file = path.join(dir, name);
    try {
      return { file, text: fs.readFileSync(file, "utf8") };
    } catch {
      // Not there (or unreadable): try the next name.
    }
  }
  return undefined;
}

/** The directories from the repository root (the nearest one with `.git`) down to `directory`. */
function projectDirs(directory: string): string[] {
  const dirs: string[] = [];
  for (let dir = path.resolve(directory); ; dir = path.dirname(dir)) {
    dirs.unshift(dir);
    if (fs.existsSync(path.join(dir, ".git"))) return dirs;
    if (path.dirname(dir) === dir) return [path.resolve(directory)];
  }
}

/**
 * Project instructions, as opencode, Codex and Claude Code read them: `AGENTS.md` (or `CLAUDE.md` where there is
 * no `AGENTS.md`) in the user's config directory, then in each directory from the repository root down to the
 * session's directory, so the most specific file comes last.
 */
export function loadInstructions(directory: string, env: NodeJS.ProcessEnv = process.env): Instructions {
  const dirs = [...new Set([globalConfigDir(env), ...projectDirs(directory)])];
  const found = dirs.map(firstExisting).filter((f) => f !== undefined);
  const files = found.map((f) => f.file);
  const text = found
    .filter((f) => f.text.trim())
    .map((f) => `Instructions from ${f.file}:\n${f.text.length > MAX_FILE_CHARS ? `${f.text.slice(0, MAX_FILE_CHARS)}\n[cut]` : f.text.trim()}`)
    .join("\n\n");
  return { files, text };
}
