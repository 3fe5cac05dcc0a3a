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
