import { describe, expect, it } from "vitest";
import { Store } from "../../src/session/store.js";
import { makeProject, runOde } from "../support/ode.js";

describe("ode session", () => {
  it("lists, shows, renames and deletes sessions", async () => {
    const project = makeProject();
    const store = Store.open(project.dataDir);
    const a = store.createSession({ directory: project.dir, title: "first" });
    store.close();

    const list = await runOde(project, ["session", "list", "--format", "json"]);
    expect(JSON.parse(list.stdout).map((s: { id: string }) => s.id)).toEqual([a.id]);

    const renamed = await runOde(project, ["session", "rename", a.id, "line one\nline\u0007 two"]);
    expect(renamed.code).toBe(0);
    const show = await runOde(project, ["session", "show", a.id]);
    expect(show.stdout).toContain("title     line one line two");

    expect((await runOde(project, ["session", "delete", a.id])).code).toBe(0);
    expect(JSON.parse((await runOde(project, ["session", "list", "--format", "json"])).stdout)).toEqual([]);
  });

  it.each([["show"], ["rename", "new title"], ["delete"], ["abort"]])(
    "session %s of an unknown id fails naming the id and changes nothing",
    async (command, ...rest) => {
      const project = makeProject();
      const store = Store.open(project.dataDir);
      const kept = store.createSession({ directory: project.dir, title: "kept" });
      store.close();
      const result = await runOde(project, ["session", command, "ses_doesnotexist", ...rest]);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain("session not found: ses_doesnotexist");
      const after = Store.open(project.dataDir);
      expect(after.listSessions().map((s) => [s.id, s.title])).toEqual([[kept.id, "kept"]]);
      after.close();
    },
  );
});

describe("unusable paths", () => {
  it("a data directory that cannot be created is one clear line, not a stack trace or a hang", async () => {
    const project = makeProject();
    for (const dataDir of ["/proc/ode-cannot-exist", "/etc/hostname/ode"]) {
      const result = await runOde(project, ["session", "list"], { env: { ODE_DATA_DIR: dataDir } });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(new RegExp(`^ode: cannot mkdir ${dataDir}\\S*: E[A-Z]+\\n$`));
    }
  });

  it("an export to a directory that does not exist says so", async () => {
    const project = makeProject();
    const store = Store.open(project.dataDir);
    const session = store.createSession({ directory: project.dir });
    store.close();
    const result = await runOde(project, ["export", session.id, "-o", "/nonexistent-dir/x.json"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe("ode: cannot open /nonexistent-dir/x.json: ENOENT\n");
  });
});
