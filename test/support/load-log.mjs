// Preloaded with `node --import`: records the URL of every module the process loads, one per line, in the file
// named by ODE_TEST_LOAD_LOG, so a test can tell which bundle chunks a command read. ES modules are seen by the
// loader hook as they load; CommonJS files (the CLI entry's `require`s) are taken from the require cache at exit.
import fs from "node:fs";
import { createRequire, register } from "node:module";
import { pathToFileURL } from "node:url";

const file = process.env.ODE_TEST_LOAD_LOG;
register("./load-log-hooks.mjs", import.meta.url, { data: { file } });
const cache = createRequire(import.meta.url).cache;
process.on("exit", () => {
  if (file) fs.appendFileSync(file, Object.keys(cache).map((name) => `${pathToFileURL(name).href}\n`).join(""));
});
