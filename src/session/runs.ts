import fs from "node:fs";
import path from "node:path";
import { newId } from "../ids.js";
import {
  cancelMeta,
  FORCE_DELETE_VIA,
  type AbortDiagnostic,
  type CancelMeta,
  type CheckedCancelMeta,
  type RunPhase,
  type TitleGenerationState,
} from "./abort.js";
import { closeDeadOwners, OWN_START, ownerAlive, processStartTime, procStat } from "../shell/proc.js";
import { sqliteCode } from "../storage/db.js";
import { preparedOnUse } from "../storage/statements.js";
import { SessionBusyError, SessionNotFoundError } from "./errors.js";
import { storeUnavailable } from "../storage/errors.js";
import { CrashRecovery, markStoreWriteFailed, storeWriteFailed } from "./recovery.js";
import type { Store } from "./store.js";

const FORCE_DELETE_WAIT_MS = 10_000;

export const runKinds = ["prompt", "shell", "compact"] as const;
export type RunKind = (typeof runKinds)[number];
/** How a run's owner hears of a cancel written on its row by another process. */
export type OwnerWake = "signal" | "watch";

export const runOutcomes = ["completed", "aborted", "error"] as const;
export type RunOutcome = (typeof runOutcomes)[number];

export interface RunRow {
  id: string;
  session_id: string;
  kind: RunKind;
  started_at: number;
  ended_at: number | null;
  outcome: RunOutcome | null;
  owner_pid: number;
  owner_start: string | null;
  owner_wake: OwnerWake;
  user_message_id: string | null;
  assistant_message_ids: string;
  interrupt: string | null;
  cancel_request: string | null;
  cancel_count: number;
  steps: number;
  finish: string | null;
  attempted_input: string | null;
  trace_id: string | null;
}

/** The live state of a run in the process that owns it. */
export class ActiveRun {
  readonly controller = new AbortController();
  /** Aborted by a hard cancel, also one that comes after a soft cancel: running commands are SIGKILLed at once. */
  readonly killController = new AbortController();
  /** Where the run is when no tool call is running: before its first assistant message, or with the model. */
  stage: "queued" | "model" = "queued";
  /** Tool calls (or the prompt-shell command) running now, oldest first; a step may run several at once. */
  readonly activeCalls = new Map<string, "tool" | "shell">();
  userMessageID?: string;
  readonly assistantMessageIDs: string[] = [];
  interrupt?: AbortDiagnostic;
  titleState: () => TitleGenerationState = () => "not_started";

  constructor(
    readonly id: string,
    readonly sessionID: string,
    readonly kind: RunKind,
    readonly startedAt: number,
  ) {}

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get killSignal(): AbortSignal {
    return this.killController.signal;
  }

  get currentAssistantID(): string | undefined {
    return this.assistantMessageIDs.at(-1);
  }

  /** The oldest running tool call: the one a cancel is attributed to. */
  get activeCall(): { id: string; phase: "tool" | "shell" } | undefined {
    for (const [id, phase] of this.activeCalls) return { id, phase };
    return undefined;
  }

  get phase(): RunPhase {
    return this.activeCall?.phase ?? this.stage;
  }
}

export interface CancelResult {
  cancelled: boolean;
  runID?: string;
  /** False when another cancel already interrupted this run (this one is only counted). */
  cause?: boolean;
  /** The run belongs to another ode process, which was asked to interrupt it. */
  remote?: boolean;
}

/**
 * One run per session, enforced by the database (a unique index over unfinished runs) so two ode processes on
 * the same data directory cannot interleave either.
 */
export class Runs {
  private readonly active = new Map<string, ActiveRun>();
  private readonly stmt;
  /** With `wake: "watch"`: the watch on the data directory, open while this process owns a run. */
  private watcher?: fs.FSWatcher;
  private wakePending = false;
  private readonly wakeListeners = new Set<() => void>();
  private readonly recovery: CrashRecovery;

