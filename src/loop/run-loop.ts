import { driveRun, startRun } from "../agent/prompt.js";
import { delay } from "../delay.js";
import type { Runtime } from "../runtime.js";
import type { AbortDiagnostic, CancelMeta } from "../session/abort.js";
import { ConfigError, errorText, InvalidInputError } from "../session/errors.js";
import type { AssistantMessage, MessageError, MessageWithParts } from "../session/schema.js";
import { sessionEnv } from "../shell/env.js";
import { runCommand } from "../shell/spawn.js";
import { withLoopIteration } from "../telemetry/index.js";
import { usageLimit } from "./limits.js";
import { loopExitCode, totalTokens, type IterationEnd, type IterationRecord, type LoopRecord, type LoopStopReason, type StopDetail } from "./loops.js";
import { changedPaths, treeState } from "./progress.js";
import { iterationPrompt, iterationTitle, type LoopSpec } from "./spec.js";

/** `--until` gets this long; a command that hangs must not hold the loop forever. */
const UNTIL_TIMEOUT_MS = 10 * 60_000;
const UNTIL_OUTPUT_CHARS = 2000;
/** `--on-limit wait` waits at most this long for the provider, whatever its retry-after says. */
export const MAX_LIMIT_WAIT_MS = 15 * 60_000;
const DEFAULT_LIMIT_WAIT_MS = 60_000;

export interface LoopResult {
  loopID: string;
  stopReason: LoopStopReason;
  detail: StopDetail;
  iterations: number;
  exitCode: number;
}

export interface LoopHandle {
  loop: LoopRecord;
  /** Stops the loop: the running iteration is cancelled with `meta` and the loop ends as `aborted`. */
  abort(meta: CancelMeta): void;
  done: Promise<LoopResult>;
}

type Stop = { reason: LoopStopReason; detail: StopDetail };

function promiseFound(text: string, promise: string): boolean {
  return text.includes(`<promise>${promise}</promise>`) || text.includes(`<promise>${promise.trim()}</promise>`);
}

/** The run's final assistant text, as stored after the run ended: never the prompt, a tool output or reasoning. */
function finalText(messages: MessageWithParts[], assistantIDs: string[]): string {
  const last = assistantIDs.at(-1);
  const message = messages.find((m) => m.info.id === last);
  return (message?.parts ?? []).flatMap((p) => (p.type === "text" ? [p.text] : [])).join("");
}

/**
 * Starts a loop (or resumes an ended one, numbering on) synchronously: the loop row exists and its id is known
 * before anything is awaited, as with `startRun`. Each iteration is a fresh session and an ordinary run.
 */
export function startLoop(rt: Runtime, spec: LoopSpec, options: { resume?: string } = {}): LoopHandle {
  const loop = options.resume ? rt.loops.reopen(options.resume, spec) : rt.loops.create(rt.directory, spec.name, spec);
  const driver = new LoopDriver(rt, loop, spec);
  rt.events.emit("loop.started", "", { loopID: loop.id, name: loop.name, resumed: Boolean(options.resume) });
  return { loop, abort: (meta) => driver.abort(meta), done: driver.drive() };
}

class LoopDriver {
  private n: number;
  private stretch = 0;
  private tokens = 0;
  private failures = 0;
  private idle = 0;
  private abortMeta?: CancelMeta;
  /** The abort diagnostic of the iteration that ended last, if it was aborted. */
  private lastAbort?: AbortDiagnostic;
  private durationExceeded = false;
  private currentSession = "";
  /** The running iteration's run: the only run the loop ever cancels. */
  private currentRun = "";
  /** Cuts the `--until` command and the wait for a rate limit when the loop is stopped. */
  private readonly stopping = new AbortController();
  /** A hard abort (a second signal) kills the `--until` command at once, also during a soft kill's grace period. */
  private readonly killNow = new AbortController();

  constructor(
    private readonly rt: Runtime,
    private readonly loop: LoopRecord,
    private readonly spec: LoopSpec,
  ) {
    this.n = rt.loops.lastIteration(loop.id)?.n ?? 0;
  }

  abort(meta: CancelMeta): void {
    this.abortMeta ??= meta;
    this.cancelIteration(meta);
    this.stopping.abort(meta);
    if (meta.mode === "hard") this.killNow.abort(meta);
  }

  /**
   * The running iteration's run, while it runs: during `--until` or a wait, the session may hold a run started
   * since (by another process, or by a client of the same server), which the loop does not stop.
   */
  private cancelIteration(meta: CancelMeta): void {
    if (this.currentRun) this.rt.runs.cancelRun(this.currentSession, this.currentRun, meta);
  }

  private iterationRunning(): boolean {
    return this.currentRun !== "" && this.rt.runs.get(this.currentSession)?.id === this.currentRun;
  }

