import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { processGroupAlive } from "../../src/shell/process-groups.js";
import { runCommand } from "../../src/shell/spawn.js";
import { tempDir, waitFor } from "../support/ode.js";

/** Blocks the event loop, as a loaded machine or a long synchronous write does. */
function blockLoop(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Waits without yielding to the event loop until the process has exited (a zombie nobody reaped yet). */
function spinUntilExited(pid: number): void {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) return;
    if (Date.now() > deadline) throw new Error(`process ${pid} did not exit`);
    blockLoop(1);
  }
}

describe("runCommand output after the shell exits", () => {
  it("keeps what the command wrote when the loop learns of the exit before reading the pipe and then stalls", async () => {
    const dir = tempDir();
    const fifo = path.join(dir, "gate");
    execFileSync("mkfifo", [fifo]);
    const chunks: Buffer[] = [];
    // The command waits on the fifo, then prints and exits: the test decides when, from inside the event loop.
    const running = runCommand(`echo $$ > pid; cat gate > /dev/null; printf 'written before exit'`, {
      cwd: dir,
      env: process.env,
      onOutput: (chunk) => chunks.push(chunk),
    });
    const pid = await waitFor(() => fs.existsSync(path.join(dir, "pid")) && Number(fs.readFileSync(path.join(dir, "pid"), "utf8")));
    // A second child whose output and exit the loop sees in one poll. Its output is handled first (libuv handles
    // signals after the other events of a poll); in that callback the command prints and exits, so the SIGCHLD
    // handling that follows reaps it with its output still unread in the pipe. Then the loop stalls for longer
    // than the pipe grace period, and the grace timer runs before the next poll would read the pipe.
    const other = spawn("/bin/sh", ["-c", "printf x"], { stdio: ["ignore", "pipe", "ignore"] });
    other.stdout.once("data", () => {
      const fd = openWhenReaderWaits(fifo);
      fs.closeSync(fd);
      spinUntilExited(pid);
      setImmediate(() => blockLoop(600));
    });
    spinUntilExited(other.pid!);
    const result = await running;
    expect(result.exitCode).toBe(0);
    expect(Buffer.concat(chunks).toString()).toBe("written before exit");
    expect(result.outputCut).toBe(false);
  });

  it("cuts the output held open by a background child after the grace period, and says so", async () => {
    const dir = tempDir();
    const chunks: Buffer[] = [];
    const result = await runCommand(`echo $$ > pid; printf 'done'; sleep 30 &`, {
      cwd: dir,
      env: process.env,
      onOutput: (chunk) => chunks.push(chunk),
    });
    const pgid = Number(fs.readFileSync(path.join(dir, "pid"), "utf8"));
    try {
      expect(Buffer.concat(chunks).toString()).toBe("done");
      expect(result).toMatchObject({ exitCode: 0, outputCut: true });
    } finally {
      process.kill(-pgid, "SIGKILL");
    }
    await waitFor(() => !processGroupAlive(pgid));
  });
});

/** Opens the fifo for writing once its reader is there (a non-blocking open fails with ENXIO until then). */
function openWhenReaderWaits(fifo: string): number {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      return fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENXIO" || Date.now() > deadline) throw error;
      blockLoop(1);
    }
  }
}
