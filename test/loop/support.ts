import fs from "node:fs";
import path from "node:path";
import type { IterationRecord, LoopRecord } from "../../src/loop/loops.js";
import { runOde, scriptedConfig, waitFor, type Project } from "../support/ode.js";

export type LoopShow = LoopRecord & { iterations: IterationRecord[] };

/** One turn: a bash call, then an answer (which repeats the command's output when `echo` is set). */
export function bashTurn(command: string, answer = "done", echo = false): object {
  return scriptedConfig({
    steps: [{ tool_calls: [{ name: "bash", input: { command } }] }, { text: answer, ...(echo ? { echo_tool_output: true } : {}) }],
  });
}

/** The data directory's loops, newest first, as `ode loop list --format json` prints them. */
export async function loops(project: Project): Promise<LoopRecord[]> {
  return JSON.parse((await runOde(project, ["loop", "list", "--format", "json"])).stdout);
}

export async function showLoop(project: Project, id?: string): Promise<LoopShow> {
  const loopID = id ?? (await loops(project))[0]!.id;
  const shown = await runOde(project, ["loop", "show", loopID, "--format", "json"]);
  if (shown.code !== 0) throw new Error(shown.stderr);
  return JSON.parse(shown.stdout);
}

/** Lines a command of the loop appended to `file` in the project. */
export function lines(project: Project, file: string): string[] {
  const at = path.join(project.dir, file);
  // `>>` creates the file before the command's line is written: an empty file has no line yet, not an empty one.
  const text = fs.existsSync(at) ? fs.readFileSync(at, "utf8").trim() : "";
  return text ? text.split("\n") : [];
}

/** Waits until the loop's command has written `count` lines to `file`. */
export function waitForLines(project: Project, file: string, count: number): Promise<string[]> {
  return waitFor(() => {
    const found = lines(project, file);
    return found.length >= count && found;
  }, 20_000);
}
