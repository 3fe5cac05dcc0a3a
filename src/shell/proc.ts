import fs from "node:fs";

/**
 * The fields of `/proc/<pid>/stat` after the parenthesised command name (state, ppid, pgrp, ..., starttime at 19),
 * or undefined when no such process exists. The name may itself contain spaces and parentheses, hence the last ")".
 */
export function procStat(pid: number | string): string[] | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined;
  }
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
}

/** When a process started (clock ticks since boot), to tell a live process from a later one given the same pid. */
export function processStartTime(pid: number): string | null {
  return procStat(pid)?.[19] ?? null;
}

/** This process's start time, recorded as the owner of what it runs. */
export const OWN_START = processStartTime(process.pid);

/** Whether the process that owns a row (a run, a loop) is still that process (not dead, not a stranger with its pid). */
export function ownerAlive(row: { owner_pid: number; owner_start: string | null }): boolean {
  try {
    process.kill(row.owner_pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  return row.owner_start === null || row.owner_start === processStartTime(row.owner_pid);
}

/** Closes every row (a run, a loop) whose owner died, with `close`; returns how many it closed. */
export function closeDeadOwners<R extends { owner_pid: number; owner_start: string | null }>(rows: R[], close: (row: R) => void): number {
  const dead = rows.filter((row) => !ownerAlive(row));
  for (const row of dead) close(row);
  return dead.length;
}
