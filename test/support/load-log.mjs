// Preloaded with `node --import`: records the URL of every ES module the process loads, one per line, in the file
// named by ODE_TEST_LOAD_LOG, so a test can tell which bundle chunks a command read.
import { register } from "node:module";

register("./load-log-hooks.mjs", import.meta.url, { data: { file: process.env.ODE_TEST_LOAD_LOG } });
