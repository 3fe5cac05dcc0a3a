import type { Log } from "../log.js";

export const SESSION_ID_VAR = "OPENCODE_SESSION_ID";
export const SESSION_TITLE_VAR = "OPENCODE_SESSION_TITLE";

/** Process-wide markers, set once at startup so every child (and grandchild) knows it runs under an agent. */
export function markAgentProcess(env: NodeJS.ProcessEnv = process.env): void {
  env.AGENT = "1";
  env.OPENCODE = "1";
}

export const LOOP_ID_VAR = "ODE_LOOP_ID";
export const LOOP_ITERATION_VAR = "ODE_LOOP_ITERATION";

export interface TitleLookup {
  sessionTitle(sessionID: string): string | undefined;
  /** The loop and iteration the session runs for; sessions outside a loop have none. */
  loopOf?(sessionID: string): { loopID: string; iteration: number } | undefined;
  /** Where a spawn without its session's variables is reported (the store's log); without one, it is not. */
  readonly log?: Log;
}

/**
 * The environment of one spawn: the session's id and its title read from the store at this moment. Inherited
 * values (ode inside ode) are always replaced or removed, never passed through.
 *
 * The result inherits from `base` (its prototype) rather than copying it: pass it to `child_process.spawn`, whose
 * env handling includes inherited keys and skips undefined values, not to code that copies own keys only.
 */
export function sessionEnv(
  lookup: TitleLookup,
  sessionID: string | undefined,
  base: NodeJS.ProcessEnv = process.env,
): NodeJS.ProcessEnv {
  // A copy would read every variable of process.env through its native getter, and spawn reads them all again;
  // inheriting lets spawn read them once (issue 4 benchmark). Set to undefined = removed from the child's env.
  const env: NodeJS.ProcessEnv = Object.create(base);
  // Set per spawn too, so a library runtime that leaves process.env alone still marks its children.
  markAgentProcess(env);
  env[SESSION_ID_VAR] = undefined;
  env[SESSION_TITLE_VAR] = undefined;
  env[LOOP_ID_VAR] = undefined;
  env[LOOP_ITERATION_VAR] = undefined;
  if (!sessionID) {
    lookup.log?.warn("spawn without a session: session variables removed");
    return env;
  }
  let title: string | undefined;
  let loop: { loopID: string; iteration: number } | undefined;
  try {
    title = lookup.sessionTitle(sessionID);
    loop = title === undefined ? undefined : lookup.loopOf?.(sessionID);
  } catch (error) {
    lookup.log?.warn("session lookup failed: session variables removed", { sessionID, error: String(error) });
    return env;
  }
  if (title === undefined) {
    lookup.log?.warn("session not found at spawn: session variables removed", { sessionID });
    return env;
  }
  env[SESSION_ID_VAR] = sessionID;
  env[SESSION_TITLE_VAR] = title;
  if (loop) {
    env[LOOP_ID_VAR] = loop.loopID;
    env[LOOP_ITERATION_VAR] = String(loop.iteration);
  }
  return env;
}
