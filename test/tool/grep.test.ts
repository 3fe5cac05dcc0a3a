import path from "node:path";
import { describe, expect, it } from "vitest";
import { grepTool } from "../../src/tool/grep.js";
import { ToolError } from "../../src/tool/tool.js";
import { makeContext, runTool, writeFiles } from "./context.js";

describe("grep tool", () => {
  it("reports path:line: text for matching lines", async () => {
    const ctx = makeContext();
    writeFiles(ctx.directory, { "src/a.ts": "const x = 1;\nfunction foo() {}\n", "b.md": "no match\n" });
    const result = await runTool(grepTool, { pattern: "function\\s+\\w+" }, ctx);
    expect(result.output).toBe(`${path.join("src", "a.ts")}:2: function foo() {}`);
    expect(result.metadata).toEqual({ matches: 1, truncated: false });
  });

  it("filters by include and path", async () => {
    const ctx = makeContext();
    writeFiles(ctx.directory, { "a.ts": "hit\n", "a.js": "hit\n", "sub/b.ts": "hit\n" });
    const byInclude = await runTool(grepTool, { pattern: "hit", include: "*.ts" }, ctx);
    expect(byInclude.output.split("\n").sort()).toEqual(["a.ts:1: hit", `${path.join("sub", "b.ts")}:1: hit`]);
    const byPath = await runTool(grepTool, { pattern: "hit", path: "sub" }, ctx);
    expect(byPath.output).toBe(`${path.join("sub", "b.ts")}:1: hit`);
    const singleFile = await runTool(grepTool, { pattern: "hit", path: "a.js" }, ctx);
    expect(singleFile.output).toBe("a.js:1: hit");
  });

  it("skips node_modules, .git, binary files and files over 2 MiB", async () => {
    const ctx = makeContext();
    writeFiles(ctx.directory, {
      "node_modules/x/i.js": "needle\n",
      ".git/config": "needle\n",
      "bin.dat": Buffer.concat([Buffer.from("needle\n"), Buffer.from([0])]),
      "huge.txt": "needle\n" + "x".repeat(2 * 1024 * 1024),
      "ok.txt": "needle\n",
    });
    const result = await runTool(grepTool, { pattern: "needle" }, ctx);
    expect(result.output).toBe("ok.txt:1: needle");
  });

  it("stops at 100 matches with a note", async () => {
    const ctx = makeContext();
    writeFiles(ctx.directory, { "many.txt": "match\n".repeat(150) });
    const result = await runTool(grepTool, { pattern: "match" }, ctx);
    expect(result.output.split("\n").filter((l) => l.startsWith("many.txt:"))).toHaveLength(100);
    expect(result.output).toContain("stopped at 100 matches");
    expect(result.metadata).toEqual({ matches: 100, truncated: true });
  });

  it("rejects an invalid regex and says so", async () => {
    const ctx = makeContext();
    const search = runTool(grepTool, { pattern: "foo(" }, ctx);
    await expect(search).rejects.toThrow(ToolError);
    await expect(search).rejects.toThrow(/invalid regex/);
  });

  it("reports no matches plainly", async () => {
    const ctx = makeContext();
    writeFiles(ctx.directory, { "a.txt": "abc\n" });
    expect((await runTool(grepTool, { pattern: "zzz" }, ctx)).output).toBe("No matches found");
  });

  it("respects .gitignore, takes character classes in include, and searches node_modules when the path names it", async () => {
    const ctx = makeContext();
    writeFiles(ctx.directory, {
      ".gitignore": "build/\n",
      "build/x.md": "needle\n",
      "Notes.md": "needle\n",
      "notes.md": "needle\n",
      "node_modules/dep/README.md": "needle\n",
    });
    expect((await runTool(grepTool, { pattern: "needle" }, ctx)).output.split("\n").sort()).toEqual(["Notes.md:1: needle", "notes.md:1: needle"]);
    expect((await runTool(grepTool, { pattern: "needle", include: "[A-Z]*.md" }, ctx)).output).toBe("Notes.md:1: needle");
    expect((await runTool(grepTool, { pattern: "needle", path: "node_modules" }, ctx)).output).toBe(
      `${path.join("node_modules", "dep", "README.md")}:1: needle`,
    );
  });
});
