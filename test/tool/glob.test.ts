import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { globTool, globToRegExp } from "../../src/tool/glob.js";
import { makeContext, runTool, writeFiles } from "./context.js";

describe("globToRegExp", () => {
  const matches = (glob: string, p: string) => globToRegExp(glob).test(p);

  it("keeps * and ? within one path segment", () => {
    expect(matches("*.ts", "a.ts")).toBe(true);
    expect(matches("*.ts", "src/a.ts")).toBe(false);
    expect(matches("a?.ts", "ab.ts")).toBe(true);
    expect(matches("a?.ts", "a/.ts")).toBe(false);
  });

  it("lets ** span any number of directories, including none", () => {
    expect(matches("**/*.ts", "a.ts")).toBe(true);
    expect(matches("**/*.ts", "x/y/z/a.ts")).toBe(true);
    expect(matches("src/**/b.ts", "src/b.ts")).toBe(true);
    expect(matches("src/**/b.ts", "src/x/y/b.ts")).toBe(true);
    expect(matches("src/**", "src/x/y.ts")).toBe(true);
    expect(matches("src/**", "lib/x.ts")).toBe(false);
  });

  it("expands braces, including nested ones", () => {
    expect(matches("*.{ts,tsx}", "a.tsx")).toBe(true);
    expect(matches("*.{ts,tsx}", "a.js")).toBe(false);
    expect(matches("{src,test/{unit,e2e}}/*.ts", "test/e2e/a.ts")).toBe(true);
  });

  it("treats regex characters literally", () => {
    expect(matches("[id].tsx", "[id].tsx")).toBe(true);
    expect(matches("a.b", "axb")).toBe(false);
    expect(matches("a+(b)", "a+(b)")).toBe(true);
  });
});

describe("glob tool", () => {
  it("finds files recursively, newest first, skipping node_modules and .git", async () => {
    const ctx = makeContext();
    writeFiles(ctx.directory, {
      "old.ts": "",
      "src/new.ts": "",
      "src/readme.md": "",
      "node_modules/dep/index.ts": "",
      ".git/hooks/x.ts": "",
    });
    fs.utimesSync(path.join(ctx.directory, "old.ts"), new Date(2000, 0, 1), new Date(2000, 0, 1));
    const result = await runTool(globTool, { pattern: "**/*.ts" }, ctx);
    expect(result.output).toBe([path.join("src", "new.ts"), "old.ts"].join("\n"));
    expect(result.metadata).toEqual({ count: 2, truncated: false });
  });

  it("searches under path and reports no matches plainly", async () => {
    const ctx = makeContext();
    writeFiles(ctx.directory, { "a/x.json": "{}", "b/y.json": "{}" });
    const result = await runTool(globTool, { pattern: "*.json", path: "a" }, ctx);
    expect(result.output).toBe(path.join("a", "x.json"));
    expect((await runTool(globTool, { pattern: "*.rs" }, ctx)).output).toBe("No files found");
  });

  it("caps results at 100 with a note", async () => {
    const ctx = makeContext();
    writeFiles(ctx.directory, Object.fromEntries(Array.from({ length: 120 }, (_, i) => [`f${i}.txt`, ""])));
    const result = await runTool(globTool, { pattern: "*.txt" }, ctx);
    expect(result.output.split("\n").filter((l) => l.endsWith(".txt"))).toHaveLength(100);
    expect(result.output).toContain("of 120 matches");
    expect(result.metadata).toEqual({ count: 120, truncated: true });
  });
});
