import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, describe, expect, it, vi } from "vitest";
import * as entry from "../index.js";
import { SessionEnvPlugin, type SessionEnvClient, type ShellEnvOutput } from "../plugin.js";
import { startOpenAIServer, type OpenAITestServer, type RecordedRequest, type ScriptedReply } from "../../../test/support/openai-server.js";
import { loopbackModelConfig, OPENCODE_TIMEOUT, opencodeHome, runOpencode } from "../../../test/support/opencode.js";

const PACKAGE = path.resolve(import.meta.dirname, "..");

/** A client whose lookups answer from `titles` (a title changed between two calls is seen by the second). */
function fakeClient(titles: Map<string, string>, options: { logFails?: boolean; lookupThrows?: boolean } = {}) {
  const logged: Array<{ level: string; message: string }> = [];
  const client: SessionEnvClient = {
    session: {
      get: async ({ path: { id } }) => {
        if (options.lookupThrows) throw new Error("connection refused");
        const title = titles.get(id);
        return title === undefined ? { error: { name: "NotFoundError", data: { message: `Session not found: ${id}` } } } : { data: { title } };
      },
    },
    app: {
      log: async ({ body }) => {
        if (options.logFails) throw new Error("connection refused");
        logged.push({ level: body.level, message: body.message });
        return {};
      },
    },
  };
  return { client, logged };
}

async function spawnEnv(client: SessionEnvClient, sessionID: string | undefined, inherited: Record<string, string> = {}) {
  const hooks = await SessionEnvPlugin({ client });
  const output: ShellEnvOutput = { env: { ...inherited } };
  await hooks["shell.env"]({ cwd: "/tmp", sessionID, callID: "call_1" }, output);
  return output.env;
}

afterEach(() => vi.restoreAllMocks());

describe("opencode-session-env, the hook alone", () => {
  it("exports nothing but the plugin: opencode calls every export of the module as a plugin", () => {
    expect(Object.values(entry).every((value) => value === SessionEnvPlugin)).toBe(true);
  });

  it("sets the session's id and its title at the moment of each spawn, replacing inherited values", async () => {
    const titles = new Map([["ses_a", "first title"]]);
    const { client, logged } = fakeClient(titles);
    const stale = { OPENCODE_SESSION_ID: "ses_outer", OPENCODE_SESSION_TITLE: "outer" };
    expect(await spawnEnv(client, "ses_a", stale)).toEqual({ OPENCODE_SESSION_ID: "ses_a", OPENCODE_SESSION_TITLE: "first title" });
    titles.set("ses_a", "renamed\nover two lines\u0000");
    expect(await spawnEnv(client, "ses_a")).toEqual({ OPENCODE_SESSION_ID: "ses_a", OPENCODE_SESSION_TITLE: "renamed over two lines" });
    expect(logged).toEqual([]);
  });

  it("removes both variables and warns once when the lookup fails, the session is unknown or missing", async () => {
    const stale = { OPENCODE_SESSION_ID: "ses_outer", OPENCODE_SESSION_TITLE: "outer", KEEP: "1" };
    const removed = { OPENCODE_SESSION_ID: undefined, OPENCODE_SESSION_TITLE: undefined, KEEP: "1" };
    for (const [options, sessionID] of [[{}, "ses_gone"], [{ lookupThrows: true }, "ses_a"], [{}, undefined]] as const) {
      const { client, logged } = fakeClient(new Map([["ses_a", "title"]]), options);
      expect(await spawnEnv(client, sessionID, stale)).toEqual(removed);
      expect(logged).toEqual([{ level: "warn", message: expect.stringContaining("session variables removed") }]);
    }
  });

  it("still warns once, on stderr, when opencode's log cannot be reached either", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    const { client } = fakeClient(new Map(), { logFails: true, lookupThrows: true });
    expect(await spawnEnv(client, "ses_a")).toEqual({ OPENCODE_SESSION_ID: undefined, OPENCODE_SESSION_TITLE: undefined });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toContain("session lookup failed");
  });
});

describe("opencode-session-env inside the real opencode", () => {
  let model: OpenAITestServer | undefined;
  afterEach(async () => {
    await model?.close();
    model = undefined;
  });

  it(
    "a bash child of `opencode run` sees the session's id and current title, not the ones opencode inherited",
    async () => {
      const hasToolResult = (req: RecordedRequest) => req.body.messages.some((m: { role: string }) => m.role === "tool");
      model = await startOpenAIServer((req): ScriptedReply => {
        if (!req.body.tools?.length) return { text: "A generated title" };
        if (hasToolResult(req)) return { text: "Written." };
        const command = 'printf "%s|%s" "$OPENCODE_SESSION_ID" "$OPENCODE_SESSION_TITLE" > env.txt';
        return { toolCalls: [{ name: "bash", arguments: { command, description: "write the session env" } }] };
      });
      const home = opencodeHome({ ...loopbackModelConfig(model.baseURL), plugin: [pathToFileURL(path.join(PACKAGE, "index.js")).href] });
      const run = await runOpencode(home, ["run", "--format", "json", "--title", "Plugin check: title", "write the session env"], {
        OPENCODE_SESSION_ID: "ses_inherited",
        OPENCODE_SESSION_TITLE: "inherited title",
      });
      expect(run.stderr).not.toContain("failed to load plugin");
      expect(run.code).toBe(0);
      const sessionID = run.stdout.split("\n").filter(Boolean).map((line) => JSON.parse(line).sessionID)[0];
      expect(sessionID).toMatch(/^ses_/);
      expect(fs.readFileSync(path.join(home.dir, "env.txt"), "utf8")).toBe(`${sessionID}|Plugin check: title`);
    },
    OPENCODE_TIMEOUT,
  );
});
