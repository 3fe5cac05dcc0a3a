import { newId } from "../ids.js";
import type { AbortDiagnostic, CancelMeta } from "../session/abort.js";
import { OdeError } from "../session/errors.js";
import type { RunOutcome, Runs } from "../session/runs.js";
import type { AssistantMessage, MessageError } from "../session/schema.js";
import type { Store } from "../session/store.js";
import { closeDeadOwners, OWN_START, ownerAlive } from "../shell/proc.js";
import { preparedOnUse } from "../storage/statements.js";
import type { LoopSpec } from "./spec.js";

/** Why a loop stopped; each reason has the exit code the README documents. */
export const loopStopReasons = [
  "completed",
  "max_iterations",
  "max_duration",
  "budget",
  "no_progress",
  "failures",
  "usage_limit",
  "aborted",
] as const;
export type LoopStopReason = (typeof loopStopReasons)[number];

const EXIT_CODES: Record<LoopStopReason, number> = {
  completed: 0,
  max_iterations: 4,
  max_duration: 4,
  budget: 4,
  no_progress: 1,
  failures: 1,
  usage_limit: 1,
  aborted: 130,
};

export function loopExitCode(reason: LoopStopReason): number {
  return EXIT_CODES[reason];
}

/** An iteration's tokens: everything its run's assistant messages used. */
export function totalTokens(message: AssistantMessage): number {
  const t = message.tokens;
  return t.input + t.output + t.reasoning + t.cache.read + t.cache.write;
}

/** What made the loop stop: the abort's provenance, the limit hit, the promise or command that completed it. */
export interface StopDetail {
  message: string;
  abort?: AbortDiagnostic | (CancelMeta & { recorded_at: number });
}

export interface LoopRecord {
  id: string;
  directory: string;
  name: string;
  spec: LoopSpec;
  started_at: number;
  ended_at: number | null;
  stop_reason: LoopStopReason | null;
  stop_detail: StopDetail | null;
  owner_pid: number;
}

export interface IterationRecord {
  loop_id: string;
  n: number;
  session_id: string;
  run_id: string | null;
  started_at: number;
  ended_at: number | null;
  outcome: RunOutcome | null;
  abort: AbortDiagnostic | null;
  error: MessageError | null;
  promise: boolean | null;
  until_exit: number | null;
  until_output: string | null;
  tokens: number;
  files_changed: number | null;
}

interface LoopRow extends Omit<LoopRecord, "spec" | "stop_detail"> {
  spec: string;
  stop_detail: string | null;
  owner_start: string | null;
  abort_request: string | null;
}

interface IterationRow extends Omit<IterationRecord, "abort" | "error" | "promise"> {
  abort: string | null;
  error: string | null;
  promise: number | null;
}

export class LoopNotFoundError extends OdeError {
  override name = "LoopNotFoundError";
  override readonly status = 404;
  constructor(readonly loopID: string) {
    super(`loop not found: ${loopID}`);
  }
}

export class LoopBusyError extends OdeError {
  override name = "LoopBusyError";
  override readonly status = 409;
  constructor(readonly loopID: string) {
    super(`loop ${loopID} is still running; abort it with \`ode loop abort ${loopID}\``);
  }
}

const parse = <T>(text: string | null): T | null => (text === null ? null : (JSON.parse(text) as T));

function toLoop(row: LoopRow): LoopRecord {
  const { owner_start: _start, abort_request: _request, ...rest } = row;
  return { ...rest, spec: JSON.parse(row.spec) as LoopSpec, stop_detail: parse<StopDetail>(row.stop_detail) };
}

function toIteration(row: IterationRow): IterationRecord {
  return {
    ...row,
    abort: parse<AbortDiagnostic>(row.abort),
    error: parse<MessageError>(row.error),
    promise: row.promise === null ? null : row.promise === 1,
  };
}

export type IterationEnd = Pick<
  IterationRecord,
  "outcome" | "abort" | "error" | "promise" | "until_exit" | "until_output" | "tokens" | "files_changed"
>;

/**
 * Loops and their iterations in the session database, written as the loop goes so that a crash leaves a record
 * that says how far it got. Like runs, a loop row names its owner; one whose owner died is closed as aborted.
 */
