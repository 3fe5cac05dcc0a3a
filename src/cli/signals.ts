import type { Runtime } from "../runtime.js";
import type { CancelMeta, CancelSource } from "../session/abort.js";

/** What a signal to a one-shot command (`ode run`, `ode shell`) means for its run. */
const SIGNALS: Record<"SIGINT" | "SIGTERM" | "SIGHUP" | "SIGQUIT", CancelSource> = {
  SIGINT: "signal",
  SIGTERM: "shutdown",
  // The terminal was closed, or the user asked for a quit: as deliberate as Ctrl-C.
  SIGHUP: "signal",
  SIGQUIT: "signal",
};

type CancelSignal = keyof typeof SIGNALS;

/**
 * Ctrl-C, SIGHUP and SIGQUIT cancel with source `signal` (SIGTERM: `shutdown`), `via` the signal. The command never
 * exits from the handler: it exits when what it runs has ended, its processes are gone and its records are
 * committed. A second signal escalates the cancel to `hard` (processes are SIGKILLed at once; the run counts it in
 * `cancel_count`) and fires `onEscalate`, so the command stops waiting for anything but the run. `except` leaves
 * signals to a handler of the command's own (the interactive prompt's Ctrl-C).
 */
export function wireSignals(
  cancel: (meta: CancelMeta & { via: CancelSignal; mode: "soft" | "hard" }) => void,
  options: { onEscalate?: () => void; except?: CancelSignal[] } = {},
): () => void {
  let received = 0;
  const wired = (Object.keys(SIGNALS) as CancelSignal[]).filter((signal) => !options.except?.includes(signal));
  const handlers = wired.map((signal) => {
    const handler = () => {
      const hard = ++received > 1;
      cancel({ source: SIGNALS[signal], via: signal, mode: hard ? "hard" : "soft" });
      if (hard) options.onEscalate?.();
    };
    process.on(signal, handler);
    return () => process.off(signal, handler);
  });
  return () => {
    for (const off of handlers) off();
  };
}

/**
 * `wireSignals` for a one-shot command's run (`ode run`, `ode shell`). Only the run of this process is cancelled:
 * once it has ended (the command waits for the title), a signal stops the waiting and never reaches a run that
 * another process has started in the session since.
 */
export function wireRunSignals(rt: Runtime, sessionID: string, onEscalate: () => void = () => {}): () => void {
  return wireSignals((meta) => rt.runs.cancelOwn(sessionID, meta) || onEscalate(), { onEscalate });
}

/**
 * Ctrl-C handling shared by the commands that run something: the first SIGINT calls `first`; a second one exits
 * at once with 130, for a user who does not want to wait for the abort to settle. Returns the detach function.
 */
export function onInterrupt(first: () => void): () => void {
  let interrupts = 0;
  const handler = () => {
    if (++interrupts > 1) process.exit(130);
    first();
  };
  process.on("SIGINT", handler);
  return () => process.off("SIGINT", handler);
}
