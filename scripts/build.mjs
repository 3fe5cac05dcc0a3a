// Bundles the CLI into dist/ode.cjs and the library into dist/index.js, with the release version and channel
// injected as constants. Types for the library come from `npm run build:types`.
import { build } from "esbuild";
import { readFileSync, chmodSync, rmSync } from "node:fs";

import path from "node:path";

// `--outfile` builds elsewhere (the version test builds a second artifact with its own ODE_VERSION).
const outArg = process.argv.indexOf("--outfile");
const outfile = outArg > 0 ? process.argv[outArg + 1] : "dist/ode.cjs";
// The entry is CommonJS (see below): in this "type": "module" package, only a .cjs name makes Node load it so.
if (!outfile.endsWith(".cjs")) {
  console.error(`build: --outfile must end in .cjs, not ${outfile}`);
  process.exit(2);
}
const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
const version = process.env.ODE_VERSION || pkg.version;
const channel = process.env.ODE_CHANNEL || (version.includes("-") ? version.split("-")[1].split(".")[0] : "latest");

const outdir = path.dirname(outfile);
const shared = {
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  // better-sqlite3's JavaScript is bundled (src/storage/db.ts hands it its addon by path); `bindings`, with which
  // the package finds that addon itself, is never called from the bundled copy.
  external: ["bindings"],
  // Packages without an `exports` map are bundled from their ES module build when they have one (in this tree,
  // only the OpenTelemetry SDK packages): esbuild can then drop the logs and metrics code the trace exporter
  // pulls in but never runs (the tracing chunk: 690 KB as CommonJS, 150 KB as ES modules).
  mainFields: ["module", "main"],
  sourcemap: true,
  // Bundled CommonJS dependencies call require(); an ES module has none of its own.
  banner: { js: '#!/usr/bin/env node\nimport { createRequire as __odeCreateRequire } from "node:module";\nconst require = __odeCreateRequire(import.meta.url);' },
  define: {
    __ODE_VERSION__: JSON.stringify(version),
    __ODE_CHANNEL__: JSON.stringify(channel),
  },
  logLevel: "warning",
};

// Three builds. The library and the command table share chunks, so a command loads only the SDKs it uses. `ode
// session list` and `ode session show` in their plain spellings (src/cli/index.ts) read one file holding all they
// run: split into the chunks they share with other commands, they were twenty files for Node to resolve, read and
// link, a third of their start-up. And the CLI entry is a file of its own that imports nothing before it knows
// the command (`ode --version` reads no other file); it loads one of the two others' outputs.
// The entry and the session reader are CommonJS: a process whose first file is an ES module starts Node's ES module
// loader (5 ms, about 4% of `node -e 0`), and one that only requires CommonJS never does. Commander's path imports
// the ES module chunks as before.
const PROGRAM = "chunks/program.js";
const SESSION_READ = "chunks/session-read.cjs";
const cliEntryImports = {
  name: "cli-entry-imports",
  setup(b) {
    const outputs = { "./program.js": PROGRAM, "./session-read.cjs": SESSION_READ };
    b.onResolve({ filter: /^\.\/(program\.js|session-read\.cjs)$/ }, (args) => ({ path: `./${outputs[args.path]}`, external: true }));
  },
};
const commonJs = {
  format: "cjs",
  // The one `import.meta` the CommonJS builds reach: src/storage/db.ts's createRequire, which takes a path as well.
  define: { ...shared.define, "import.meta.url": "__filename" },
  banner: { js: "" },
};

// Chunk names carry content hashes: without this, every build would leave the previous chunks behind. The entry
// was `ode.js` before it was CommonJS; left in place, it would import chunks that are gone.
rmSync(path.join(outdir, "chunks"), { recursive: true, force: true });
for (const stale of ["ode.js", "ode.js.map"]) rmSync(path.join(outdir, stale), { force: true });
await build({
  ...shared,
  entryPoints: [
    { in: "src/cli/program.ts", out: PROGRAM.replace(/\.js$/, "") },
    { in: "src/index.ts", out: "index" },
  ],
  // Commands load their implementation with import(); splitting keeps those (and the SDKs they pull in) in
  // chunks that `ode --help` never reads.
  outdir,
  chunkNames: "chunks/[name]-[hash]",
  splitting: true,
});
await build({ ...shared, ...commonJs, entryPoints: ["src/cli/session-read.ts"], outfile: path.join(outdir, SESSION_READ) });
await build({ ...shared, ...commonJs, entryPoints: ["src/cli/index.ts"], outfile, banner: { js: "#!/usr/bin/env node" }, plugins: [cliEntryImports] });
chmodSync(outfile, 0o755);
