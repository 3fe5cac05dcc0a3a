import { describe, expect, it } from "vitest";
import { SESSION_ID_VAR, SESSION_TITLE_VAR, sessionEnv } from "../../src/shell/env.js";
import { runCommand } from "../../src/shell/spawn.js";
import { tempDir } from "../support/ode.js";

/** The environment a real child sees, as a map. */
async function childEnv(env: NodeJS.ProcessEnv): Promise<Map<string, string>> {
  const chunks: Buffer[] = [];
  const result = await runCommand("env -0", { cwd: tempDir(), env, onOutput: (c) => chunks.push(c) });
  expect(result.exitCode).toBe(0);
  const entries = Buffer.concat(chunks).toString("utf8").split("\0").filter(Boolean);
  return new Map(entries.map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
}

describe("sessionEnv as a real child sees it", () => {
  const base = { PATH: process.env.PATH, KEEP_ME: "kept", [SESSION_ID_VAR]: "ses_outer", [SESSION_TITLE_VAR]: "outer" };

  it("inherits the base, replaces the session variables with this session's", async () => {
    const env = await childEnv(sessionEnv({ sessionTitle: () => "my title = odd 'chars' $HOME" }, "ses_mine", base));
    expect(env.get("KEEP_ME")).toBe("kept");
    expect(env.get(SESSION_ID_VAR)).toBe("ses_mine");
    expect(env.get(SESSION_TITLE_VAR)).toBe("my title = odd 'chars' $HOME");
  });

  it("removes both variables (not inherited) when the session cannot be looked up", async () => {
    for (const env of [
      sessionEnv({ sessionTitle: () => undefined }, "ses_gone", base),
      sessionEnv({ sessionTitle: () => { throw new Error("store closed"); } }, "ses_x", base),
      sessionEnv({ sessionTitle: () => "t" }, undefined, base),
    ]) {
      const seen = await childEnv(env);
      expect(seen.has(SESSION_ID_VAR)).toBe(false);
      expect(seen.has(SESSION_TITLE_VAR)).toBe(false);
      expect(seen.get("KEEP_ME")).toBe("kept");
    }
  });

  it("reads process.env at spawn time by default", async () => {
    process.env.ODE_ENV_SPAWN_TEST = "late";
    try {
      const env = sessionEnv({ sessionTitle: () => "t" }, "ses_a");
      expect((await childEnv(env)).get("ODE_ENV_SPAWN_TEST")).toBe("late");
    } finally {
      delete process.env.ODE_ENV_SPAWN_TEST;
    }
  });
});