  async drive(): Promise<LoopResult> {
    const started = Date.now();
    const deadline = this.spec.maxDurationMs === undefined ? undefined : started + this.spec.maxDurationMs;
    const timer =
      this.spec.maxDurationMs === undefined
        ? undefined
        : setTimeout(() => {
            this.durationExceeded = true;
            this.cancelIteration({ source: "timeout", via: "loop", reason: `loop max duration of ${this.spec.maxDurationMs} ms` });
            this.stopping.abort();
          }, this.spec.maxDurationMs);
    // Woken by `ode loop abort` while no run of the loop is going; during a run, the run's own cancel ends it first.
    const unwake = this.rt.runs.onWake(() => {
      if (!this.iterationRunning()) this.remoteAbort();
    });
    let stop: Stop;
    try {
      for (;;) {
        const before = this.before(deadline);
        if (before) {
          stop = before;
          break;
        }
        const iteration = await this.iterate();
        const after = await this.after(iteration);
        if (after) {
          stop = after;
          break;
        }
      }
    } catch (error) {
      stop = { reason: "failures", detail: { message: errorText(error) } };
    } finally {
      if (timer) clearTimeout(timer);
      unwake();
    }
    this.rt.loops.finish(this.loop.id, stop.reason, stop.detail);
    this.rt.events.emit("loop.finished", this.currentSession, {
      loopID: this.loop.id,
      stop_reason: stop.reason,
      stop_detail: stop.detail,
      iterations: this.n,
    });
    return { loopID: this.loop.id, stopReason: stop.reason, detail: stop.detail, iterations: this.n, exitCode: loopExitCode(stop.reason) };
  }

  /** The request another process wrote on the loop row (`ode loop abort`), taken as this loop's own abort. */
  private remoteAbort(): void {
    const request = this.rt.loops.abortRequest(this.loop.id);
    if (request && !this.abortMeta) this.abort(request);
  }

  private aborted(): Stop | undefined {
    this.remoteAbort();
    const meta = this.abortMeta;
    if (!meta) return undefined;
    // The iteration the stop cut short carries the full provenance (phase, tool call, title state); a request
    // read only after that iteration ended (another process's `ode loop abort`) is still the one that cut it.
    const cut = this.lastAbort && this.lastAbort.source === meta.source && this.lastAbort.via === meta.via ? this.lastAbort : undefined;
    const abort = cut ?? { ...meta, recorded_at: Date.now() };
    return { reason: "aborted", detail: { message: "the loop was aborted", abort } };
  }

  /** The limits that can stop the loop before another iteration starts. */
  private before(deadline: number | undefined): Stop | undefined {
    const aborted = this.aborted();
    if (aborted) return aborted;
    if (this.durationExceeded || (deadline !== undefined && Date.now() >= deadline)) {
      return { reason: "max_duration", detail: { message: `the loop ran for its ${this.spec.maxDurationMs} ms` } };
    }
    if (this.spec.maxIterations !== 0 && this.stretch >= this.spec.maxIterations) {
      return { reason: "max_iterations", detail: { message: `${this.spec.maxIterations} iterations ran` } };
    }
    return undefined;
  }

  private async iterate(): Promise<IterationRecord> {
    const { rt, loop, spec } = this;
    const n = ++this.n;
    this.stretch++;
    const before = await treeState(loop.directory, rt.dataDir);
    const session = rt.store.createSession({ directory: loop.directory, title: iterationTitle(spec, loop.id, n) });
    rt.loops.startIteration(loop.id, n, session.id);
    this.currentSession = session.id;
    const end: IterationEnd = { outcome: "error", abort: null, error: null, promise: null, until_exit: null, until_output: null, tokens: 0, files_changed: null };
    let timer: NodeJS.Timeout | undefined;
    try {
      // Traced, the run's span is a child of the loop's, tagged with the iteration.
      const started = withLoopIteration(rt, loop.id, n, () =>
        startRun(rt, { sessionID: session.id, text: iterationPrompt(spec), ...(spec.model ? { model: spec.model } : {}) }),
      );
      this.currentRun = started.run.id;
      rt.loops.setIterationRun(loop.id, n, started.run.id);
      rt.events.emit("loop.iteration.started", session.id, { loopID: loop.id, iteration: n, runID: started.run.id });
      // A stop that came while the run was being opened lands on it now.
      this.remoteAbort();
      if (this.abortMeta) rt.runs.cancel(session.id, this.abortMeta);
      if (spec.iterationTimeoutMs !== undefined) {
        timer = setTimeout(
          () => rt.runs.cancel(session.id, { source: "timeout", via: "loop", reason: `iteration timeout of ${spec.iterationTimeoutMs} ms` }),
          spec.iterationTimeoutMs,
        );
      }
      const result = await driveRun(rt, started);
      clearTimeout(timer);
      await result.titleDone;
      end.outcome = result.outcome;
      end.error = result.outcome === "error" ? (result.error ?? null) : null;
      const row = rt.runs.rows(session.id).find((r) => r.id === started.run.id);
      end.abort = row?.interrupt ? (JSON.parse(row.interrupt) as AbortDiagnostic) : null;
      // Read once, after the run ended: the tokens and the final answer both come from what the store holds.
      const messages = rt.store.messages(session.id);
      const assistants = messages
        .map((m) => m.info)
        .filter((info): info is AssistantMessage => info.role === "assistant" && result.assistantMessageIDs.includes(info.id));
      end.tokens = assistants.reduce((sum, m) => sum + totalTokens(m), 0);
      if (spec.completionPromise !== undefined) end.promise = promiseFound(finalText(messages, result.assistantMessageIDs), spec.completionPromise);
      if (spec.until !== undefined && !this.abortMeta && !this.durationExceeded) Object.assign(end, await this.runUntil(session.id, started.run.id));
    } catch (error) {
      clearTimeout(timer);
      end.error = { name: error instanceof Error ? error.name : "UnknownError", data: { message: errorText(error) } };
      // A loop whose every iteration must fail the same way (no model, a missing prompt file) stops at once.
      if (error instanceof ConfigError || error instanceof InvalidInputError) {
        this.finishIteration(n, end, await treeState(loop.directory, rt.dataDir), before);
        throw error;
      }
    }
    this.lastAbort = end.abort ?? undefined;
    return this.finishIteration(n, end, await treeState(loop.directory, rt.dataDir), before);
  }

