import { describe, expect, it } from "vitest";
import { makeProject, runOde, scriptedConfig } from "../support/ode.js";

describe("everyday inputs", () => {
  it("ode shell ID passes the command's own options through", async () => {
    const project = makeProject(scriptedConfig({ title: "t", steps: [{ text: "ok" }] }));
    expect((await runOde(project, ["run", "hi"])).code).toBe(0);
    const [session] = JSON.parse((await runOde(project, ["session", "list", "--format", "json"])).stdout) as Array<{ id: string }>;
    const listing = await runOde(project, ["shell", session!.id, "ls", "-la"]);
    expect(listing.stderr).toBe("");
    expect(listing.stdout).toMatch(/^total \d+\n[\s\S]*ode\.json/);
    const echo = await runOde(project, ["shell", session!.id, "echo", "-n", "--version", "-s"]);
    expect(echo.stdout).toBe("--version -s");
  });

  it("`echo hi | ode` without a model says how to configure one and leaves no empty session", async () => {
    const project = makeProject();
    const result = await runOde(project, [], { input: "hi\n" });
    expect(result.stdout).toContain("no model is configured");
    const list = await runOde(project, ["session", "list", "--format", "json"]);
    expect(JSON.parse(list.stdout)).toEqual([]);
  });

  it("the prompt: /switch takes an unambiguous id prefix, the prompt shows the short id, quitting ends the line", async () => {
    const project = makeProject(scriptedConfig({ title: "t", steps: [{ text: "ok" }] }));
    const first = await runOde(project, [], { input: "/new\n/new\n/exit\n" });
    expect(first.code).toBe(0);
    const list = JSON.parse((await runOde(project, ["session", "list", "--format", "json"])).stdout) as Array<{ id: string }>;
    expect(list).toHaveLength(2);
    const [a, b] = list.map((s) => s.id) as [string, string];
    let shared = 0;
    while (a[shared] === b[shared]) shared++;
    const result = await runOde(project, [], { input: `/switch ${a.slice(0, shared + 1)}\n/switch ${a.slice(0, shared)}\n!echo $OPENCODE_SESSION_ID\n` });
    expect(result.stdout).toContain(`switched to ${a}`);
    expect(result.stdout).toMatch(/is ambiguous: ses_\w+, ses_\w+/);
    expect(result.stdout).toContain(`New session - `);
    expect(result.stdout).toContain(`(${a.slice(0, 13)})> ${a}\n`);
    // Ended by the end of its input, the prompt still ends its last line.
    expect(result.stdout.endsWith("> \n")).toBe(true);
  });
});
