import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { makeProject, runOde, scriptedConfig, type Project } from "../support/ode.js";
import { staleRecords } from "./support.js";

/**
 * Mounts a size-limited tmpfs at `dir` for the test. Skipping nothing silently: where mounting is impossible the
 * test fails and says what it needs.
 */
function mountTmpfs(dir: string, size: string): () => void {
  fs.mkdirSync(dir, { recursive: true });
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir], { stdio: "pipe" });
  } catch (error) {
    throw new Error(
      `the disk-full tests need a size-limited file system: mounting a tmpfs (as root or with CAP_SYS_ADMIN) failed: ${String((error as { stderr?: unknown }).stderr ?? error).trim()}`,
    );
  }
  return () => execFileSync("umount", ["-l", dir]);
}

/** Fills the file system holding `dir` until it has no space left. */
function fill(dir: string): void {
  const fd = fs.openSync(path.join(dir, "filler"), "w");
  const block = Buffer.alloc(64 * 1024, 1);
  try {
    for (;;) fs.writeSync(fd, block);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
  } finally {
    fs.closeSync(fd);
  }
}

function bashTurn(command: string) {
  return scriptedConfig({ title: "scripted title", steps: [{ tool_calls: [{ name: "bash", input: { command } }] }, { text: "finished" }] });
}

function toolOutput(project: Project, sessionID: string): string {
  const exported = JSON.parse(execFileSync(process.execPath, [path.join(import.meta.dirname, "../../dist/ode.cjs"), "export", sessionID], { cwd: project.dir, env: project.env, encoding: "utf8" }));
  const part = exported.messages.flatMap((m: { parts: unknown[] }) => m.parts).find((p: { type: string }) => p.type === "tool");
  return part.state.output as string;
}

describe("a full disk or a read-only data directory", () => {
  it("a tool printing past the truncation limit on a full disk keeps its tail and says the full output was not saved", async () => {
    const project = makeProject(bashTurn("seq 1 30000"));
    const spill = path.join(project.dataDir, "tool-output");
    const unmount = mountTmpfs(spill, "256k");
    try {
      fill(spill);
      const result = await runOde(project, ["run", "--title", "t", "count"]);
      expect(result.stderr).not.toMatch(/ENOSPC.*\n\s+at /);
      expect(result.code).toBe(0);
      const session = (await runOde(project, ["session", "list", "--format", "json"])).stdout;
      const output = toolOutput(project, JSON.parse(session)[0].id);
      expect(output).toMatch(/the full output could not be saved: the disk is full \(ENOSPC, .*tool-output/);
      expect(output.trimEnd().endsWith("\n30000")).toBe(true);
    } finally {
      unmount();
    }
  });

  it("a store write failing mid-run ends the run with one line naming the cause and the data directory, not a crash", async () => {
    const project = makeProject(bashTurn(`head -c 64M /dev/zero > "$ODE_DATA_DIR/filler"; seq 1 2000`));
    const unmount = mountTmpfs(project.dataDir, "2m");
    try {
      const result = await runOde(project, ["run", "--title", "t", "fill the disk"]);
      expect(result.code).toBe(1);
      // Progress lines of the command (stderr) may come before or after it: the only ode line is the cause.
      expect(result.stderr.split("\n").filter((l) => l.startsWith("ode: "))).toEqual([`ode: cannot use the data directory ${project.dataDir}: the disk is full (SQLITE_FULL)`]);
      expect(result.stderr).not.toMatch(/\n\s+at /);
      fs.rmSync(path.join(project.dataDir, "filler"));
      const list = await runOde(project, ["session", "list", "--format", "json"]);
      const [session] = JSON.parse(list.stdout);
      const show = await runOde(project, ["session", "show", session.id]);
      expect(show.code).toBe(0);
      expect(show.stdout).not.toContain("crash-recovery");
      expect(show.stdout).toMatch(/runs:\n\s+run_\S+ prompt .* (error|aborted: .*reason: "store-write-failed")/);
      expect(staleRecords(project.dataDir)).toEqual([]);
    } finally {
      unmount();
    }
  });

  it("session list, show and export work on a read-only data directory; a run says why it cannot start", async () => {
    const project = makeProject(bashTurn("echo hi"));
    const unmount = mountTmpfs(project.dataDir, "4m");
    try {
      expect((await runOde(project, ["run", "--title", "kept", "hi"])).code).toBe(0);
      execFileSync("mount", ["-o", "remount,ro", project.dataDir]);
      const list = await runOde(project, ["session", "list"]);
      expect(list).toMatchObject({ code: 0, stderr: "" });
      expect(list.stdout).toContain("kept");
      const id = list.stdout.split(" ")[0]!;
      expect(await runOde(project, ["session", "show", id])).toMatchObject({ code: 0, stderr: "" });
      const exported = await runOde(project, ["export", id]);
      expect(exported.code).toBe(0);
      expect(JSON.parse(exported.stdout).info.title).toBe("kept");
      const run = await runOde(project, ["run", "--session", id, "again"]);
      expect(run.code).not.toBe(0);
      expect(run.stderr).toMatch(new RegExp(`^ode: cannot use the data directory ${project.dataDir}: it is read-only \\(SQLITE_(READONLY|CANTOPEN)\\w*\\)\\n$`));
    } finally {
      unmount();
    }
  });
});