export class Loops {
  private readonly stmt;

  constructor(
    private readonly store: Store,
    private readonly runs: Runs,
  ) {
    const db = store.db;
    this.stmt = preparedOnUse({
      insert: () => db.prepare(
        `INSERT INTO loops (id, directory, name, spec, started_at, owner_pid, owner_start) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      get: () => db.prepare<[string], LoopRow>(`SELECT * FROM loops WHERE id = ?`),
      list: () => db.prepare<[], LoopRow>(`SELECT * FROM loops ORDER BY started_at DESC, id DESC`),
      unfinished: () => db.prepare<[], LoopRow>(`SELECT * FROM loops WHERE ended_at IS NULL`),
      reopen: () => db.prepare(
        `UPDATE loops SET ended_at = NULL, stop_reason = NULL, stop_detail = NULL, abort_request = NULL, spec = ?,
           owner_pid = ?, owner_start = ? WHERE id = ? AND ended_at IS NOT NULL`,
      ),
      finish: () => db.prepare(
        `UPDATE loops SET ended_at = ?, stop_reason = ?, stop_detail = ? WHERE id = ? AND ended_at IS NULL`,
      ),
      requestAbort: () => db.prepare(`UPDATE loops SET abort_request = ? WHERE id = ? AND ended_at IS NULL AND abort_request IS NULL`),
      insertIteration: () => db.prepare(`INSERT INTO loop_iterations (loop_id, n, session_id, started_at) VALUES (?, ?, ?, ?)`),
      setRun: () => db.prepare(`UPDATE loop_iterations SET run_id = ? WHERE loop_id = ? AND n = ?`),
      finishIteration: () => db.prepare(
        `UPDATE loop_iterations SET ended_at = @ended_at, outcome = @outcome, abort = @abort, error = @error,
           promise = @promise, until_exit = @until_exit, until_output = @until_output, tokens = @tokens,
           files_changed = @files_changed WHERE loop_id = @loop_id AND n = @n`,
      ),
      iterations: () => db.prepare<[string], IterationRow>(`SELECT * FROM loop_iterations WHERE loop_id = ? ORDER BY n`),
      lastIteration: () => db.prepare<[string], IterationRow>(
        `SELECT * FROM loop_iterations WHERE loop_id = ? ORDER BY n DESC LIMIT 1`,
      ),
    });
  }

  create(directory: string, name: string, spec: LoopSpec): LoopRecord {
    const id = newId("lop");
    this.stmt.insert.run(id, directory, name, JSON.stringify(spec), Date.now(), process.pid, OWN_START);
    return this.get(id);
  }

  /** Takes over an ended loop to continue it (`ode loop resume`), with the limits given for the new stretch. */
  reopen(id: string, spec: LoopSpec): LoopRecord {
    const existing = this.get(id);
    if (existing.ended_at === null) throw new LoopBusyError(id);
    this.stmt.reopen.run(JSON.stringify(spec), process.pid, OWN_START, id);
    return this.get(id);
  }

  find(id: string): LoopRecord | undefined {
    const row = this.stmt.get.get(id);
    return row ? toLoop(row) : undefined;
  }

  get(id: string): LoopRecord {
    const loop = this.find(id);
    if (!loop) throw new LoopNotFoundError(id);
    return loop;
  }

  list(): LoopRecord[] {
    return this.stmt.list.all().map(toLoop);
  }

  iterations(loopID: string): IterationRecord[] {
    return this.stmt.iterations.all(loopID).map(toIteration);
  }

  lastIteration(loopID: string): IterationRecord | undefined {
    const row = this.stmt.lastIteration.get(loopID);
    return row ? toIteration(row) : undefined;
  }

  startIteration(loopID: string, n: number, sessionID: string): void {
    this.stmt.insertIteration.run(loopID, n, sessionID, Date.now());
  }

  setIterationRun(loopID: string, n: number, runID: string): void {
    this.stmt.setRun.run(runID, loopID, n);
  }

  finishIteration(loopID: string, n: number, end: IterationEnd): void {
    this.stmt.finishIteration.run({
      loop_id: loopID,
      n,
      ended_at: Date.now(),
      outcome: end.outcome,
      abort: end.abort ? JSON.stringify(end.abort) : null,
      error: end.error ? JSON.stringify(end.error) : null,
      promise: end.promise === null ? null : end.promise ? 1 : 0,
      until_exit: end.until_exit,
      until_output: end.until_output,
      tokens: end.tokens,
      files_changed: end.files_changed,
    });
  }

  finish(loopID: string, reason: LoopStopReason, detail: StopDetail): void {
    this.stmt.finish.run(Date.now(), reason, JSON.stringify(detail), loopID);
  }

  /** A cancel written on the loop's row by another process, to be read by the loop's owner. */
  abortRequest(loopID: string): CancelMeta | undefined {
    return parse<CancelMeta>(this.stmt.get.get(loopID)?.abort_request ?? null) ?? undefined;
  }

  /**
   * `ode loop abort` from another process: writes the request on the loop row, then cancels the current
   * iteration's run through the runs' own cross-process path, or wakes the loop's process when no run is going.
   * The owner reads the request when the iteration ends (and right after starting each run, and when woken), so the
   * request cannot fall between two iterations.
   */
  requestAbort(loopID: string, meta: CancelMeta): { aborted: boolean } {
    const row = this.stmt.get.get(loopID);
    if (!row) throw new LoopNotFoundError(loopID);
    if (row.ended_at !== null) return { aborted: false };
    if (!ownerAlive(row)) {
      // Its iteration's run died with it: the runs' own recovery closes that first, as at start-up, so the
      // iteration is recorded with the run's outcome and diagnostic and the run's processes are killed.
      this.runs.recoverCrashed();
      this.closeCrashed(row);
      return { aborted: false };
    }
    if (this.stmt.requestAbort.run(JSON.stringify(meta), loopID).changes === 0 && this.stmt.get.get(loopID)?.ended_at !== null) {
      return { aborted: false };
    }
    const current = this.lastIteration(loopID);
    if (!current?.run_id) return { aborted: true };
    // The iteration's run while it runs (never a run started in its session since); once it has ended (`--until`,
    // a wait for a rate limit) the loop's process is woken to read the request at once. Only that process: the
    // last iteration of a resumed loop may be an earlier process's, which may be exiting and take no wake.
    const cancelled = current.ended_at === null && this.runs.cancelRun(current.session_id, current.run_id, meta);
    if (!cancelled) this.runs.wakeOwnerOf(current.run_id, row);
    return { aborted: true };
  }

  /** Closes loops whose owner died (kill -9, power loss): the loop and its open iteration end as aborted. */
  recoverCrashed(): number {
    return closeDeadOwners(this.stmt.unfinished.all(), (row) => this.closeCrashed(row));
  }

  private closeCrashed(row: LoopRow): void {
    const abort = { source: "shutdown" as const, mode: "hard" as const, reason: "crash-recovery", recorded_at: Date.now() };
    this.store.transaction(() => {
      const open = this.lastIteration(row.id);
      if (open && open.ended_at === null) {
        // The iteration's run has ended by now: closed by the runs' own recovery (its diagnostic is the iteration's),
        // or ended by itself before the owner died, while the loop ran `--until`; then it keeps its own outcome, and
        // the `--until` command, recorded on the run, is killed.
        const run = open.run_id ? this.runs.rows(open.session_id).find((r) => r.id === open.run_id) : undefined;
        if (run) this.runs.killRecordedGroups(run.id);
        const assistants = (run ? (JSON.parse(run.assistant_message_ids) as string[]) : [])
          .map((id) => this.store.getMessage(id))
          .filter((info): info is AssistantMessage => info?.role === "assistant");
        this.finishIteration(row.id, open.n, {
          outcome: run?.outcome ?? "aborted",
          abort: run?.interrupt ? (JSON.parse(run.interrupt) as AbortDiagnostic) : null,
          error: run?.outcome === "error" ? (assistants.at(-1)?.error ?? null) : null,
          promise: null,
          until_exit: null,
          until_output: null,
          tokens: assistants.reduce((sum, info) => sum + totalTokens(info), 0),
          files_changed: null,
        });
      }
      this.finish(row.id, "aborted", { message: "the process running this loop died", abort });
    });
    this.store.log.warn("closed a loop left running by a dead process", { loopID: row.id, pid: row.owner_pid });
  }
}
