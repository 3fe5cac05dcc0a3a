import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { readTool } from "../../src/tool/read.js";
import { ToolError } from "../../src/tool/tool.js";
import { makeContext, runTool, writeFiles } from "./context.js";

describe("read tool", () => {
  it("numbers lines and titles the result with the relative path", async () => {
    const ctx = makeContext();
    writeFiles(ctx.directory, { "src/a.txt": "alpha\nbeta\n" });
    const result = await runTool(readTool, { filePath: "src/a.txt" }, ctx);
    expect(result.title).toBe(path.join("src", "a.txt"));
    expect(result.output).toBe("00001| alpha\n00002| beta\n\n(end of file, 2 lines)");
  });

  it("pages with offset and limit and says where to continue", async () => {
    const ctx = makeContext();
    const lines = Array.from({ length: 10 }, (_, i) => `l${i + 1}`);
    writeFiles(ctx.directory, { "f.txt": lines.join("\n") });
    const result = await runTool(readTool, { filePath: "f.txt", offset: 4, limit: 3 }, ctx);
    expect(result.output).toBe("00004| l4\n00005| l5\n00006| l6\n\n(more lines follow; read with offset=7 to continue)");
    expect(result.metadata).toMatchObject({ offset: 4, lines: 3, more: true });
  });

  it("defaults to 2000 lines", async () => {
    const ctx = makeContext();
    writeFiles(ctx.directory, { "big.txt": Array.from({ length: 2500 }, (_, i) => `${i + 1}`).join("\n") });
    const result = await runTool(readTool, { filePath: "big.txt" }, ctx);
    expect(result.metadata.lines).toBe(2000);
    expect(result.output).toContain("02000| 2000\n");
    expect(result.output).not.toContain("02001|");
  });

  it("fails clearly for a missing file, a directory, a binary file or an offset past the end", async () => {
    const ctx = makeContext();
    writeFiles(ctx.directory, { "dir/x.txt": "x\n", "bin.dat": Buffer.from([1, 0, 2]) });
    await expect(runTool(readTool, { filePath: "nope.txt" }, ctx)).rejects.toThrow("no such file or directory: nope.txt");
    await expect(runTool(readTool, { filePath: "dir" }, ctx)).rejects.toThrow(/dir is a directory/);
    await expect(runTool(readTool, { filePath: "bin.dat" }, ctx)).rejects.toThrow(ToolError);
    await expect(runTool(readTool, { filePath: "dir/x.txt", offset: 5 }, ctx)).rejects.toThrow(/past the end/);
  });

  it("handles an empty file", async () => {
    const ctx = makeContext();
    fs.writeFileSync(path.join(ctx.directory, "empty.txt"), "");
    const result = await runTool(readTool, { filePath: "empty.txt" }, ctx);
    expect(result.output).toBe("(empty file)");
  });
});
