import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { MissingDirectoryError } from "../../src/shell/spawn.js";
import { createBashTool } from "../../src/tool/bash.js";
import { ToolInterruptedError } from "../../src/tool/tool.js";
import { makeContext, runTool } from "./context.js";

const titles = { sessionTitle: (id: string) => (id === "ses_test" ? "bash test" : undefined) };
const bash = createBashTool(titles);

describe("bash tool", () => {
  it("runs in the project directory with the session context and reports the exit code", async () => {
    const ctx = makeContext();
    const result = await runTool(bash, { command: 'pwd; echo "$OPENCODE_SESSION_ID/$OPENCODE_SESSION_TITLE"; exit 3' }, ctx);
    expect(result.output).toContain(`${ctx.directory}\nses_test/bash test\n`);
    expect(result.output).toContain("[exit code 3]");
    expect(result.metadata).toMatchObject({ exit: 3, truncated: false });
  });

  it("kills a command that runs past its timeout", async () => {
    const started = Date.now();
    const result = await runTool(bash, { command: "echo before; sleep 30", timeout: 300 }, makeContext());
    expect(Date.now() - started).toBeLessThan(5000);
    expect(result.output).toContain("before");
    expect(result.output).toContain("timed out after 300 ms");
    expect(result.metadata.timedOut).toBe(true);
  });

  it("a flood of output keeps the last lines and saves the whole output to a file", async () => {
    const ctx = makeContext();
    const result = await runTool(bash, { command: "seq 1 300000" }, ctx);
    expect(result.metadata.truncated).toBe(true);
    expect(result.output).toContain("300000");
    expect(result.output).not.toContain("\n1\n");
    expect(Buffer.byteLength(result.output)).toBeLessThan(60 * 1024);
    const saved = fs.readFileSync(result.metadata.outputPath as string, "utf8");
    expect(saved.split("\n")).toHaveLength(300001);
  });

  it("full outputs of calls with the same call id in different messages do not overwrite each other", async () => {
    const dataDir = makeContext().dataDir;
    const first = await runTool(bash, { command: "seq 1 3000" }, makeContext({ dataDir, messageID: "msg_a" }));
    const second = await runTool(bash, { command: "seq 5 3004" }, makeContext({ dataDir, messageID: "msg_b" }));
    expect(first.metadata.outputPath).not.toBe(second.metadata.outputPath);
    expect(fs.readFileSync(first.metadata.outputPath as string, "utf8").startsWith("1\n")).toBe(true);
  });

  it("names a directory that does not exist (a session imported from elsewhere), not the shell", async () => {
    const ctx = makeContext();
    const gone = `${ctx.directory}/gone`;
    const error = await runTool(bash, { command: "echo never" }, { ...ctx, directory: gone }).catch((e) => e);
    expect(error).toBeInstanceOf(MissingDirectoryError);
    expect(error.message).toBe(`directory ${gone} does not exist: the command cannot run there`);
  });

  it("an abort interrupts the command and keeps what it printed", async () => {
    const controller = new AbortController();
    const ctx = makeContext({ abortSignal: controller.signal });
    setTimeout(() => controller.abort({ source: "user", mode: "soft" }), 300);
    const error = await runTool(bash, { command: "echo partial; sleep 30" }, ctx).catch((e) => e);
    expect(error).toBeInstanceOf(ToolInterruptedError);
    expect(error.output).toContain("partial");
    expect(error.metadata).toMatchObject({ interrupted: true });
  });
});