  constructor(
    private readonly store: Store,
    private readonly wake: OwnerWake = "signal",
  ) {
    this.recovery = new CrashRecovery(store);
    const db = store.db;
    this.stmt = preparedOnUse({
      insert: () => db.prepare(
        `INSERT INTO runs (id, session_id, kind, started_at, owner_pid, owner_start, owner_wake) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      insertAsIs: () => db.prepare(
        `INSERT INTO runs (id, session_id, kind, started_at, ended_at, outcome, owner_pid, owner_start, user_message_id,
           assistant_message_ids, interrupt, cancel_count, steps, finish, attempted_input, trace_id)
         VALUES (@id, @session_id, @kind, @started_at, @ended_at, @outcome, @owner_pid, 'imported', @user_message_id,
           @assistant_message_ids, @interrupt, @cancel_count, @steps, @finish, @attempted_input, @trace_id)`,
      ),
      activeRow: () => db.prepare<[string], RunRow>(`SELECT * FROM runs WHERE session_id = ? AND ended_at IS NULL`),
      get: () => db.prepare<[string], RunRow>(`SELECT * FROM runs WHERE id = ?`),
      ofSession: () => db.prepare<[string], RunRow>(`SELECT * FROM runs WHERE session_id = ? ORDER BY started_at, id`),
      unfinished: () => db.prepare<[], RunRow>(`SELECT * FROM runs WHERE ended_at IS NULL`),
      setUserMessage: () => db.prepare(`UPDATE runs SET user_message_id = ?, attempted_input = ? WHERE id = ?`),
      setAssistants: () => db.prepare(`UPDATE runs SET assistant_message_ids = ?, steps = ? WHERE id = ?`),
      setInterrupt: () => db.prepare(`UPDATE runs SET interrupt = ? WHERE id = ?`),
      setTraceID: () => db.prepare(`UPDATE runs SET trace_id = ? WHERE id = ?`),
      countCancel: () => db.prepare(`UPDATE runs SET cancel_count = cancel_count + 1 WHERE id = ?`),
      requestCancel: () => db.prepare(
        `UPDATE runs SET cancel_request = ? WHERE id = ? AND ended_at IS NULL AND cancel_request IS NULL`,
      ),
      takeRequest: () => db.prepare(`UPDATE runs SET cancel_request = NULL WHERE id = ? AND cancel_request IS NOT NULL`),
      finish: () => db.prepare(`UPDATE runs SET ended_at = ?, outcome = ?, finish = ? WHERE id = ? AND ended_at IS NULL`),
      recordGroup: () => db.prepare(`INSERT OR REPLACE INTO run_processes (run_id, pgid, start) VALUES (?, ?, ?)`),
      forgetGroups: () => db.prepare(`DELETE FROM run_processes WHERE run_id = ?`),
    });
  }

  /** A run whose end the store refused is over even though its owner (perhaps this very process) lives on. */
  private runAlive(row: RunRow): boolean {
    return ownerAlive(row) && !storeWriteFailed(this.store.dir, row.id);
  }

  /** Closes runs whose owning process is gone (a crash or kill -9), so their sessions are usable again. */
  recoverCrashed(): number {
    const closed = closeDeadOwners(this.stmt.unfinished.all(), (row) => this.closeCrashed(row));
    this.recovery.endOrphanedTitles();
    return closed;
  }

  private closeCrashed(row: RunRow): void {
    this.recovery.close(row);
  }

  start(sessionID: string, kind: RunKind): ActiveRun {
    if (!this.store.findSession(sessionID)) throw new SessionNotFoundError(sessionID);
    const run = new ActiveRun(newId("run"), sessionID, kind, Date.now());
    const insert = () => this.stmt.insert.run(run.id, sessionID, kind, run.startedAt, process.pid, OWN_START, this.wake);
    try {
      insert();
    } catch (error) {
      if (sqliteCode(error) !== "SQLITE_CONSTRAINT_UNIQUE") throw error;
      const existing = this.stmt.activeRow.get(sessionID);
      if (existing && this.runAlive(existing)) {
        throw new SessionBusyError(sessionID, existing.id);
      }
      if (existing) this.closeCrashed(existing);
      insert();
    }
    this.active.set(sessionID, run);
    this.watchForCancels();
    this.store.events.emit("run.started", sessionID, { runID: run.id, kind });
    return run;
  }

  /**
   * Writes a run row exactly as given (import). No process here runs an imported run: an owner start time no
   * process has marks it dead, so one still open is closed as a crash the next time the store opens.
   */
  insertAsIs(row: Omit<RunRow, "owner_pid" | "owner_start" | "owner_wake" | "cancel_request">): void {
    this.stmt.insertAsIs.run({ ...row, owner_pid: process.pid });
  }

  get(sessionID: string): ActiveRun | undefined {
    return this.active.get(sessionID);
  }

  all(): ActiveRun[] {
    return [...this.active.values()];
  }

  /** `input` is what the run sends the model; null for a compaction, whose user message is its marker. */
  setUserMessage(run: ActiveRun, messageID: string, input: string | null): void {
    run.userMessageID = messageID;
    this.stmt.setUserMessage.run(messageID, input, run.id);
  }

  /** Records the trace the run's spans go to (tracing on). */
  setTraceID(runID: string, traceID: string): void {
    this.stmt.setTraceID.run(traceID, runID);
  }

  addAssistantMessage(run: ActiveRun, messageID: string): void {
    run.assistantMessageIDs.push(messageID);
    this.stmt.setAssistants.run(JSON.stringify(run.assistantMessageIDs), run.assistantMessageIDs.length, run.id);
  }

  /**
   * `cancel` only while this process runs the session's run: a run another process has started in the session
   * since (after this one's ended) is not the caller's to stop. False when there was none.
   */
  cancelOwn(sessionID: string, meta: CancelMeta): boolean {
    if (!this.active.has(sessionID)) return false;
    this.cancel(sessionID, meta);
    return true;
  }

  /**
   * Interrupts the session's run with `meta`. The first cancel that reaches a run is its cause and is stored on
   * that run (and its own assistant message); later ones are counted. A run owned by another process gets the
   * request written on its row and its owner is woken with SIGUSR2.
   */
  cancel(sessionID: string, input: CancelMeta): CancelResult {
    const meta = cancelMeta(input);
    const run = this.active.get(sessionID);
    if (!run) return this.cancelRemote(sessionID, meta);
    if (run.interrupt) {
      // The first cancel is the cause; later ones are counted on the run row (`cancel_count`). A later hard one
      // (a second Ctrl-C) still escalates: the processes of a soft kill waiting out its grace period die now.
      if (meta.mode === "hard") run.killController.abort(meta);
      this.bestEffort(run, "counting a cancel failed", () => this.stmt.countCancel.run(run.id));
      return { cancelled: true, runID: run.id, cause: false };
    }
    const messageID = run.currentAssistantID;
    const call = run.activeCall;
    const diagnostic: AbortDiagnostic = {
      recorded_at: Date.now(),
      run_id: run.id,
      ...(messageID ? { message_id: messageID } : {}),
      source: meta.source,
      mode: meta.mode,
      ...(meta.reason !== undefined ? { reason: meta.reason } : {}),
      ...(meta.via !== undefined ? { via: meta.via } : {}),
      // Becomes true when a running tool reports that the cancel reached it through its own abort signal.
      via_ctx_abort: false,
      phase: run.phase,
      ...(call ? { tool_call_id: call.id } : {}),
      title_generation_state: run.titleState(),
    };
    // The run stops before anything is stored: a store that refuses the write (full disk, read-only, busy) must not
    // leave it running, and the signal handler, timer or request that cancelled gets no exception.
    run.interrupt = diagnostic;
    run.controller.abort(meta);
    if (meta.mode === "hard") run.killController.abort(meta);
    this.writeInterrupt(run);
    this.store.events.emit("run.aborted", sessionID, { runID: run.id, abort: diagnostic });
    return { cancelled: true, runID: run.id, cause: true };
  }

  /**
   * Stores the run's abort diagnostic as it stands now. A failed write is logged; the run's finish stores the
   * diagnostic again in the same transaction as its end, so the record of an aborted run never lacks its cause.
   */
  writeInterrupt(run: ActiveRun): void {
    this.bestEffort(run, "storing the abort diagnostic failed", () => this.store.transaction(() => this.storeInterrupt(run)));
  }

  /** On the run row and on the run's own assistant message. */
  private storeInterrupt(run: ActiveRun): void {
    const diagnostic = run.interrupt;
    if (!diagnostic) return;
    this.stmt.setInterrupt.run(JSON.stringify(diagnostic), run.id);
    if (diagnostic.message_id) this.store.mergeDiagnostics(diagnostic.message_id, { abort: diagnostic });
  }

  private bestEffort(run: ActiveRun, what: string, write: () => void): void {
    try {
      write();
    } catch (error) {
      this.store.log.warn(what, { runID: run.id, error: String(error) });
    }
  }

  /**
   * `cancel` of one run: nothing when the session's open run is another (the one asked for has ended, and a run
   * has been started in the session since). False when that run was not open.
   */
  cancelRun(sessionID: string, runID: string, meta: CancelMeta): boolean {
    const own = this.active.get(sessionID);
    if (own) return own.id === runID && this.cancelOwn(sessionID, meta);
    return this.cancelRemote(sessionID, cancelMeta(meta), runID).cancelled;
  }

  private cancelRemote(sessionID: string, meta: CheckedCancelMeta, runID?: string): CancelResult {
    const row = this.stmt.activeRow.get(sessionID);
    if (!row || (runID !== undefined && row.id !== runID)) return { cancelled: false };
    if (!this.runAlive(row)) {
      this.closeCrashed(row);
      return { cancelled: false, runID: row.id };
    }
    // A request already waiting for the owner is the earlier one, so this one is only counted.
    if (this.stmt.requestCancel.run(JSON.stringify(meta), row.id).changes === 0) this.stmt.countCancel.run(row.id);
    this.wakeOwner(row);
    return { cancelled: true, runID: row.id, remote: true };
  }

  /**
   * Wakes the live owner of a run, ended or not, to read a request written elsewhere than on the run's row (a loop
   * abort written on the loop's, while that process runs the loop's `--until`), when it is `owner`.
   */
  wakeOwnerOf(runID: string, owner: Pick<RunRow, "owner_pid" | "owner_start">): void {
    const row = this.stmt.get.get(runID);
    if (row && row.owner_pid === owner.owner_pid && row.owner_start === owner.owner_start && ownerAlive(row)) this.wakeOwner(row);
  }

  private wakeOwner(row: RunRow): void {
    // An owner that watches the database sees the write itself; SIGUSR2 would kill a process with no handler for it.
    if (row.owner_wake === "watch") return this.wakeWatcher(row.owner_pid);
    try {
      process.kill(row.owner_pid, "SIGUSR2");
    } catch (error) {
      this.store.log.warn("could not wake the owner of a run", { runID: row.id, pid: row.owner_pid, error: String(error) });
    }
  }

  /**
   * Called when another process woke this one: applies cancel requests written on this process's runs, then tells
   * `onWake`'s listeners.
   */
  applyRemoteCancels(): void {
    for (const run of this.active.values()) {
      const row = this.stmt.get.get(run.id);
      if (!row?.cancel_request) continue;
      if (this.stmt.takeRequest.run(run.id).changes === 0) continue;
      this.cancel(run.sessionID, JSON.parse(row.cancel_request) as CancelMeta);
    }
    for (const listener of this.wakeListeners) listener();
  }

  /** `listener` is called on each wake from another process (see `wakeOwnerOf`); returns its removal. */
  onWake(listener: () => void): () => void {
    this.wakeListeners.add(listener);
    return () => this.wakeListeners.delete(listener);
  }

  /**
   * Deletes a session unless a live run (of this or another process) is working in it; `force` deletes anyway,
   * and that run then ends with SessionNotFoundError. A run left by a dead owner is closed first, which kills
   * the processes it left.
   */
  deleteSession(sessionID: string, options: { force?: boolean } = {}): void {
    const row = this.stmt.activeRow.get(sessionID);
    if (row && this.runAlive(row)) {
      if (!options.force) throw new SessionBusyError(sessionID, row.id);
    } else if (row) {
      this.closeCrashed(row);
    }
    this.store.deleteSession(sessionID);
  }

  /** Where owners that do not take SIGUSR2 are woken: one file per owner pid, written after the request commits. */
  private get wakeDir(): string {
    return path.join(path.dirname(this.store.db.name), "wake");
  }

  private wakeWatcher(pid: number): void {
    try {
      fs.mkdirSync(this.wakeDir, { recursive: true });
      fs.writeFileSync(path.join(this.wakeDir, String(pid)), String(Date.now()));
    } catch (error) {
      this.store.log.warn("could not wake the owner of a run", { pid, error: String(error) });
    }
  }

  /**
   * A library runtime does not own SIGUSR2: while it runs something, it watches its wake file. The file is written
   * after the cancel request is committed, so the request is visible when the watch fires (a watch on the database
   * itself can fire between the WAL write and the commit becoming visible, and lose the request).
   */
  private watchForCancels(): void {
    if (this.wake !== "watch" || this.watcher) return;
    const own = String(process.pid);
    try {
      fs.mkdirSync(this.wakeDir, { recursive: true });
      this.watcher = fs.watch(this.wakeDir, { persistent: false }, (_event, file) => {
        if (String(file) !== own || this.wakePending) return;
        this.wakePending = true;
        setImmediate(() => {
          this.wakePending = false;
          if (this.store.db.open) this.applyRemoteCancels();
        });
      });
    } catch (error) {
      this.store.log.warn("cannot watch for cancels from other processes", { error: String(error) });
    }
  }

  /** Stops watching for cancel requests of other processes (the runtime is closing). */
  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }

  /**
   * `session delete --force`: a live run is aborted first (hard, source `user`) and its owner, in this process or
   * another, is given up to `waitMs` to end it and its processes before the session goes.
   */
  async forceDeleteSession(sessionID: string, waitMs = FORCE_DELETE_WAIT_MS): Promise<void> {
    const row = this.stmt.activeRow.get(sessionID);
    // A command of the run deleting its own session (from the bash tool) would kill itself by aborting the run:
    // it deletes at once instead, and the run ends with SessionNotFoundError.
    const ownGroup = Number(procStat(process.pid)?.[2]);
    const insideRun = row !== undefined && this.recovery.groups(row.id).some((group) => group.pgid === ownGroup);
    if (row && this.runAlive(row) && !insideRun) {
      this.cancel(sessionID, { source: "user", mode: "hard", via: FORCE_DELETE_VIA });
      const deadline = Date.now() + waitMs;
      for (let step = 5; Date.now() < deadline && this.runAlive(row) && this.stmt.get.get(row.id)?.ended_at === null; ) {
        await new Promise((resolve) => setTimeout(resolve, step));
        step = Math.min(step * 2, 100);
      }
    }
    this.deleteSession(sessionID, { force: true });
  }

  /**
   * Called between the spawn and the command's start: the group is on disk before anything of it runs. A run
   * that has ended may record one too (a loop's `--until` command, on its iteration's run); its owner forgets it
   * when the command ends, and a recovery that finds it kills it (`killRecordedGroups`).
   */
  recordProcessGroup(runID: string, pgid: number): void {
    this.stmt.recordGroup.run(runID, pgid, processStartTime(pgid));
  }

  forgetProcessGroups(runID: string): void {
    this.stmt.forgetGroups.run(runID);
  }

  /** Kills what is left of the processes recorded on the run, then forgets them. */
  killRecordedGroups(runID: string): void {
    this.recovery.killGroups(runID);
    this.forgetProcessGroups(runID);
  }

  /**
   * Ends the run's row. When the store cannot take even that write (disk full, read-only), the run is marked
   * beside the database so that recovery reports `store-write-failed` instead of a crash, and the error is thrown.
   * Either way the run is over in this process, and "run.finished" says so: its span ends, event clients see the
   * session idle, and the title generation stops waiting for the run's first answer.
   */
  finish(run: ActiveRun, outcome: RunOutcome, finishReason?: string): void {
    try {
      this.store.transaction(() => {
        this.stmt.finish.run(Date.now(), outcome, finishReason ?? null, run.id);
        this.storeInterrupt(run);
        this.stmt.forgetGroups.run(run.id);
      });
    } catch (error) {
      // Whatever refused it: the mark tells the recovery (of this process too, whose owner is alive) the run is over.
      markStoreWriteFailed(this.store.dir, run.id);
      throw storeUnavailable(error, this.store.dir) ?? error;
    } finally {
      this.active.delete(run.sessionID);
      if (this.active.size === 0) this.close();
      this.store.events.emit("run.finished", run.sessionID, { runID: run.id, outcome });
    }
  }

  rows(sessionID: string): RunRow[] {
    return this.stmt.ofSession.all(sessionID);
  }
}
