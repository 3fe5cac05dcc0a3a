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
