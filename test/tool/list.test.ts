import { describe, expect, it } from "vitest";
import { listTool } from "../../src/tool/list.js";
import { ToolError } from "../../src/tool/tool.js";
import { makeContext, runTool, writeFiles } from "./context.js";

describe("list tool", () => {
  it("shows an indented tree with directories marked, skipping node_modules and .git", async () => {
    const ctx = makeContext();
    writeFiles(ctx.directory, {
      "package.json": "{}",
      "src/index.ts": "",
      "src/tool/read.ts": "",
      "node_modules/dep/index.js": "",
      ".git/HEAD": "",
    });
    const result = await runTool(listTool, {}, ctx);
    expect(result.output).toBe(
      [`${ctx.directory}/`, "  package.json", "  src/", "    index.ts", "    tool/", "      read.ts"].join("\n"),
    );
    expect(result.title).toBe(".");
  });

  it("lists a subdirectory and refuses files", async () => {
    const ctx = makeContext();
    writeFiles(ctx.directory, { "src/a.ts": "" });
    expect((await runTool(listTool, { path: "src" }, ctx)).output).toBe(`${ctx.directory}/src/\n  a.ts`);
    await expect(runTool(listTool, { path: "src/a.ts" }, ctx)).rejects.toThrow(ToolError);
  });

  it("caps the listing at 500 entries, shallowest first", async () => {
    const ctx = makeContext();
    const files: Record<string, string> = { "top.txt": "" };
    for (let i = 0; i < 600; i++) files[`deep/f${String(i).padStart(3, "0")}.txt`] = "";
    writeFiles(ctx.directory, files);
    const result = await runTool(listTool, {}, ctx);
    expect(result.output).toContain("  top.txt");
    expect(result.output).toContain("showing the first 500 entries");
    expect(result.metadata).toEqual({ count: 500, truncated: true });
  });
});
