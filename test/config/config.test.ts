import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import { fixture } from "../export/support.js";
import { makeProject, ROOT, runOde, type Project } from "../support/ode.js";

const README_EXAMPLE = /## Configuring a model[\s\S]*?```jsonc\n([\s\S]*?)```/;

function projectWith(text: string): Project {
  const project = makeProject();
  fs.writeFileSync(path.join(project.dir, "ode.json"), text);
  return project;
}

function load(project: Project): { config: ReturnType<typeof loadConfig>; warnings: string[] } {
  const warnings: string[] = [];
  const config = loadConfig(project.dir, project.env, (line) => warnings.push(line));
  return { config, warnings };
}

describe("ode.json", () => {
  it("is JSONC: the README's own example, comments and trailing commas included, is read as written", () => {
    const example = README_EXAMPLE.exec(fs.readFileSync(path.join(ROOT, "README.md"), "utf8"))![1]!;
    expect(example).toContain("//");
    const project = projectWith(example.replace(/}\s*$/, ",}"));
    const { config, warnings } = load(project);
    expect(warnings).toEqual([]);
    expect(config).toMatchObject({ model: "openai/gpt-4.1", small_model: "openai/gpt-4.1-mini", max_steps: 50, allow_outside_paths: false });
    expect(config.provider?.ollama).toEqual({
      type: "openai-compatible",
      options: { baseURL: "http://127.0.0.1:11434/v1" },
      models: { "llama3.2": { cost: { input: 0, output: 0, cache_read: 0, cache_write: 0 }, limit: { context: 131072, output: 8192 } } },
    });
  });

  it("warns about each unknown key, naming the closest known one, and still uses the rest", () => {
    const project = projectWith(
      JSON.stringify({ modle: "a/b", model: "a/c", provider: { a: { typ: "openai", options: { baseUrl: "http://x" } } } }),
    );
    const { config, warnings } = load(project);
    const file = path.join(project.dir, "ode.json");
    expect(warnings).toEqual([
      `${file}: unknown key "modle" is ignored (did you mean "model"?)`,
      `${file}: unknown key "provider.a.typ" is ignored (did you mean "provider.a.type"?)`,
      `${file}: unknown key "provider.a.options.baseUrl" is ignored (did you mean "provider.a.options.baseURL"?)`,
    ]);
    expect(config.model).toBe("a/c");
  });

  it("names line and column of a syntax error, in one line, and refuses to run a model with it", async () => {
    const project = projectWith('{\n  // the model\n  "model": "a/b"\n  "small_model": "a/c"\n}\n');
    const result = await runOde(project, ["run", "hello"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`ode: ${path.join(project.dir, "ode.json")}: not valid JSON: line 4, column 3: expected ',' or '}'\n`);
  });

  it("does not stop the commands that need no model: they run and print one warning", async () => {
    const project = projectWith('{"model": "a/b",, }');
    const warning = `ode: warning: ${path.join(project.dir, "ode.json")}: not valid JSON: line 1, column 17: expected a property name in double quotes (ignored: this command needs no model)\n`;
    const source = JSON.parse(fs.readFileSync(fixture("opencode-1.18.33-export-aborted.json"), "utf8"));
    const id = source.info.id;
    const commands = [
      ["import", fixture("opencode-1.18.33-export-aborted.json")],
      ["session", "list"],
      ["session", "show", id],
      ["session", "rename", id, "renamed"],
      ["export", id, "-o", path.join(project.dir, "out.json")],
      ["session", "delete", id],
    ];
    for (const args of commands) {
      const result = await runOde(project, args);
      expect([args.join(" "), result.code, result.stderr]).toEqual([args.join(" "), 0, warning]);
    }
    expect(JSON.parse(fs.readFileSync(path.join(project.dir, "out.json"), "utf8")).info.title).toBe("renamed");
  });
});
