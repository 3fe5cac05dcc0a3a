import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { chunksMatching, loadedChunks } from "../support/loaded-chunks.js";
import { collect, makeProject, mockConfig, ODE, ROOT, runOde, startModel, tempDir } from "../support/ode.js";

// esbuild notes the source path above the code of every bundled module: a chunk holding zod or the AI SDK says so.
const ZOD = /^\/\/ node_modules\/zod\//m;
const AI_SDK = /^\/\/ node_modules\/(ai|@ai-sdk\/[^/]+)\//m;
// The run renderer's: string-width compiles its Unicode property regexps and an Intl.Segmenter as it loads.
const STRING_WIDTH = /^\/\/ node_modules\/string-width\//m;
const COMMANDER = /^\/\/ node_modules\/commander\//m;
const fixture = (name: string) => path.join(ROOT, "test", "fixtures", name);

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
      expect(loaded, args.join(" ")).toContain("ode.cjs");
      expect([args.join(" "), loaded.filter((c) => [...zod, ...aiSdk, ...renderer].includes(c))]).toEqual([args.join(" "), []]);
    }
  });
});

describe("ode session list and session show", () => {
  it("in their plain spellings read one file besides ode.cjs (no commander); other spellings go through commander and print the same", async () => {
    const project = makeProject();
    expect((await runOde(project, ["import", fixture("opencode-1.18.33-export-aborted.json")])).code).toBe(0);
    const id = (await runOde(project, ["session", "list"])).stdout.split(" ")[0]!;
    expect(id).toMatch(/^ses_/);

    const commander = chunksMatching(COMMANDER);
    expect(commander.length).toBeGreaterThan(0);
    for (const args of [["session", "list"], ["session", "list", "--format", "json"], ["session", "show", id]]) {
      expect([args.join(" "), await loadedChunks(project, args)]).toEqual([args.join(" "), ["ode.cjs", "session-read.cjs"]]);
    }
    // The control: a spelling the fast path leaves to commander does load it.
    expect((await loadedChunks(project, ["session", "list", "--format=json"])).filter((c) => commander.includes(c))).not.toEqual([]);

    // Each pair: the plain spelling (no commander) and one commander parses, with the same meaning.
    const pairs: Array<[string[], string[]]> = [
      [["session", "list"], ["session", "list", "--format=text"]],
      [["session", "list", "--format", "json"], ["session", "list", "--format=json"]],
      [["session", "list", "--format", "xml"], ["session", "list", "--format=xml"]],
      [["session", "show", id], ["session", "show", "--", id]],
      [["session", "show", "ses_missing"], ["session", "show", "--", "ses_missing"]],
    ];
    for (const [plain, parsed] of pairs) {
      const [a, b] = [await runOde(project, plain), await runOde(project, parsed)];
      expect([plain.join(" "), a.code, a.stdout, a.stderr]).toEqual([plain.join(" "), b.code, b.stdout, b.stderr]);
    }
    const shown = await runOde(project, ["session", "show", id]);
    expect(shown.stdout).toContain(`session   ${id}`);
    expect(shown.stdout).toContain("[MessageAbortedError]");
    const missing = await runOde(project, ["session", "show", "ses_missing"]);
    expect([missing.code, missing.stderr]).toEqual([2, "ode: session not found: ses_missing\n"]);
  });

  it("load better-sqlite3's addon by path, without its `bindings` helper; an addon elsewhere in the package still loads through it", async () => {
    const project = makeProject();
    const debugLog = async (ode: string) => {
      const child = spawn(process.execPath, [ode, "session", "list"], { cwd: project.dir, env: { ...project.env, NODE_DEBUG: "module" }, stdio: ["ignore", "pipe", "pipe"] });
      return collect(child);
    };
    const normal = await debugLog(ODE);
    expect([normal.code, normal.stdout]).toEqual([0, ""]);
    expect(normal.stderr).toMatch(/Module\._load REQUEST \S+\/build\/Release\/better_sqlite3\.node /);
    expect(normal.stderr).not.toMatch(/REQUEST (bindings|better-sqlite3) /);

    // A copy of the built ode beside a better-sqlite3 whose addon is a debug build: the package's own loading finds it.
    const root = tempDir();
    fs.cpSync(path.join(ROOT, "dist"), path.join(root, "dist"), { recursive: true });
    const installed = path.join(ROOT, "node_modules", "better-sqlite3");
    const copy = path.join(root, "node_modules", "better-sqlite3");
    fs.cpSync(path.join(installed, "lib"), path.join(copy, "lib"), { recursive: true });
    fs.copyFileSync(path.join(installed, "package.json"), path.join(copy, "package.json"));
    fs.mkdirSync(path.join(copy, "build", "Debug"), { recursive: true });
    fs.symlinkSync(path.join(installed, "build", "Release", "better_sqlite3.node"), path.join(copy, "build", "Debug", "better_sqlite3.node"));
    for (const name of ["bindings", "file-uri-to-path"]) fs.symlinkSync(fs.realpathSync(path.join(ROOT, "node_modules", name)), path.join(root, "node_modules", name));
    const debug = await debugLog(path.join(root, "dist", "ode.cjs"));
    expect([debug.code, debug.stdout]).toEqual([0, ""]);
    expect(debug.stderr).toContain(`load "${path.join(copy, "lib", "index.js")}"`);
    expect(debug.stderr).toMatch(/REQUEST bindings /);
  });
});
