import { VERSION } from "../version.js";
import type { SessionRead, runSessionRead } from "./session-read.js";

// `ode session list | head -1`: the reader went away, which is not an error of ours. A closed terminal (EIO once
// SIGHUP came) drops what is still written: the run it interrupted must yet be recorded and its processes killed.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EIO" || error.code === "ERR_STREAM_DESTROYED") return;
    if (error.code === "EPIPE" && stream === process.stdout) process.exit(0);
    throw error;
  });
}

/**
 * `ode session list [--format F]` and `ode session show ID` as people and scripts type them, which run without
 * commander and the command table (half of such a command's start-up). Every other spelling (`--help`, a missing
 * or extra argument, `--format=json`, `--`) goes through commander, which owns the help and usage errors and ends
 * in the same functions. The options here are `registerSession`'s, default included.
 */
function plainSessionRead(args: string[]): SessionRead | undefined {
  const [group, command, ...rest] = args;
  if (group !== "session") return undefined;
  // A value that starts with "-" is an option to commander, whatever it means here.
  const plain = (value: string | undefined): value is string => value !== undefined && !value.startsWith("-");
  if (command === "show" && rest.length === 1 && plain(rest[0])) return { command, id: rest[0] };
  if (command === "list" && rest.length === 0) return { command, format: "text" };
  if (command === "list" && rest.length === 2 && rest[0] === "--format" && plain(rest[1])) return { command, format: rest[1] };
  return undefined;
}

// `ode --version` answers before anything else is read: it is what scripts and wrappers run most often, and it
// should cost no more than starting node.
// This file and the session reader are built as CommonJS (scripts/build.mjs says why), hence `require`.
const args = process.argv.slice(2);
const read = plainSessionRead(args);
if (args.length === 1 && (args[0] === "--version" || args[0] === "-v")) process.stdout.write(`${VERSION}\n`);
else if (read) void (require("./session-read.cjs") as { runSessionRead: typeof runSessionRead }).runSessionRead(read);
else {
  // As an ES module entry, a command whose work never settled ended with Node's "unsettled top-level await" and
  // exit code 13; imported from CommonJS it would end silently with 0.
  let settled = false;
  void import("./program.js").finally(() => (settled = true));
  process.once("beforeExit", () => {
    if (settled) return;
    process.exitCode = 13;
    process.stderr.write("ode: internal error: the command ended before its work settled\n");
  });
}
