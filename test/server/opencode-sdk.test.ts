import fs from "node:fs";
import path from "node:path";
import { createOpencodeClient, type Event } from "@opencode-ai/sdk";
import { describe, expect, it } from "vitest";
import { processGroupAlive } from "../../src/shell/process-groups.js";
import { startOpenAIServer, type RecordedRequest, type ScriptedReply } from "../support/openai-server.js";
import { isTitleRequest, mockConfig, waitFor } from "../support/ode.js";
import { startServer } from "./support.js";

/** A model that runs whatever command the user message names after `run:`, then answers `done`. */
function commandModel(req: RecordedRequest): ScriptedReply {
  if (isTitleRequest(req)) return { text: "SDK session" };
  if (req.body.messages.at(-1).role === "tool") return { text: "done" };
  const user = req.body.messages.filter((m: { role: string }) => m.role === "user").at(-1).content;
  const text = typeof user === "string" ? user : user.map((c: { text?: string }) => c.text ?? "").join("");
  const command = /run: (.*)$/s.exec(text)?.[1];
  return command ? { toolCalls: [{ name: "bash", arguments: { command } }] } : { text: `echo: ${text}` };
}

async function setUp() {
  const model = await startOpenAIServer(commandModel);
  const server = await startServer(mockConfig(model.baseURL));
  const client = createOpencodeClient({ baseUrl: server.url });
  return { model, server, client };
}

/** Reads the SDK's event stream in the background until `stop` says so. */
function collectEvents(stream: AsyncIterable<Event>, stop: (event: Event) => boolean): Promise<Event[]> {
  return (async () => {
    const seen: Event[] = [];
    for await (const event of stream) {
      seen.push(event);
      if (stop(event)) break;
    }
    return seen;
  })();
}

describe("the official @opencode-ai/sdk against ode serve", () => {
  it("create, prompt, promptAsync with event.subscribe until idle, messages, shell, update, delete", async () => {
    const { model, server, client } = await setUp();
    try {
      const created = await client.session.create({ body: { title: "from the SDK" } });
      expect(created.error).toBeUndefined();
      const session = created.data!;
      expect(session).toMatchObject({ id: expect.stringMatching(/^ses_/), title: "from the SDK", projectID: "global", slug: expect.any(String) });

      const prompted = await client.session.prompt({ path: { id: session.id }, body: { parts: [{ type: "text", text: "hello there" }] } });
      expect(prompted.error).toBeUndefined();
      expect(prompted.data!.info).toMatchObject({ role: "assistant", sessionID: session.id, mode: "build" });
      expect(prompted.data!.parts.find((p) => p.type === "text")).toMatchObject({ text: "echo: hello there" });

      const events = await client.event.subscribe();
      const untilIdle = collectEvents(
        events.stream as AsyncIterable<Event>,
        (e) => e.type === "session.idle" && e.properties.sessionID === session.id,
      );
      // The stream is open once the server said so; a prompt sent earlier could finish unseen.
      await waitFor(() => server.ode.events.clients === 1);
      const accepted = await client.session.promptAsync({
        path: { id: session.id },
        body: { parts: [{ type: "text", text: 'run: echo "$OPENCODE_SESSION_ID"' }], model: { providerID: "mock", modelID: "test-model" } },
      });
      expect(accepted.response.status).toBe(204);
      const seen = await untilIdle;
      const types = seen.map((e) => e.type);
      expect(types).toEqual(expect.arrayContaining(["session.status", "message.updated", "message.part.updated", "session.idle"]));
      expect(types.indexOf("session.status")).toBeLessThan(types.indexOf("session.idle"));
      const tool = seen.find((e) => e.type === "message.part.updated" && e.properties.part.type === "tool" && e.properties.part.state.status === "completed");
      expect(tool).toBeDefined();

      const messages = await client.session.messages({ path: { id: session.id } });
      expect(messages.data!.map((m) => m.info.role)).toEqual(["user", "assistant", "user", "assistant", "assistant"]);
      const toolPart = messages.data!.flatMap((m) => m.parts).find((p) => p.type === "tool");
      expect(toolPart).toMatchObject({ state: { status: "completed", output: `${session.id}\n` } });

      const shell = await client.session.shell({ path: { id: session.id }, body: { agent: "build", command: 'printf %s "$OPENCODE_SESSION_TITLE"' } });
      expect(shell.error).toBeUndefined();
      // The v1 SDK types this answer as the bare message; opencode 1.18's server (its /doc) answers `{info, parts}`.
      const shellTurn = shell.data as unknown as { info: { role: string }; parts: Array<{ type: string }> };
      expect(shellTurn.info.role).toBe("assistant");
      expect(shellTurn.parts.find((p) => p.type === "tool")).toMatchObject({ state: { status: "completed", output: "from the SDK" } });

      const updated = await client.session.update({ path: { id: session.id }, body: { title: "renamed by the SDK" } });
      expect(updated.data).toMatchObject({ id: session.id, title: "renamed by the SDK" });
      const status = await client.session.status();
      expect(status.data).toEqual({});

      const deleted = await client.session.delete({ path: { id: session.id } });
      expect(deleted.data).toBe(true);
      expect((await client.session.get({ path: { id: session.id } })).response.status).toBe(404);
    } finally {
      await model.close();
    }
  });

  it("abort of a running tool: its processes are gone and the export says source api", async () => {
    const { model, server, client } = await setUp();
    try {
      const session = (await client.session.create({ body: {} })).data!;
      const pidFile = path.join(server.project.dir, "pgid");
      // The bash tool starts its command in a process group of its own: `$$` is that group.
      const command = `echo $$ > ${pidFile}; sleep 30 & sleep 30; wait`;
      const accepted = await client.session.promptAsync({ path: { id: session.id }, body: { parts: [{ type: "text", text: `run: ${command}` }] } });
      expect(accepted.response.status).toBe(204);
      const pgid = Number(await waitFor(() => fs.existsSync(pidFile) && fs.readFileSync(pidFile, "utf8").trim()));
      expect(processGroupAlive(pgid)).toBe(true);

      const aborted = await client.session.abort({ path: { id: session.id } });
      expect(aborted.data).toBe(true);
      await waitFor(() => !server.rt.runs.get(session.id));
      expect(processGroupAlive(pgid)).toBe(false);

      const doc = await (await fetch(`${server.url}/session/${session.id}/export`)).json();
      expect(doc.diagnostics.aborts).toEqual([expect.objectContaining({ source: "api", via: "POST /session/:id/abort", phase: "tool" })]);
      expect((await client.session.abort({ path: { id: session.id } })).data).toBe(false);
    } finally {
      await model.close();
    }
  });
});
