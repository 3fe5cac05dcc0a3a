import fs from "node:fs";
import path from "node:path";
import { expect } from "vitest";
import { buildExport, type ExportDocument } from "../../src/export/snapshot.js";
import { Runs } from "../../src/session/runs.js";
import { runAndAbort, withStore } from "../export/support.js";
import { makeProject, runOde, scriptedConfig, type Project } from "../support/ode.js";

/**
 * Three turns of one real session: two bash calls (one with a long output) and an answer; a `sleep` killed by the
 * run timeout (an abort in phase tool); a model step stalled until `ode session abort --reason` (phase model).
 */
export const SCRIPT = {
  title: "Report test session",
  turns: [
    [
      {
        reasoning: "Look at the files first.",
        tool_calls: [
          { name: "bash", input: { command: "echo one" } },
          { name: "bash", input: { command: "seq 1 4000" } },
        ],
      },
      { text: "Both commands ran." },
    ],
    [{ tool_calls: [{ name: "bash", input: { command: "sleep 30" } }] }, { text: "never reached" }],
    [{ delay_ms: 60_000, text: "never reached either" }],
  ],
};

export const USER_REASON = "the user stopped it";

/** The session of SCRIPT, with its two aborts. */
export async function abortedSession(project: Project = makeProject(scriptedConfig(SCRIPT))): Promise<Project> {
  expect((await runOde(project, ["run", "run two commands"])).code).toBe(0);
  expect((await runOde(project, ["run", "--continue", "--timeout", "3000", "now sleep"])).code).toBe(130);
  const { runCode } = await runAndAbort(project, ["--continue", "stall"], ["--reason", USER_REASON]);
  expect(runCode).toBe(130);
  return project;
}

export function exportOf(project: Project, sessionID?: string): ExportDocument {
  return withStore(project.dataDir, (store) => {
    const id = sessionID ?? store.listSessions()[0]!.id;
    return buildExport({ store, runs: new Runs(store) }, id);
  });
}

export function writePage(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
}
