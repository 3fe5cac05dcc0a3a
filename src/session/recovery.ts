import fs from "node:fs";
import path from "node:path";
import { killRecordedGroup, type RecordedGroup } from "../shell/process-groups.js";
import type { AbortDiagnostic, RunPhase, TitleGenerationState } from "./abort.js";
import type { RunRow } from "./runs.js";
import type { Part } from "./schema.js";
import type { Store } from "./store.js";
import { titleStateBefore } from "./title.js";
import { ownerAlive } from "../shell/proc.js";
import { preparedOnUse } from "../storage/statements.js";

/** Why a run was closed by another process than its owner. */
export type RecoveryReason = "crash-recovery" | "store-write-failed";

const DIED = "the process running it died";

function storeWriteMark(dataDir: string, runID: string): string {
  return path.join(dataDir, "store-write-failed", runID);
}

/**
 * Leaves a mark beside the database for a run whose end could not be stored: an empty file needs no data blocks,
 * so it can often still be made on a full disk. Best effort; without it recovery reports a crash.
 */
export function markStoreWriteFailed(dataDir: string, runID: string): void {
  try {
    fs.mkdirSync(path.dirname(storeWriteMark(dataDir, runID)), { recursive: true });
    fs.closeSync(fs.openSync(storeWriteMark(dataDir, runID), "w"));
  } catch {
    // Nothing more can be kept on this file system.
  }
}

/** Whether the run's end was refused by the store and marked so (see `markStoreWriteFailed`). */
export function storeWriteFailed(dataDir: string, runID: string): boolean {
  return fs.existsSync(storeWriteMark(dataDir, runID));
}

interface TitleTraceRow {
  id: number;
  data: string;
}

/** A title trace row with its data read once. */
interface ParsedTitleTrace {
  id: number;
  trace: { user_message_id?: string; completed_at?: number; success: boolean; skipped?: boolean };
}

const parsedTrace = (row: TitleTraceRow): ParsedTitleTrace => ({ id: row.id, trace: JSON.parse(row.data) as ParsedTitleTrace["trace"] });

/**
 * Closes a run whose owner is gone (kill -9, a crash, a store that stopped taking writes), as the owner would
 * have: its recorded process groups are killed, its open tool parts end as interrupted errors, its open text is
 * closed, and the abort diagnostic says where the run was (phase, running tool call, title generation) as far as
 * the store shows it.
 */
export class CrashRecovery {
  private readonly stmt;

  constructor(private readonly store: Store) {
    const db = store.db;
    this.stmt = preparedOnUse({
      groups: () => db.prepare<[string], RecordedGroup>(`SELECT pgid, start FROM run_processes WHERE run_id = ?`),
      openParts: () => db.prepare<[string], { data: string }>(
        `SELECT data FROM parts WHERE message_id = ? AND (
           (json_extract(data, '$.type') = 'tool' AND json_extract(data, '$.state.status') IN ('pending', 'running'))
           OR (json_extract(data, '$.type') IN ('text', 'reasoning') AND json_extract(data, '$.time.end') IS NULL))
         ORDER BY id`,
      ),
      titleTraces: () => db.prepare<[string], TitleTraceRow>(`SELECT id, data FROM title_generations WHERE session_id = ? ORDER BY id`),
      // Only a trace still open: two processes starting at once may both find it.
      endTitleTrace: () => db.prepare(`UPDATE title_generations SET data = ? WHERE id = ? AND json_extract(data, '$.completed_at') IS NULL`),
      openTitleTraces: () => db.prepare<[], TitleTraceRow & Pick<RunRow, "session_id" | "owner_pid" | "owner_start" | "assistant_message_ids">>(
        `SELECT t.id, t.session_id, t.data, r.owner_pid, r.owner_start, r.assistant_message_ids FROM title_generations t
         JOIN runs r ON r.session_id = t.session_id AND r.user_message_id = json_extract(t.data, '$.user_message_id')
         WHERE json_extract(t.data, '$.completed_at') IS NULL AND r.ended_at IS NOT NULL`,
      ),
      titleSource: () => db.prepare<[string], { title_source: string; title: string }>(`SELECT title_source, title FROM sessions WHERE id = ?`),
      close: () => db.prepare(
        `UPDATE runs SET ended_at = ?, outcome = 'aborted', interrupt = COALESCE(interrupt, ?) WHERE id = ? AND ended_at IS NULL`,
      ),
    });
  }

  /** The process groups the run recorded. */
  groups(runID: string): RecordedGroup[] {
    return this.stmt.groups.all(runID);
  }

  /** Kills what is left of the run's processes; returns how many groups were still alive. */
  killGroups(runID: string): number {
    let killed = 0;
    for (const group of this.groups(runID)) if (killRecordedGroup(group)) killed++;
    return killed;
  }

