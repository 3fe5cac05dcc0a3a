import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { chunksMatching, loadedChunks } from "../support/loaded-chunks.js";
import { makeProject, mockConfig, ODE, runOde, startModel } from "../support/ode.js";

// esbuild notes the source path above the code of every bundled module: a chunk holding zod or the AI SDK says so.
const ZOD = /^\/\/ node_modules\/zod\//m;
const AI_SDK = /^\/\/ node_modules\/(ai|@ai-sdk\/[^/]+)\//m;
// The run renderer's: string-width compiles its Unicode property regexps and an Intl.Segmenter as it loads.
const STRING_WIDTH = /^\/\/ node_modules\/string-width\//m;

describe("commands that need no model load no model code", () => {
  it("ode --version, --help, session list, session show and export read no chunk with zod, the AI SDK or the renderer; ode run reads them", async () => {
    const [zod, aiSdk, renderer] = [ZOD, AI_SDK, STRING_WIDTH].map(chunksMatching) as [string[], string[], string[]];
    // Each lives in chunks of its own, not in the entry every command reads (the test would prove nothing otherwise).
    for (const [chunks, pattern] of [[zod, ZOD], [aiSdk, AI_SDK], [renderer, STRING_WIDTH]] as const) {
      expect(chunks.length).toBeGreaterThan(0);
      expect(fs.readFileSync(ODE, "utf8")).not.toMatch(pattern);
    }

    const model = await startModel([{ text: "hello back" }]);
    const project = makeProject(mockConfig(model.baseURL));
    const run = await loadedChunks(project, ["run", "--title", "t", "hello"]);
    expect(run.filter((c) => zod.includes(c)).length).toBeGreaterThan(0);
    expect(run.filter((c) => aiSdk.includes(c)).length).toBeGreaterThan(0);
    expect(run.filter((c) => renderer.includes(c)).length).toBeGreaterThan(0);

    const id = (await runOde(project, ["session", "list"])).stdout.split(" ")[0]!;
    expect(id).toMatch(/^ses_/);
    for (const args of [["--version"], ["--help"], ["session", "list"], ["session", "show", id], ["export", id], ["export", "--sanitize", id]]) {
      const loaded = await loadedChunks(project, args);
      expect(loaded, args.join(" ")).toContain("ode.js");
      expect([args.join(" "), loaded.filter((c) => [...zod, ...aiSdk, ...renderer].includes(c))]).toEqual([args.join(" "), []]);
    }
  });
});
