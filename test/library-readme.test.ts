import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { makeProject, ROOT, scriptedConfig } from "./support/ode.js";

/** The first js block of a README section, exactly as a reader would copy it. */
function readmeSnippet(heading: string): string {
  const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf(`## ${heading}`));
  const match = /```js\n([\s\S]*?)```/.exec(section);
  if (!match) throw new Error(`no js block under ${heading}`);
  return match[1]!;
}

describe("the README's library snippet", () => {
  it("runs as written with node against the built package entry, without process-wide side effects", () => {
    const project = makeProject(scriptedConfig({ steps: [{ text: "the files are listed" }] }));
    // Inside the package directory, so `import ... from "ode"` resolves through package.json `exports`.
    const file = path.join(ROOT, "dist", `readme-snippet-${process.pid}.mjs`);
    const probe = `\nconsole.log(JSON.stringify({ agent: process.env.AGENT ?? null, sigusr2: process.listenerCount("SIGUSR2"), sigint: process.listenerCount("SIGINT") }));\n`;
    fs.writeFileSync(file, readmeSnippet("Using ode as a library") + probe);
    try {
      const env = { ...project.env };
      delete env.AGENT;
      const out = execFileSync(process.execPath, [file], { cwd: project.dir, env, encoding: "utf8" }).trim().split("\n");
      expect(out[0]).toMatch(/^ses_\w+ completed$/);
      expect(out[1]).toBe(out[0]);
      expect(out[2]).toMatch(/^ses_\w+ aborted$/);
      expect(out[3]).toMatch(/^completed aborted \d+$/);
      expect(JSON.parse(out[4]!)).toEqual({ agent: null, sigusr2: 0, sigint: 0 });
    } finally {
      fs.rmSync(file, { force: true });
    }
  });
});
