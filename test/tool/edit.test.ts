import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { editTool } from "../../src/tool/edit.js";
import { ToolError } from "../../src/tool/tool.js";
import { makeContext, runTool } from "./context.js";

function setup(content: string) {
  const ctx = makeContext();
  const file = path.join(ctx.directory, "f.ts");
  fs.writeFileSync(file, content);
  return { ctx, file };
}

describe("edit tool", () => {
  it("replaces a unique string", async () => {
    const { ctx, file } = setup("const a = 1;\nconst b = 2;\n");
    const result = await runTool(editTool, { filePath: "f.ts", oldString: "b = 2", newString: "b = 3" }, ctx);
    expect(fs.readFileSync(file, "utf8")).toBe("const a = 1;\nconst b = 3;\n");
    expect(result.metadata).toEqual({ replacements: 1 });
  });

  it("fails clearly and leaves the file unchanged when oldString is absent", async () => {
    const { ctx, file } = setup("hello\n");
    const edit = runTool(editTool, { filePath: "f.ts", oldString: "goodbye", newString: "x" }, ctx);
    await expect(edit).rejects.toThrow(ToolError);
    await expect(edit).rejects.toThrow("oldString not found in f.ts");
    expect(fs.readFileSync(file, "utf8")).toBe("hello\n");
  });

  it("fails clearly and leaves the file unchanged when oldString is ambiguous", async () => {
    const { ctx, file } = setup("x = 1\nx = 1\nx = 1\n");
    const edit = runTool(editTool, { filePath: "f.ts", oldString: "x = 1", newString: "x = 2" }, ctx);
    await expect(edit).rejects.toThrow("oldString found 3 times in f.ts; give more context or set replaceAll");
    expect(fs.readFileSync(file, "utf8")).toBe("x = 1\nx = 1\nx = 1\n");
  });

  it("replaces every occurrence with replaceAll", async () => {
    const { ctx, file } = setup("x = 1\nx = 1\n");
    const result = await runTool(editTool, { filePath: "f.ts", oldString: "1", newString: "2", replaceAll: true }, ctx);
    expect(fs.readFileSync(file, "utf8")).toBe("x = 2\nx = 2\n");
    expect(result.metadata).toEqual({ replacements: 2 });
  });

  it("inserts replacement text literally", async () => {
    const { ctx, file } = setup("price\n");
    await runTool(editTool, { filePath: "f.ts", oldString: "price", newString: "$& $1 $$" }, ctx);
    expect(fs.readFileSync(file, "utf8")).toBe("$& $1 $$\n");
  });

  it("rejects a no-op edit, an empty oldString and a missing file", async () => {
    const { ctx } = setup("abc\n");
    await expect(runTool(editTool, { filePath: "f.ts", oldString: "abc", newString: "abc" }, ctx)).rejects.toThrow(ToolError);
    await expect(runTool(editTool, { filePath: "f.ts", oldString: "", newString: "x" }, ctx)).rejects.toThrow(ToolError);
    await expect(runTool(editTool, { filePath: "missing.ts", oldString: "a", newString: "b" }, ctx)).rejects.toThrow(
      "no such file or directory: missing.ts",
    );
  });
});
