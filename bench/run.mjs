// Runs every bench/*.bench.ts (or only those named on the command line), each bundled by esbuild and run in a
// fresh node process, so benchmarks can use the TypeScript sources and test/support helpers without a loader.
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const only = process.argv.slice(2);
const files = fs
  .readdirSync(path.join(root, "bench"))
  .filter((f) => f.endsWith(".bench.ts"))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
const outdir = path.join(root, "dist", "bench");
for (const file of files) {
  const outfile = path.join(outdir, file.replace(/\.ts$/, ".mjs"));
  await build({
    entryPoints: [path.join(root, "bench", file)],
    outfile,
    bundle: true,
    platform: "node",
    target: "node20",
    format: "esm",
    packages: "external",
    logLevel: "warning",
  });
  console.log(`\n## ${file}`);
  execFileSync(process.execPath, ["--expose-gc", outfile], { stdio: "inherit", cwd: root });
}
