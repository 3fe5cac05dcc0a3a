import { Command } from "commander";
import { VERSION } from "../version.js";
import { registerExport } from "./export.js";
import { registerImport } from "./import.js";
import { registerInteractive } from "./interactive.js";
import { registerLoop } from "./loop.js";
import { registerReport } from "./report.js";
import { registerRun } from "./run.js";
import { registerServe } from "./serve.js";
import { registerSession } from "./session.js";
import { registerShell } from "./shell.js";

// Command modules register their options only; each loads its implementation when it runs, so `ode --version`
// and `--help` start without loading the model SDKs or the database.
const program = new Command("ode")
  .description("a coding-agent runtime that knows which session did what, and why a run stopped")
  .version(VERSION, "-v, --version", "print the release version")
  .showHelpAfterError()
  // `-s` belongs to the interactive prompt before a subcommand and to `run` after it.
  .enablePositionalOptions();

registerInteractive(program);
registerRun(program);
registerLoop(program);
registerShell(program);
registerSession(program);
registerExport(program);
registerImport(program);
registerReport(program);
registerServe(program);

await program.parseAsync(process.argv);
