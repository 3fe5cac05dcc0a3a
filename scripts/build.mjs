// Bundles the CLI into dist/ode.js with the release version and channel injected as constants.
import { build } from "esbuild";
import { readFileSync, chmodSync } from "node:fs";

const outArg = process.argv.indexOf("--outfile");
const outfile = outArg > 0 ? process.argv[outArg + 1] : "dist/ode.js";
const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
const version = process.env.ODE_VERSION || pkg.version;
const channel = process.env.ODE_CHANNEL || (version.includes("-") ? version.split("-")[1].split(".")[0] : "latest");

await build({
  entryPoints: ["src/cli/index.ts"],
  outfile,
  bundle: true,
  platform: "node",
  target: "node20",
  format: "esm",
  packages: "external",
  sourcemap: true,
  banner: { js: "#!/usr/bin/env node" },
  define: {
    __ODE_VERSION__: JSON.stringify(version),
    __ODE_CHANNEL__: JSON.stringify(channel),
  },
  logLevel: "warning",
});
chmodSync(outfile, 0o755);
