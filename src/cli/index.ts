import { Command } from "commander";
import { markAgentProcess } from "../shell/env.js";
import { VERSION } from "../version.js";
import { registerRun } from "./run.js";
import { registerSession } from "./session.js";

markAgentProcess();

const program = new Command("ode")
  .description("a coding-agent runtime that knows which session did what, and why a run stopped")
  .version(VERSION, "-v, --version", "print the release version")
  .showHelpAfterError();

registerRun(program);
registerSession(program);

await program.parseAsync(process.argv);
