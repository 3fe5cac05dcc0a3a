// Issue 16: glob and grep on a tree of 50,000 files, 40,000 of them in node_modules and 2,000 in a
// .gitignored build directory, as in a real JavaScript project.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { globTool } from "../src/tool/glob.js";
import { grepTool } from "../src/tool/grep.js";
import type { ToolContext, ToolDefinition } from "../src/tool/tool.js";
import { median, report } from "./stats.js";

const ROUNDS = 5;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ode-bench-search-"));

function writeTree(base: string, dirs: number, perDir: number, ext: string, body: (i: number) => string): void {
  for (let d = 0; d < dirs; d++) {
    const sub = path.join(base, `dir${d}`, `nested${d % 7}`);
    fs.mkdirSync(sub, { recursive: true });
    for (let f = 0; f < perDir; f++) fs.writeFileSync(path.join(sub, `file${f}.${ext}`), body(d * perDir + f));
  }
}

const source = (i: number) => `export function f${i}(x: number) {\n  return x * ${i};\n}\n${i % 1000 === 0 ? "// needle here\n" : ""}`;
writeTree(path.join(dir, "src"), 160, 50, "ts", source);
writeTree(path.join(dir, "node_modules"), 800, 50, "js", (i) => `module.exports = ${i}; // needle\n`);
writeTree(path.join(dir, "build"), 40, 50, "js", (i) => `var needle = ${i};\n`);
fs.writeFileSync(path.join(dir, ".gitignore"), "build/\nnode_modules/\n");

const ctx: ToolContext = {
  sessionID: "ses_bench",
  messageID: "msg_bench",
  callID: "call_bench",
  directory: dir,
  allowOutsidePaths: false,
  dataDir: path.join(dir, ".data"),
  abortSignal: new AbortController().signal,
};

async function time(tool: ToolDefinition, input: object): Promise<{ ms: number; metadata: Record<string, unknown> }> {
  const times: number[] = [];
  let metadata: Record<string, unknown> = {};
  for (let i = 0; i < ROUNDS; i++) {
    const start = performance.now();
    metadata = (await tool.run(input, ctx)).metadata;
    times.push(performance.now() - start);
  }
  return { ms: median(times), metadata };
}

const glob = await time(globTool, { pattern: "**/*.ts" });
report(`glob **/*.ts, 50k-file tree (${glob.metadata.count} matches)`, glob.ms, "ms", "report");
const globClass = await time(globTool, { pattern: "src/dir1[0-9]/**/file[0-4].ts" });
report(`glob with character classes (${globClass.metadata.count} matches)`, globClass.ms, "ms", "report");
const grep = await time(grepTool, { pattern: "needle" });
report(`grep needle, all 8,000 searchable files (${grep.metadata.matches} matches)`, grep.ms, "ms", "report");
const grepAll = await time(grepTool, { pattern: "return x \\* 7\\d\\d\\d;", include: "*.ts" });
report(`grep regex with include *.ts (${grepAll.metadata.matches} matches)`, grepAll.ms, "ms", "report");
const deps = await time(grepTool, { pattern: "= 39999;", path: "node_modules" });
report(`grep inside node_modules when asked, 40k files (${deps.metadata.matches} match)`, deps.ms, "ms", "report");
fs.rmSync(dir, { recursive: true, force: true });
