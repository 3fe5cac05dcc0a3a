import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { makeProject, mockConfig, runOde, startModel } from "../support/ode.js";

describe("project instructions (AGENTS.md, CLAUDE.md)", () => {
  it("go into the system prompt, most general first; the export lists the files and sanitize redacts their paths", async () => {
    const model = await startModel([{ text: "ok" }]);
    const project = makeProject(mockConfig(model.baseURL));
    const write = (file: string, text: string) => {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, text);
    };
    fs.mkdirSync(path.join(project.dir, ".git"));
    const userFile = path.join(project.env.XDG_CONFIG_HOME!, "ode", "AGENTS.md");
    write(userFile, "GLOBAL-RULE: answer in English.\n");
    write(path.join(project.dir, "AGENTS.md"), "ROOT-RULE: run npm test.\n");
    write(path.join(project.dir, "CLAUDE.md"), "SHADOWED-RULE: never read.\n");
    const sub = path.join(project.dir, "packages", "app");
    write(path.join(sub, "CLAUDE.md"), "APP-RULE: use pnpm here.\n");
    fs.copyFileSync(path.join(project.dir, "ode.json"), path.join(sub, "ode.json"));

    const result = await runOde(project, ["run", "hello"], { cwd: sub });
    expect(result.code).toBe(0);
    const system = model.turnRequests()[0]!.body.messages.find((m: { role: string }) => m.role === "system").content as string;
    const order = ["GLOBAL-RULE", "ROOT-RULE", "APP-RULE"].map((rule) => system.indexOf(rule));
    expect(order.every((i) => i > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(system).not.toContain("SHADOWED-RULE");

    const files = [userFile, path.join(project.dir, "AGENTS.md"), path.join(sub, "CLAUDE.md")];
    const exported = JSON.parse((await runOde(project, ["export"], { cwd: sub })).stdout);
    expect(exported.runtime.instructions).toEqual(files);
    const sanitized = (await runOde(project, ["export", "--sanitize"], { cwd: sub })).stdout;
    expect(JSON.parse(sanitized).runtime.instructions).toEqual(files.map(() => expect.stringMatching(/^\[redacted:instructions:/)));
    for (const file of files) expect(sanitized).not.toContain(file);
    expect(sanitized).not.toContain("AGENTS.md");
    expect(sanitized).not.toContain("CLAUDE.md");
  });

  it("without any instruction file, the prompt and the export have none", async () => {
    const model = await startModel([{ text: "ok" }]);
    const project = makeProject(mockConfig(model.baseURL));
    expect((await runOde(project, ["run", "hello"])).code).toBe(0);
    const system = model.turnRequests()[0]!.body.messages.find((m: { role: string }) => m.role === "system").content as string;
    expect(system).not.toContain("Instructions from");
    expect(JSON.parse((await runOde(project, ["export"])).stdout).runtime.instructions).toEqual([]);
  });
});
