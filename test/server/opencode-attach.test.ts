import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { startOpenAIServer, type OpenAITestServer, type RecordedRequest, type ScriptedReply } from "../support/openai-server.js";
import { collect, isTitleRequest, makeProject, mockConfig, runOde } from "../support/ode.js";
import { loopbackModelConfig, OPENCODE_TIMEOUT, opencodeHome, runOpencode, startOpencode } from "../support/opencode.js";
import { startServer } from "./support.js";

/** A model whose turn writes the session env of its bash child to `file`, then answers. */
function envModel(file: string): (req: RecordedRequest) => ScriptedReply {
  return (req) => {
    if (isTitleRequest(req)) return { text: "A generated title" };
    if (req.body.messages.at(-1).role === "tool") return { text: "The env is written." };
    const command = `printf "%s|%s" "$OPENCODE_SESSION_ID" "$OPENCODE_SESSION_TITLE" > ${file}`;
    return { toolCalls: [{ name: "bash", arguments: { command, description: "write the session env" } }] };
  };
}

async function withModel<T>(file: string, body: (model: OpenAITestServer) => Promise<T>): Promise<T> {
  const model = await startOpenAIServer(envModel(file));
  try {
    return await body(model);
  } finally {
    await model.close();
  }
}

describe("opencode's own client against ode serve", () => {
  for (const password of [undefined, "attach-s3cret"]) {
    it(
      `opencode run --attach completes a turn whose bash child sees the session env (${password ? "with" : "without"} a password)`,
      async () => {
        const home = opencodeHome();
        const file = path.join(home.dir, "env.txt");
        await withModel(file, async (model) => {
          const server = await startServer(mockConfig(model.baseURL), { password });
          const run = await runOpencode(home, ["run", "--attach", server.url, "--format", "json", "--title", "Attached from opencode", "write the env"], {
            ...(password ? { OPENCODE_SERVER_PASSWORD: password } : {}),
          });
          expect(run.stderr).not.toMatch(/error/i);
          expect(run.code).toBe(0);
          const [session] = server.rt.store.listSessions();
          expect(session!.title).toBe("Attached from opencode");
          expect(fs.readFileSync(file, "utf8")).toBe(`${session!.id}|Attached from opencode`);
          // opencode's `--format json` vocabulary, read from ode's events.
          const types = run.stdout.trim().split("\n").map((line) => JSON.parse(line).type);
          expect(types).toEqual(expect.arrayContaining(["step_start", "tool_use", "step_finish", "text"]));
          if (password) {
            const refused = await runOpencode(home, ["run", "--attach", server.url, "no password"]);
            expect(refused.code).not.toBe(0);
            expect(server.rt.store.listSessions()).toHaveLength(1);
          }
        });
      },
      OPENCODE_TIMEOUT,
    );
  }
});

describe("ode's client against opencode serve", () => {
  it(
    "ode run --attach runs a turn on a real opencode server",
    async () => {
      const project = makeProject();
      const file = path.join(project.dir, "env.txt");
      await withModel(file, async (model) => {
        const home = opencodeHome(loopbackModelConfig(model.baseURL));
        const password = "opencode-s3cret";
        const serve = startOpencode(home, ["serve", "--port", "0", "--hostname", "127.0.0.1"], { OPENCODE_SERVER_PASSWORD: password });
        const exited = collect(serve);
        try {
          const url = await new Promise<string>((resolve, reject) => {
            let out = "";
            serve.stdout!.on("data", (chunk) => {
              out += chunk;
              const found = /listening on (http:\/\/\S+)/.exec(out);
              if (found) resolve(found[1]!);
            });
            serve.once("close", () => reject(new Error(`opencode serve exited: ${out}`)));
          });
          const run = await runOde(project, ["run", "--attach", url, "--title", "From ode", "write the env"], {
            env: { OPENCODE_SERVER_PASSWORD: password },
          });
          expect(run.stderr).toContain("| bash");
          expect(run.code).toBe(0);
          expect(run.stdout).toContain("The env is written.");
          // opencode without the plugin sets no session env: the file exists, written by opencode's bash tool.
          expect(fs.existsSync(file)).toBe(true);
        } finally {
          serve.kill("SIGTERM");
          await exited;
        }
      });
    },
    OPENCODE_TIMEOUT,
  );
});
