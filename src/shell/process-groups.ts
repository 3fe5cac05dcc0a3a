import fs from "node:fs";
import { procStat } from "./proc.js";

/**
 * Whether any process of the group still runs. Zombies do not count: where PID 1 does not reap orphans (some
 * containers), killed grandchildren stay zombies forever although nothing of them runs.
 */
export function processGroupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
  return procEntries().some((entry) => {
    const fields = procStat(entry);
    return fields !== undefined && Number(fields[2]) === pgid && fields[0] !== "Z";
  });
}

/** A process group ode spawned, as recorded on its run: the leader's pid (= the group id) and start time. */
export interface RecordedGroup {
  pgid: number;
  start: string | null;
}

/**
 * Whether processes of the recorded group still run. The leader must be the recorded process (same start time);
 * once it is gone, members of the group that started after it still belong to it (a pid that leads a group is
 * not reused while the group has members).
 */
export function recordedGroupAlive(group: RecordedGroup): boolean {
  const leader = procStat(group.pgid);
  if (leader && leader[0] !== "Z") return group.start === null || leader[19] === group.start;
  for (const entry of procEntries()) {
    const fields = procStat(entry);
    if (!fields || fields[0] === "Z" || Number(fields[2]) !== group.pgid) continue;
    if (group.start === null || Number(fields[19]) >= Number(group.start)) return true;
  }
  return false;
}

function procEntries(): string[] {
  try {
    return fs.readdirSync("/proc").filter((entry) => entry.charCodeAt(0) <= 57);
  } catch {
    return [];
  }
}

/**
 * SIGKILLs a recorded group if it is still that group, and waits (synchronously, at most `waitMs`) until none of
 * its processes runs. Returns whether it had to kill anything. Recovery runs inside synchronous store code.
 */
export function killRecordedGroup(group: RecordedGroup, waitMs = 2000): boolean {
  if (!recordedGroupAlive(group)) return false;
  try {
    process.kill(-group.pgid, "SIGKILL");
  } catch {
    return false;
  }
  const deadline = Date.now() + waitMs;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  while (recordedGroupAlive(group) && Date.now() < deadline) Atomics.wait(pause, 0, 0, 5);
  return true;
}
