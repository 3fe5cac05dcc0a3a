import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { globMatcher } from "../../src/tool/files.js";
import { globTool } from "../../src/tool/glob.js";
import { makeContext, runTool, writeFiles } from "./context.js";

describe("globMatcher", () => {
  const matches = (glob: string, p: string) => globMatcher(glob)(p);

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

  it("supports character classes; regex characters and escaped brackets are literal", () => {
    expect(matches("[A-Z]*.md", "README.md")).toBe(true);
    expect(matches("[A-Z]*.md", "notes.md")).toBe(false);
    expect(matches("file[0-9].txt", "file7.txt")).toBe(true);
    expect(matches("file[!0-9].txt", "file7.txt")).toBe(false);
    expect(matches("\\[id\\].tsx", "[id].tsx")).toBe(true);
    expect(matches("a.b", "axb")).toBe(false);
    expect(matches("a+b", "a+b")).toBe(true);
  });

  it("matches dot files and, with basename, file names anywhere", () => {
    expect(matches("**/.env", "config/.env")).toBe(true);
    expect(globMatcher("*.ts", { basename: true })("src/deep/a.ts")).toBe(true);
    expect(globMatcher("src/*.ts", { basename: true })("lib/src/a.ts")).toBe(false);
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

  it("respects .gitignore files (nested ones too, negations included) and searches node_modules when asked", async () => {
    const ctx = makeContext();
    writeFiles(ctx.directory, {
      ".gitignore": "dist/\n*.log\n!keep.log\n",
      "src/.gitignore": "generated.ts\n",
      "src/a.ts": "",
      "src/generated.ts": "",
      "dist/out.ts": "",
      "debug.log": "",
      "keep.log": "",
      "node_modules/dep/index.ts": "",
    });
    const names = async (input: object) => (await runTool(globTool, input, ctx)).output.split("\n").sort();
    expect(await names({ pattern: "**/*.ts" })).toEqual([path.join("src", "a.ts")]);
    expect(await names({ pattern: "*.log" })).toEqual(["keep.log"]);
    expect(await names({ pattern: "node_modules/**/*.ts" })).toEqual([path.join("node_modules", "dep", "index.ts")]);
    expect(await names({ pattern: "*.ts", path: "node_modules/dep" })).toEqual([path.join("node_modules", "dep", "index.ts")]);
    // A directory the rules exclude, named as the path, is searched.
    expect(await names({ pattern: "*.ts", path: "dist" })).toEqual([path.join("dist", "out.ts")]);
  });
});
