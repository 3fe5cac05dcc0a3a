// The offline demo: a scripted model drives real runs (real bash tool, real SQLite) in a scratch project, then
// shows what ode knows about them: which session each command ran in, and why the second run stopped.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const ode = path.join(root, "dist", "ode.cjs");
const project = fs.mkdtempSync(path.join(os.tmpdir(), "ode-demo-"));
const env = { ...process.env, ODE_DATA_DIR: path.join(project, ".ode-data") };
fs.writeFileSync(
  path.join(project, "ode.json"),
  JSON.stringify(
    {
      model: "demo/scripted",
      provider: {
        demo: { type: "scripted", options: { script: path.join(root, "examples", "demo", "script.json") } },
        loop: { type: "scripted", options: { script: path.join(root, "examples", "demo", "loop-script.json") } },
      },
    },
    null,
    2,
  ),
);

const show = (args) => console.log(`\n$ ode ${args.join(" ")}`);
// ode's stderr (progress, the end-of-run line) joins stdout: the demo is one transcript, and a test running it
// does not show the expected abort as if something had failed.
const run = (expected, ...args) => {
  show(args);
  try {
    execFileSync(process.execPath, [ode, ...args], { cwd: project, env, stdio: ["ignore", "inherit", 1] });
  } catch (error) {
    console.log(`(exit code ${error.status}${expected ? `: ${expected}` : ""})`);
  }
};
const capture = (...args) => execFileSync(process.execPath, [ode, ...args], { cwd: project, env, encoding: "utf8" });

console.log(`# a scratch project: ${project}`);
try {
  run(undefined, "run", "look around and say hello");
  const [session] = JSON.parse(capture("session", "list", "--format", "json"));
  console.log(`\n$ cat iterations.log\n${fs.readFileSync(path.join(project, "iterations.log"), "utf8").trimEnd()}`);
  run("expected, the run timed out", "run", "--session", session.id, "--timeout", "1500", "now run the long job");
  run(undefined, "session", "show", session.id);
  show(["export", session.id, "--sanitize", "  # the diagnostics of a report that leaks no text"]);
  console.log(JSON.stringify(JSON.parse(capture("export", session.id, "--sanitize")).diagnostics.aborts, null, 2));

  // A Ralph loop: the same prompt, a fresh session per iteration, until the model's answer holds the promise.
  run(undefined, "loop", "-m", "loop/scripted", "--name", "demo loop", "--completion-promise", "DONE", "finish the work");
  console.log(`\n$ cat loop.log\n${fs.readFileSync(path.join(project, "loop.log"), "utf8").trimEnd()}`);
  const [loop] = JSON.parse(capture("loop", "list", "--format", "json"));
  run(undefined, "loop", "show", loop.id);
} finally {
  fs.rmSync(project, { recursive: true, force: true });
  console.log(`\n# removed the scratch project ${project}`);
}
