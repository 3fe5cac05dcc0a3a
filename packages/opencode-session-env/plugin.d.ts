export declare const SESSION_ID_VAR = "OPENCODE_SESSION_ID";
export declare const SESSION_TITLE_VAR = "OPENCODE_SESSION_TITLE";

export declare function envTitle(raw: string): string;

/** The part of opencode's SDK client the plugin uses. */
export interface SessionEnvClient {
  session: {
    get(options: { path: { id: string } }): Promise<{ data?: { title?: unknown }; error?: unknown }>;
  };
  app: {
    log(options: {
      body: { service: string; level: "debug" | "info" | "warn" | "error"; message: string; extra?: Record<string, unknown> };
    }): Promise<{ error?: unknown } | undefined>;
  };
}

export interface ShellEnvInput {
  cwd: string;
  sessionID?: string;
  callID?: string;
}

export interface ShellEnvOutput {
  env: Record<string, string | undefined>;
}

export declare const SessionEnvPlugin: (input: { client: SessionEnvClient }) => Promise<{
  "shell.env": (input: ShellEnvInput, output: ShellEnvOutput) => Promise<void>;
}>;