  /** Returns false when another process closed the run first. */
  close(row: RunRow): boolean {
    const killed = this.killGroups(row.id);
    const mark = storeWriteMark(this.store.dir, row.id);
    const reason: RecoveryReason = fs.existsSync(mark) ? "store-write-failed" : "crash-recovery";
    const now = Date.now();
    const closed = this.store.transaction(() => {
      const messageIDs = JSON.parse(row.assistant_message_ids) as string[];
      const messageID = messageIDs.at(-1);
      const running = messageID ? this.closeParts(messageID, now) : undefined;
      const phase: RunPhase = running ? (row.kind === "shell" ? "shell" : "tool") : messageID ? "model" : "queued";
      const diagnostic: AbortDiagnostic = {
        recorded_at: now,
        run_id: row.id,
        ...(messageID ? { message_id: messageID } : {}),
        source: "shutdown",
        mode: "hard",
        reason,
        via_ctx_abort: false,
        phase,
        ...(running ? { tool_call_id: running } : {}),
        title_generation_state: this.titleState(row, now),
      };
      if (this.stmt.close.run(now, JSON.stringify(diagnostic), row.id).changes === 0) return false;
      if (messageID) {
        const info = this.store.getMessage(messageID);
        if (info?.role === "assistant" && !info.time.completed) {
          this.store.updateMessage({
            ...info,
            time: { ...info.time, completed: now },
            error: { name: "MessageAbortedError", data: { message: `Aborted: ${DIED}` } },
          });
        }
        this.store.mergeDiagnostics(messageID, { abort: diagnostic });
      }
      return true;
    });
    if (closed && reason === "store-write-failed") fs.rmSync(mark, { force: true });
    if (closed) {
      this.store.log.warn("closed a run left running by a dead process", {
        runID: row.id,
        sessionID: row.session_id,
        pid: row.owner_pid,
        reason,
        killedGroups: killed,
      });
    }
    return closed;
  }

  /** Ends the message's open parts; returns the call id of the oldest tool call that was running. */
  private closeParts(messageID: string, now: number): string | undefined {
    let running: string | undefined;
    for (const row of this.stmt.openParts.all(messageID)) {
      const part = JSON.parse(row.data) as Part;
      if (part.type === "tool") {
        if (part.state.status === "running") running ??= part.callID;
        const start = part.state.status === "running" ? part.state.time.start : now;
        part.state = {
          status: "error",
          input: part.state.input ?? {},
          error: `The tool call was interrupted: ${DIED}`,
          metadata: { interrupted: true },
          time: { start, end: now },
        };
      } else if (part.type === "text" || part.type === "reasoning") {
        part.time = { start: part.time?.start ?? now, end: now };
      }
      this.store.upsertPart(part);
    }
    return running;
  }

  /**
   * Title generations left in flight by a process that died after their run had ended (a kill -9 while `ode run`
   * waited for the title): no open run leads `close` to them. Returns how many it ended.
   */
  endOrphanedTitles(): number {
    const now = Date.now();
    const orphans = this.stmt.openTitleTraces.all().filter((row) => !ownerAlive(row));
    for (const row of orphans) this.store.transaction(() => this.endTitle(parsedTrace(row), row, now));
    return orphans.length;
  }

  /** The run's title generation as it stood when the owner died; one left in flight is closed as failed. */
  private titleState(row: RunRow, now: number): TitleGenerationState {
    const traces = this.stmt.titleTraces.all(row.session_id).map(parsedTrace);
    const own = traces.find((t) => t.trace.user_message_id === row.user_message_id);
    if (own) {
      if (own.trace.completed_at !== undefined) return titleStateBefore(own.trace, "default");
      return this.endTitle(own, row, now) ? "completed_before_abort" : "in_flight";
    }
    const source = this.stmt.titleSource.get(row.session_id)?.title_source ?? "default";
    return titleStateBefore(traces.at(-1)?.trace, source);
  }

  /**
   * Ends a trace its dead owner left in flight, as the generation would have: on the session's record and on the
   * turn's first assistant message, which it names. True when its title had been applied.
   */
  private endTitle(own: ParsedTitleTrace, run: Pick<RunRow, "session_id" | "assistant_message_ids">, now: number): boolean {
    const first = (JSON.parse(run.assistant_message_ids) as string[])[0];
    const trace = { ...own.trace, ...(first ? { assistant_message_id: first } : {}) };
    const session = this.stmt.titleSource.get(run.session_id);
    // Only this generation sets a generated title on the first turn: it was stored, its trace was not.
    const applied = session?.title_source === "generated";
    const ending = applied
      ? { success: true, applied: true, title: session.title }
      : { success: false, error_message: `title generation stopped: ${DIED}` };
    const ended = { ...trace, ...ending, completed_at: now };
    if (this.stmt.endTitleTrace.run(JSON.stringify(ended), own.id).changes > 0 && first) {
      this.store.mergeDiagnostics(first, { title_generation: ended });
    }
    return applied;
  }
}