  private finishIteration(n: number, end: IterationEnd, after: Map<string, string>, before: Map<string, string>): IterationRecord {
    end.files_changed = changedPaths(before, after);
    this.rt.loops.finishIteration(this.loop.id, n, end);
    // The iteration just finished is the loop's last: one row, however long the loop has run.
    const record = this.rt.loops.lastIteration(this.loop.id)!;
    this.rt.events.emit("loop.iteration.finished", record.session_id, { loopID: this.loop.id, iteration: record });
    return record;
  }

  /** The command's group is recorded on the iteration's run, so a recovery after a kill -9 kills it too. */
  private async runUntil(sessionID: string, runID: string): Promise<Pick<IterationEnd, "until_exit" | "until_output">> {
    let output = "";
    const result = await runCommand(this.spec.until!, {
      cwd: this.loop.directory,
      env: sessionEnv(this.rt.store, sessionID),
      signal: this.stopping.signal,
      killNow: this.killNow.signal,
      timeoutMs: UNTIL_TIMEOUT_MS,
      onSpawn: (pgid) => this.rt.runs.recordProcessGroup(runID, pgid),
      onOutput: (chunk) => {
        output = (output + chunk.toString("utf8")).slice(-UNTIL_OUTPUT_CHARS);
      },
    }).finally(() => this.rt.runs.forgetProcessGroups(runID));
    const exit = result.exitCode ?? (result.signal ? 128 : 1);
    return { until_exit: exit, until_output: output };
  }

  /** The conditions checked once an iteration has ended, in order of precedence. */
  private async after(iteration: IterationRecord): Promise<Stop | undefined> {
    const { spec } = this;
    const aborted = this.aborted();
    if (aborted) return aborted;
    if (this.durationExceeded) return { reason: "max_duration", detail: { message: `the loop ran for its ${spec.maxDurationMs} ms` } };
    const done = iteration.promise === true || iteration.until_exit === 0;
    if (done && this.n >= spec.minIterations) {
      const message = iteration.promise ? `the completion promise appeared in iteration ${iteration.n}` : `--until exited 0 after iteration ${iteration.n}`;
      return { reason: "completed", detail: { message } };
    }
    const limit = usageLimit(iteration.error ?? undefined);
    if (limit) {
      if (spec.onLimit === "stop") return { reason: "usage_limit", detail: { message: this.errorLine(iteration.error!) } };
      await this.wait(Math.min(limit.retryAfterMs ?? DEFAULT_LIMIT_WAIT_MS, MAX_LIMIT_WAIT_MS));
    } else if (iteration.outcome === "error") {
      if (++this.failures >= spec.maxFailures) {
        return { reason: "failures", detail: { message: `${this.failures} iterations in a row ended in an error; last: ${this.errorLine(iteration.error)}` } };
      }
    } else {
      this.failures = 0;
    }
    this.idle = iteration.files_changed === 0 ? this.idle + 1 : 0;
    if (spec.noProgress !== undefined && this.idle >= spec.noProgress) {
      return { reason: "no_progress", detail: { message: `${this.idle} iterations in a row changed nothing in the working tree` } };
    }
    this.tokens += iteration.tokens;
    if (spec.maxTokens !== undefined && this.tokens >= spec.maxTokens) {
      return { reason: "budget", detail: { message: `${this.tokens} tokens used, the budget is ${spec.maxTokens}` } };
    }
    return undefined;
  }

  private errorLine(error: MessageError | null): string {
    if (!error) return "unknown error";
    const status = (error.data as { statusCode?: unknown }).statusCode;
    return `${error.name}${typeof status === "number" ? ` ${status}` : ""}: ${error.data.message ?? ""}`;
  }

  private wait(ms: number): Promise<void> {
    return delay(ms, this.stopping.signal);
  }
}
