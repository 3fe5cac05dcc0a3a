import { describe, expect, it } from "vitest";
import { driveRun, prompt, startRun } from "../src/agent/prompt.js";
import { runShell } from "../src/agent/shell.js";
import { buildExport } from "../src/export/snapshot.js";
import { createRuntime } from "../src/runtime.js";
import { makeProject, scriptedConfig } from "./support/ode.js";

describe("the library API shown in the README", () => {
  it("runs a turn, a shell command and an export without the CLI", async () => {
    const project = makeProject(scriptedConfig({ steps: [{ text: "the files are listed" }] }));
    const rt = createRuntime({ directory: project.dir, dataDir: project.dataDir, env: project.env });
    const finished: string[] = [];
    rt.events.subscribe((e) => e.type === "run.finished" && finished.push(e.properties.outcome));
    const session = rt.store.createSession({ directory: rt.directory, title: "from a script" });
    const result = await prompt(rt, { sessionID: session.id, text: "list the files" });
    const shell = await runShell(rt, { sessionID: session.id, command: "echo $OPENCODE_SESSION_ID" });
    expect(rt.runs.cancel(session.id, { source: "api", reason: "idle" })).toEqual({ cancelled: false });
    const started = startRun(rt, { sessionID: session.id, text: "and now the tests" });
    expect(rt.runs.cancel(session.id, { source: "api", reason: "no longer needed" })).toMatchObject({ cancelled: true });
    expect((await driveRun(rt, started)).outcome).toBe("aborted");
    expect(finished).toEqual(["completed", "completed", "aborted"]);
    expect(result).toMatchObject({ outcome: "completed", text: "the files are listed" });
    expect(shell.output).toBe(`${session.id}\n`);
    expect(buildExport(rt, session.id).diagnostics.loop.runs).toHaveLength(3);
    rt.close();
  });
});
