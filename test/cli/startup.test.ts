import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { chunksMatching, loadedChunks } from "../support/loaded-chunks.js";
import { makeProject, mockConfig, ODE, runOde, startModel } from "../support/ode.js";

// esbuild notes the source path above the code of every bundled module: a chunk holding zod or the AI SDK says so.
const ZOD = /^\/\/ node_modules\/zod\//m;
const AI_SDK = /^\/\/ node_modules\/(ai|@ai-sdk\/[^/]+)\//m;

describe("commands that need no model load no model code", () => {
  it("ode --version, --help, session list and session show read no chunk with zod or the AI SDK; ode run reads both", async () => {
    const zod = chunksMatching(ZOD);
    const aiSdk = chunksMatching(AI_SDK);
    // Both live in chunks of their own, not in the entry every command reads (the test would prove nothing otherwise).
    expect(zod.length).toBeGreaterThan(0);
    expect(aiSdk.length).toBeGreaterThan(0);
    expect(fs.readFileSync(ODE, "utf8")).not.toMatch(ZOD);
    expect(fs.readFileSync(ODE, "utf8")).not.toMatch(AI_SDK);

    const model = await startModel([{ text: "hello back" }]);
    const project = makeProject(mockConfig(model.baseURL));
    const run = await loadedChunks(project, ["run", "--title", "t", "hello"]);
    expect(run.filter((c) => zod.includes(c)).length).toBeGreaterThan(0);
    expect(run.filter((c) => aiSdk.includes(c)).length).toBeGreaterThan(0);

    const id = (await runOde(project, ["session", "list"])).stdout.split(" ")[0]!;
    expect(id).toMatch(/^ses_/);
    for (const args of [["--version"], ["--help"], ["session", "list"], ["session", "show", id]]) {
      const loaded = await loadedChunks(project, args);
      expect(loaded, args.join(" ")).toContain("ode.js");
      expect([args.join(" "), loaded.filter((c) => zod.includes(c) || aiSdk.includes(c))]).toEqual([args.join(" "), []]);
    }
  });
});
