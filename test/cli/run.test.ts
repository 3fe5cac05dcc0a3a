import fs from "node:fs";
import path from "node:path";
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { collect, makeProject, mockConfig, onlySession, ROOT, runOde, startModel, startOde, waitFor } from "../support/ode.js";

describe("ode run against a loopback OpenAI-compatible model", () => {
  it("runs a write tool call for real and answers", async () => {
    const model = await startModel([
      { toolCalls: [{ name: "write", arguments: { filePath: "notes/out.txt", content: "hello from the model\n" } }] },
      { text: "I wrote notes/out.txt." },
    ]);
    const project = makeProject(mockConfig(model.baseURL));
    const result = await runOde(project, ["run", "write a note"]);
    expect(result.stderr).not.toMatch(/ode: /);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("I wrote notes/out.txt.");
    expect(fs.readFileSync(path.join(project.dir, "notes/out.txt"), "utf8")).toBe("hello from the model\n");

    const { messages } = onlySession(project.dataDir);
    expect(messages.map((m) => m.info.role)).toEqual(["user", "assistant", "assistant"]);
    const tool = messages[1]!.parts.find((p) => p.type === "tool")!;
    expect(tool).toMatchObject({ tool: "write", state: { status: "completed" } });
    const finish = messages[1]!.parts.find((p) => p.type === "step-finish");
    expect(finish).toMatchObject({ reason: "tool-calls", tokens: { input: 10, output: 5 } });
    // The second request carries the tool result back to the model.
    const second = model.turnRequests()[1]!.body.messages;
    expect(second.find((m: { role: string }) => m.role === "tool")).toBeTruthy();
  });

  it("stores an APIError and exits non-zero when the model fails mid-stream", async () => {
    const model = await startModel([{ text: "partial answer", midStreamError: "event" }]);
    const project = makeProject(mockConfig(model.baseURL));
    const result = await runOde(project, ["run", "hello"]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/run error/);
    const { messages } = onlySession(project.dataDir);
    const assistant = messages.find((m) => m.info.role === "assistant")!.info;
    expect(assistant).toMatchObject({ role: "assistant", error: { name: "APIError" } });
    expect(assistant.role === "assistant" && assistant.time.completed).toBeTruthy();
  });

  it("stores an APIError when the connection drops mid-stream", async () => {
    const model = await startModel([{ text: "partial", midStreamError: "disconnect" }]);
    const project = makeProject(mockConfig(model.baseURL));
    const result = await runOde(project, ["run", "hello"]);
    expect(result.code).not.toBe(0);
    const { messages } = onlySession(project.dataDir);
    expect(messages[1]!.info).toMatchObject({ error: { name: "APIError" } });
  });

  it("sends the earlier history on a second --session turn", async () => {
    const model = await startModel([{ text: "The capital is Paris." }, { text: "About 2 million people." }]);
    const project = makeProject(mockConfig(model.baseURL));
    expect((await runOde(project, ["run", "capital of France?"])).code).toBe(0);
    const { session } = onlySession(project.dataDir);
    const second = await runOde(project, ["run", "--session", session.id, "how many live there?"]);
    expect(second.code).toBe(0);
    const sent = model.turnRequests()[1]!.body.messages.filter((m: { role: string }) => m.role !== "system");
    expect(sent).toEqual([
      { role: "user", content: "capital of France?" },
      { role: "assistant", content: "The capital is Paris." },
      { role: "user", content: "how many live there?" },
    ]);
  });

  it("--continue adds to the latest session of the directory and --title sets the title", async () => {
    const model = await startModel([{ text: "one" }, { text: "two" }]);
    const project = makeProject(mockConfig(model.baseURL));
    expect((await runOde(project, ["run", "--title", "My task", "first"])).code).toBe(0);
    expect((await runOde(project, ["run", "--continue", "second"])).code).toBe(0);
    const { session, messages } = onlySession(project.dataDir);
    expect(session.title).toBe("My task");
    expect(messages.filter((m) => m.info.role === "user")).toHaveLength(2);
  });

  it("--format json prints opencode's run --format json lines: step_start, tool_use, step_finish, text, reasoning", async () => {
    const model = await startModel([
      { reasoning: "thinking it over", toolCalls: [{ name: "bash", arguments: { command: "echo from bash" } }] },
      { text: "the answer" },
    ]);
    const project = makeProject(mockConfig(model.baseURL));
    const result = await runOde(project, ["run", "--format", "json", "hello"]);
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split("\n").map((l) => JSON.parse(l));
    const { session } = onlySession(project.dataDir);
    // The sequence opencode 1.18 prints for the same turn (a tool step, then a text step), plus the reasoning.
    expect(lines.map((l) => l.type)).toEqual(["step_start", "reasoning", "tool_use", "step_finish", "step_start", "text", "step_finish"]);
    for (const line of lines) {
      expect(Object.keys(line).sort()).toEqual(["part", "sessionID", "timestamp", "type"]);
      expect(line).toMatchObject({ sessionID: session.id, timestamp: expect.any(Number), part: { sessionID: session.id } });
    }
    // What `jq 'select(.type=="text")|.part.text'` reads.
    expect(lines.filter((l) => l.type === "text").map((l) => l.part.text)).toEqual(["the answer"]);
    expect(lines.find((l) => l.type === "tool_use").part).toMatchObject({ tool: "bash", state: { status: "completed", output: "from bash\n" } });
    expect(lines.find((l) => l.type === "step_finish").part.tokens.total).toEqual(expect.any(Number));
  });

  it("--format json prints an error line for a run that does not complete; --format events prints ode's events", async () => {
    const model = await startModel([{ toolCalls: [{ name: "bash", arguments: { command: "touch started; sleep 30" } }] }]);
    const project = makeProject(mockConfig(model.baseURL));
    // Interrupted once its tool runs (not after a fixed time, which a loaded machine may not reach).
    const child = startOde(project, ["run", "--format", "json", "sleep"]);
    const done = collect(child);
    child.stdin!.end();
    await waitFor(() => fs.existsSync(path.join(project.dir, "started")), 20_000);
    child.kill("SIGINT");
    const aborted = await done;
    expect(aborted.code).toBe(130);
    const lines = aborted.stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(lines.at(-1)).toMatchObject({ type: "error", error: { name: "MessageAbortedError" } });
    expect(lines.map((l) => l.type)).toContain("tool_use");

    const events = await runOde(project, ["run", "--continue", "--format", "events", "again"]);
    const { session } = onlySession(project.dataDir);
    const types = events.stdout.trim().split("\n").map((l) => JSON.parse(l)).map((e) => { expect(e.sessionID).toBe(session.id); return e.type; });
    expect(types).toEqual(expect.arrayContaining(["run.started", "message.updated", "message.part.updated", "run.finished"]));
    const bad = await runOde(project, ["run", "--format", "yaml", "x"]);
    expect([bad.code, bad.stderr.trim()]).toEqual([2, "ode: --format must be text, json or events, not yaml"]);
  });

  it("without a model, exits non-zero and says how to configure one", async () => {
    const project = makeProject();
    const result = await runOde(project, ["run", "hello"]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("no model is configured");
    expect(result.stderr).toContain("npm run demo");
    expect(result.stderr).toContain("OPENAI_API_KEY");
  });

  it("a run that cannot start leaves no empty session behind", async () => {
    const project = makeProject();
    const result = await runOde(project, ["run", "-m", "nowhere/model", "hello"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("provider nowhere is not configured");
    expect((await runOde(project, ["session", "list", "--format", "json"])).stdout.trim()).toBe("[]");
  });

  it("rejects a malformed ode.json with the file and field named", async () => {
    const project = makeProject({ model: 42 });
    const result = await runOde(project, ["run", "hello"]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/ode\.json: model:/);
  });
});

describe("ode --version", () => {
  it("prints the version injected into the built artifact", async () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
    const result = await runOde(makeProject(), ["--version"]);
    expect(result.stdout.trim()).toBe(pkg.version);
  });

  it("prints ODE_VERSION when the bundle was built with it", () => {
    // Inside the repository so the bundle's external packages resolve from node_modules.
    const out = path.join(ROOT, "dist", `version-test-${process.pid}`, "ode.cjs");
    execFileSync(process.execPath, [path.join(ROOT, "scripts/build.mjs"), "--outfile", out], {
      cwd: ROOT,
      env: { ...process.env, ODE_VERSION: "9.8.7-beta.3" },
    });
    expect(execFileSync(process.execPath, [out, "--version"], { encoding: "utf8" }).trim()).toBe("9.8.7-beta.3");
    fs.rmSync(path.dirname(out), { recursive: true, force: true });
  });
});
