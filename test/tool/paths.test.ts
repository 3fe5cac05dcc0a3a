import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { displayPath, resolveToolPath } from "../../src/tool/paths.js";
import { readTool } from "../../src/tool/read.js";
import { ToolError } from "../../src/tool/tool.js";
import { writeTool } from "../../src/tool/write.js";
import { makeContext, runTool, tempDir } from "./context.js";

describe("resolveToolPath", () => {
  it("resolves relative paths against the project and accepts absolute ones inside it", () => {
    const ctx = makeContext();
    expect(resolveToolPath(ctx, "src/a.ts")).toBe(path.join(ctx.directory, "src/a.ts"));
    expect(resolveToolPath(ctx, path.join(ctx.directory, "b.ts"))).toBe(path.join(ctx.directory, "b.ts"));
    expect(resolveToolPath(ctx, "not/yet/created.txt")).toBe(path.join(ctx.directory, "not/yet/created.txt"));
  });

  it("refuses paths that leave the project", () => {
    const ctx = makeContext();
    expect(() => resolveToolPath(ctx, "../escape.txt")).toThrow(ToolError);
    expect(() => resolveToolPath(ctx, "../escape.txt")).toThrow("path outside the project directory: ../escape.txt");
    expect(() => resolveToolPath(ctx, "/etc/passwd")).toThrow("path outside the project directory: /etc/passwd");
    // A sibling sharing the project's name as a prefix is still outside.
    expect(() => resolveToolPath(ctx, `${ctx.directory}-other/x`)).toThrow(ToolError);
  });

  it("allows outside paths when the config says so", () => {
    const ctx = makeContext({ allowOutsidePaths: true });
    expect(resolveToolPath(ctx, "/etc/passwd")).toBe("/etc/passwd");
    expect(resolveToolPath(ctx, "../x")).toBe(path.resolve(ctx.directory, "../x"));
  });

  it("refuses symlinks inside the project that point outside it, even dangling ones", () => {
    const ctx = makeContext();
    const outside = tempDir();
    fs.writeFileSync(path.join(outside, "secret.txt"), "secret");
    fs.symlinkSync(outside, path.join(ctx.directory, "link"));
    fs.symlinkSync(path.join(outside, "missing.txt"), path.join(ctx.directory, "dangling"));
    expect(() => resolveToolPath(ctx, "link/secret.txt")).toThrow(ToolError);
    expect(() => resolveToolPath(ctx, "link/new/file.txt")).toThrow(ToolError);
    expect(() => resolveToolPath(ctx, "dangling")).toThrow(ToolError);
  });

  it("accepts symlinks that stay inside the project", () => {
    const ctx = makeContext();
    fs.mkdirSync(path.join(ctx.directory, "real"));
    fs.symlinkSync(path.join(ctx.directory, "real"), path.join(ctx.directory, "alias"));
    expect(resolveToolPath(ctx, "alias/file.txt")).toBe(path.join(ctx.directory, "alias/file.txt"));
  });

  it("keeps tools from touching files outside the project", async () => {
    const ctx = makeContext();
    const outside = tempDir();
    const target = path.join(outside, "x.txt");
    await expect(runTool(writeTool, { filePath: target, content: "no" }, ctx)).rejects.toThrow(ToolError);
    expect(fs.existsSync(target)).toBe(false);
    fs.writeFileSync(target, "hello");
    await expect(runTool(readTool, { filePath: target }, ctx)).rejects.toThrow("path outside the project directory");
    const allowed = await runTool(readTool, { filePath: target }, { ...ctx, allowOutsidePaths: true });
    expect(allowed.output).toContain("00001| hello");
  });
});

describe("displayPath", () => {
  it("shows project paths relative and others absolute", () => {
    const ctx = makeContext();
    expect(displayPath(ctx, path.join(ctx.directory, "a/b.ts"))).toBe(path.join("a", "b.ts"));
    expect(displayPath(ctx, ctx.directory)).toBe(".");
    expect(displayPath(ctx, "/etc/passwd")).toBe("/etc/passwd");
  });
});
