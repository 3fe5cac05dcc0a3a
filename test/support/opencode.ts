import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { collect, ROOT, tempDir, type OdeResult } from "./ode.js";

/** The real opencode binary shipped by the `opencode-ai` dev dependency (the platform package holds it). */
export const OPENCODE = path.join(ROOT, "node_modules", ".bin", "opencode");

/** Its start-up takes seconds on a loaded machine; the import and run tests allow for that. */
export const OPENCODE_TIMEOUT = 120_000;

export interface OpencodeHome {
  /** The project directory opencode runs in. */
  dir: string;
  env: NodeJS.ProcessEnv;
}

/**
 * opencode installs its plugin API package (`@opencode-ai/plugin`) into its config directory whenever a plugin is
 * configured, and waits for that before loading plugins: over a minute of npm retries without a network. It skips
 * the install when `node_modules` exists and the lockfile already lists every declared dependency; the plugin
 * under test imports nothing, so an empty install that looks complete is the truth.
 */
function seedConfigDir(configHome: string): void {
  const dir = path.join(configHome, "opencode");
  fs.mkdirSync(path.join(dir, "node_modules"), { recursive: true });
  const dependencies = { "@opencode-ai/plugin": "1.18.33" };
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ dependencies }));
  fs.writeFileSync(path.join(dir, "package-lock.json"), JSON.stringify({ lockfileVersion: 3, packages: { "": { dependencies } } }));
}

/**
 * A private home for one opencode process: its own data, config, cache and state directories, nothing read from
 * the user's, and every path to the network closed (auto-update, models.dev, sharing, LSP downloads, and npm,
 * whose registry is a closed loopback port).
 */
export function opencodeHome(config: object = {}): OpencodeHome {
  const root = tempDir("ode-opencode-");
  const dir = path.join(root, "project");
  fs.mkdirSync(dir);
  seedConfigDir(path.join(root, "config"));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // opencode takes its project directory from PWD when set, not from the cwd it was started in.
    PWD: dir,
    HOME: path.join(root, "home"),
    XDG_DATA_HOME: path.join(root, "data"),
    XDG_CONFIG_HOME: path.join(root, "config"),
    XDG_CACHE_HOME: path.join(root, "cache"),
    XDG_STATE_HOME: path.join(root, "state"),
    npm_config_registry: "http://127.0.0.1:9/",
    OPENCODE_DISABLE_AUTOUPDATE: "1",
    OPENCODE_DISABLE_MODELS_FETCH: "1",
    OPENCODE_DISABLE_SHARE: "1",
    OPENCODE_DISABLE_LSP_DOWNLOAD: "1",
    OPENCODE_DISABLE_CLAUDE_CODE: "1",
    OPENCODE_DISABLE_EXTERNAL_SKILLS: "1",
    OPENCODE_DISABLE_DEFAULT_PLUGINS: "1",
    OPENCODE_CONFIG_CONTENT: JSON.stringify({ $schema: "https://opencode.ai/config.json", autoupdate: false, share: "disabled", ...config }),
  };
  for (const key of ["OPENCODE_SESSION_ID", "OPENCODE_SESSION_TITLE", "OPENCODE_SERVER_PASSWORD", "OPENCODE_SERVER_USERNAME", "OPENCODE", "AGENT"]) {
    delete env[key];
  }
  return { dir, env };
}

/** opencode config for the loopback OpenAI-compatible test model, with bash allowed without asking. */
export function loopbackModelConfig(baseURL: string): object {
  return {
    model: "mock/test-model",
    provider: {
      mock: {
        npm: "@ai-sdk/openai-compatible",
        name: "Loopback",
        options: { baseURL, apiKey: "test" },
        models: { "test-model": { name: "Test model", tool_call: true } },
      },
    },
    permission: { bash: "allow" },
  };
}

export function startOpencode(home: OpencodeHome, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const child = spawn(OPENCODE, args, { cwd: home.dir, env: { ...home.env, ...env }, stdio: ["pipe", "pipe", "pipe"] });
  child.stdin!.end();
  return child;
}

export function runOpencode(home: OpencodeHome, args: string[], env: NodeJS.ProcessEnv = {}): Promise<OdeResult> {
  const child = startOpencode(home, args, env);
  const timer = setTimeout(() => child.kill("SIGKILL"), OPENCODE_TIMEOUT);
  return collect(child).finally(() => clearTimeout(timer));
}
