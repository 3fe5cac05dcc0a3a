import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startOpenAIServer } from "../test/support/openai-server.js";

/**
 * A scratch project whose loopback model answers every `ode run` with one bash call (`echo hi`) and then "done",
 * and titles with "Bench title": the run the CLI benchmarks time.
 */
export async function bashTurnProject(): Promise<{ dir: string; env: NodeJS.ProcessEnv; baseURL: string; close(): Promise<void> }> {
  const server = await startOpenAIServer((req) => {
    if (!req.body.tools) return { text: "Bench title" };
    const last = req.body.messages.at(-1);
    return last.role === "tool" ? { text: "done" } : { toolCalls: [{ name: "bash", arguments: { command: "echo hi" } }] };
  });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ode-bench-"));
  fs.writeFileSync(
    path.join(dir, "ode.json"),
    JSON.stringify({ model: "mock/m", provider: { mock: { type: "openai-compatible", options: { baseURL: server.baseURL } } } }),
  );
  const env: NodeJS.ProcessEnv = { ...process.env, ODE_DATA_DIR: path.join(dir, "data") };
  return {
    dir,
    env,
    baseURL: server.baseURL,
    close: async () => {
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
