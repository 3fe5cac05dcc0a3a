import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/config.js";
import { ConfigError } from "../../src/session/errors.js";
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

  // The checks are hand-written (zod is not loaded by commands that need no model) in zod's wording.
  it("names the field and the problem of a bad value, first field first, in zod's wording", () => {
    const cases: Array<[object, string]> = [
      [[], "(root): Invalid input: expected object, received array"],
      [{ model: null }, "model: Invalid input: expected string, received null"],
      [{ max_steps: -1, model: 1 }, "model: Invalid input: expected string, received number"],
      [{ max_steps: 1.5 }, "max_steps: Invalid input: expected int, received number"],
      [{ max_steps: -1.5 }, "max_steps: Invalid input: expected int, received number"],
      [{ max_steps: 0 }, "max_steps: Too small: expected number to be >0"],
      [{ max_steps: "3" }, "max_steps: Invalid input: expected number, received string"],
      [{ max_steps: 2 ** 60 }, "max_steps: Too big: expected int to be <=9007199254740991"],
      [{ allow_outside_paths: "yes" }, "allow_outside_paths: Invalid input: expected boolean, received string"],
      [{ provider: [] }, "provider: Invalid input: expected record, received array"],
      [{ provider: { a: null } }, "provider.a: Invalid input: expected object, received null"],
      [{ provider: { "a.b": { type: 1 } } }, 'provider["a.b"].type: Invalid option: expected one of "openai"|"anthropic"|"openai-compatible"|"scripted"'],
      [{ provider: { a: { options: { baseURL: 1 } } } }, "provider.a.options.baseURL: Invalid input: expected string, received number"],
      [{ provider: { a: { models: { m: 1 } } } }, "provider.a.models.m: Invalid input: expected object, received number"],
      [{ provider: { a: { models: { m: { cost: {} } } } } }, "provider.a.models.m.cost.input: Invalid input: expected number, received undefined"],
      [{ provider: { a: { models: { m: { cost: { input: 1, output: 1, cache_read: -0.5 } } } } } }, "provider.a.models.m.cost.cache_read: Too small: expected number to be >=0"],
      [{ provider: { a: { models: { m: { limit: { context: 0 } } } } } }, "provider.a.models.m.limit.context: Too small: expected number to be >0"],
    ];
    for (const [value, message] of cases) {
      const project = projectWith(JSON.stringify(value));
      expect(() => load(project)).toThrow(new ConfigError(`${path.join(project.dir, "ode.json")}: ${message}`));
    }
  });

  it("keeps what providers and models add (loose), drops unknown keys elsewhere, and keeps __proto__ a key", () => {
    const project = projectWith(
      '{"x": 1, "provider": {"__proto__": {"type": "openai"}, "a": {"y": 2, "options": {"headers": {"h": "v"}}, "models": {"m": {"cost": {"input": 1, "output": 2, "z": 3}, "limit": {"context": 5, "w": 4}, "other": 9}}}}}',
    );
    const { config } = load(project);
    expect(config).not.toHaveProperty("x");
    expect(Object.hasOwn(config.provider!, "__proto__")).toBe(true);
    expect(Object.getPrototypeOf(config.provider)).toBe(Object.prototype);
    expect(config.provider!.a).toEqual({ options: { headers: { h: "v" } }, models: { m: { cost: { input: 1, output: 2 }, limit: { context: 5 }, other: 9 } } });
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
