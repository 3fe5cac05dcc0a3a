import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { expect } from "vitest";
import { collect, ODE, ROOT, tempDir, type Project } from "./ode.js";

const HOOK = path.join(ROOT, "test", "support", "load-log.mjs");

/** The built chunks whose text matches `pattern` (a class they define, a package path esbuild notes in them). */
export function chunksMatching(pattern: RegExp): string[] {
  const dir = path.join(ROOT, "dist", "chunks");
  return fs
    .readdirSync(dir)
    .filter((name) => /\.c?js$/.test(name))
    .filter((name) => pattern.test(fs.readFileSync(path.join(dir, name), "utf8")));
}

/** Runs the built ode with the load log and returns the dist files it loaded; the command must succeed. */
export async function loadedChunks(project: Project, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string[]> {
  const log = path.join(tempDir(), "loaded.txt");
  const child = spawn(process.execPath, ["--import", HOOK, ODE, ...args], {
    cwd: project.dir,
    env: { ...project.env, ...env, ODE_TEST_LOAD_LOG: log },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const result = await collect(child);
  expect(result.code, result.stderr).toBe(0);
  return fs
    .readFileSync(log, "utf8")
    .split("\n")
    .filter((url) => url.includes("/dist/"))
    .map((url) => path.basename(new URL(url).pathname))
    .filter((name, i, names) => names.indexOf(name) === i);
}
