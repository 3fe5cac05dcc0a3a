// The offline demo: a scripted model drives a real run (real bash tool, real SQLite) in a scratch project.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const ode = path.join(root, "dist", "ode.js");
const project = fs.mkdtempSync(path.join(os.tmpdir(), "ode-demo-"));
const env = { ...process.env, ODE_DATA_DIR: path.join(project, ".ode-data") };
fs.writeFileSync(
  path.join(project, "ode.json"),
  JSON.stringify(
    {
      model: "demo/scripted",
      provider: { demo: { type: "scripted", options: { script: path.join(root, "examples", "demo", "script.json") } } },
    },
    null,
    2,
  ),
);

const run = (...args) => execFileSync(process.execPath, [ode, ...args], { cwd: project, env, stdio: "inherit" });
console.log(`# project: ${project}\n# $ ode run "look around and say hello"`);
run("run", "look around and say hello");
console.log("\n# $ ode session list");
run("session", "list");
console.log(`\n# $ cat iterations.log\n${fs.readFileSync(path.join(project, "iterations.log"), "utf8")}`);
