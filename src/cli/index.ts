import { VERSION } from "../version.js";

// `ode --version` answers before the command table (commander and every command's options) is even read: it is
// what scripts and wrappers run most often, and it should cost no more than starting node.
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === "--version" || args[0] === "-v")) process.stdout.write(`${VERSION}\n`);
else await import("./program.js");
