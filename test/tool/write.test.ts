import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { writeTool } from "../../src/tool/write.js";
import { makeContext, runTool } from "./context.js";

describe("write tool", () => {
  it("creates missing parent directories and reports a new file", async () => {
    const ctx = makeContext();
    const result = await runTool(writeTool, { filePath: "a/b/c.txt", content: "héllo\n" }, ctx);
    expect(fs.readFileSync(path.join(ctx.directory, "a/b/c.txt"), "utf8")).toBe("héllo\n");
    expect(result.metadata).toEqual({ bytes: 7, created: true });
    expect(result.title).toBe(path.join("a", "b", "c.txt"));
  });

  it("overwrites an existing file", async () => {
    const ctx = makeContext();
    fs.writeFileSync(path.join(ctx.directory, "x.txt"), "old content");
    const result = await runTool(writeTool, { filePath: "x.txt", content: "new" }, ctx);
    expect(fs.readFileSync(path.join(ctx.directory, "x.txt"), "utf8")).toBe("new");
    expect(result.metadata).toEqual({ bytes: 3, created: false });
  });

  it("refuses to write over a directory", async () => {
    const ctx = makeContext();
    fs.mkdirSync(path.join(ctx.directory, "d"));
    await expect(runTool(writeTool, { filePath: "d", content: "x" }, ctx)).rejects.toThrow("d is a directory");
  });
});
