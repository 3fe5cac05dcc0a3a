/** Errors the CLI and server map to messages and exit/HTTP codes. */
export class OdeError extends Error {
  readonly status: number = 500;
}

export class SessionNotFoundError extends OdeError {
  override name = "SessionNotFoundError";
  override readonly status = 404;
  constructor(readonly sessionID: string) {
    super(`session not found: ${sessionID}`);
  }
}

export class SessionBusyError extends OdeError {
  override name = "SessionBusyError";
  override readonly status = 409;
  constructor(
    readonly sessionID: string,
    readonly runID?: string,
  ) {
    super(`session ${sessionID} is busy: run ${runID ?? "(unknown)"} is still running; wait for it or abort it with \`ode session abort ${sessionID}\``);
  }
}

export class ConfigError extends OdeError {
  override name = "ConfigError";
  override readonly status = 400;
}

export class InvalidInputError extends OdeError {
  override name = "InvalidInputError";
  override readonly status = 400;
}

/** The message of anything thrown, for one-line reports and stored error fields. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A field path as a reader writes it: `messages[2].parts[0].id`; `fallback` names the whole value. */
export function fieldPath(path: readonly PropertyKey[], fallback = "(root)"): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    // A key that is not a plain name is quoted as JSON, so a newline or a lone surrogate in a hostile key cannot
    // break the one-line message.
    else if (/^[\w$-]+$/.test(String(key))) out += `${out ? "." : ""}${String(key)}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out || fallback;
}

/** The first problem a schema found, as `field: message`, so every bad input names its field the same way. */
export function firstIssue(error: { issues: ReadonlyArray<{ path: readonly PropertyKey[]; message: string }> }, fallback?: string): string {
  const issue = error.issues[0]!;
  return `${fieldPath(issue.path, fallback)}: ${issue.message}`;
}
