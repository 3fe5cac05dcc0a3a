import fs from "node:fs";
import { Store } from "../../src/session/store.js";
import { Runs } from "../../src/session/runs.js";

/**
 * Live processes whose environment carries `name=value`. Every ode a fault test starts gets such a mark, and the
 * children it spawns inherit it: whatever of them still runs after recovery is an orphan. Zombies do not count.
 */
export function markedProcesses(name: string, value: string): number[] {
  const needle = Buffer.from(`\0${name}=${value}\0`);
  const found: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (entry.charCodeAt(0) > 57 || Number(entry) === process.pid) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      if (stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) continue;
      const environ = Buffer.concat([Buffer.from([0]), fs.readFileSync(`/proc/${entry}/environ`)]);
      if (environ.includes(needle)) found.push(Number(entry));
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found;
}

/** Records of a data directory that a finished or recovered run must not leave open. */
export function staleRecords(dataDir: string): string[] {
  const store = Store.open(dataDir);
  const runs = new Runs(store);
  const stale: string[] = [];
  try {
    for (const session of store.listSessions()) {
      for (const row of runs.rows(session.id)) if (row.ended_at === null) stale.push(`run ${row.id} still running`);
      for (const { info, parts } of store.messages(session.id)) {
        if (info.role === "assistant" && !info.time.completed) stale.push(`message ${info.id} not completed`);
        for (const part of parts) {
          if (part.type === "tool" && (part.state.status === "pending" || part.state.status === "running")) {
            stale.push(`tool part ${part.id} ${part.state.status}`);
          }
          const open = info.role === "assistant" && (part.type === "text" || part.type === "reasoning") && part.time?.end === undefined;
          if (open) stale.push(`${part.type} part ${part.id} open`);
        }
      }
    }
  } finally {
    store.close();
  }
  return stale;
}

/** A small seeded generator, so a failing random schedule can be replayed with ODE_FAULT_SEED. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x100000000;
  };
}
