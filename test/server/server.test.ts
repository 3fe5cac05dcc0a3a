import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import v8 from "node:v8";
import { describe, expect, it } from "vitest";
import type { AbortDiagnostic } from "../../src/session/abort.js";
import type { AssistantMessage, ToolPart } from "../../src/session/schema.js";
import { isLoopback } from "../../src/server/auth.js";
import { EventStreams } from "../../src/server/events.js";
import { Log } from "../../src/log.js";
import { listen } from "../../src/server/serve.js";
import { RuntimeEvents } from "../../src/events.js";
import { createRuntime } from "../../src/runtime.js";
import { startOpenAIServer } from "../support/openai-server.js";
import { isTitleRequest, makeProject, mockConfig, startModel, tempDir, waitFor } from "../support/ode.js";
import { client, openEvents, rawEmit, startServer } from "./support.js";

const sleepTurn = [{ toolCalls: [{ name: "bash", arguments: { command: "sleep 30" } }] }, { text: "slept" }];

function toolPart(messages: Array<{ parts: Array<{ type: string }> }>): ToolPart | undefined {
  return messages.flatMap((m) => m.parts).find((p) => p.type === "tool") as ToolPart | undefined;
}

describe("ode server: runs and aborts over HTTP", () => {
  it("create -> prompt_async -> ordered events -> abort with a reason -> the export shows it", async () => {
    const model = await startModel(sleepTurn);
    const server = await startServer(mockConfig(model.baseURL));
    const created = await server.api("POST", "/session", { title: "abort me" });
    expect(created.status).toBe(201);
    const id: string = created.body.id;
    const log = await openEvents(server.url);

    // opencode's body: text parts; the answer is opencode's 204, ode's run id in a header.
    const started = await server.api("POST", `/session/${id}/prompt_async`, { parts: [{ type: "text", text: "sleep for a while" }] });
    expect(started.status).toBe(204);
    const runID = started.headers.get("x-ode-run-id")!;
    expect(runID).toMatch(/^run_/);

    await waitFor(() =>
      log.events.some((e) => e.type === "message.part.updated" && (e.properties.part as ToolPart).state?.status === "running"),
    );
    const reason = "the editor's stop button";
    const aborted = await server.api("POST", `/session/${id}/abort`, { reason });
    expect(aborted).toMatchObject({ status: 200, body: true });
    expect(aborted.headers.get("x-ode-run-id")).toBe(runID);
    await waitFor(() => log.events.some((e) => e.type === "run.finished" && e.properties.runID === runID));

    const mine = log.events.filter((e) => !e.type.startsWith("server."));
    for (const event of mine) expect([event.sessionID, event.properties.sessionID]).toEqual([id, id]);
    const at = (predicate: (e: (typeof mine)[number]) => boolean) => mine.findIndex(predicate);
    const order = [
      at((e) => e.type === "run.started"),
      at((e) => e.type === "session.status" && (e.properties.status as { type: string }).type === "busy"),
      at((e) => e.type === "message.updated" && (e.properties.info as { role: string }).role === "user"),
      at((e) => e.type === "message.updated" && (e.properties.info as { role: string }).role === "assistant"),
      at((e) => e.type === "message.part.updated" && (e.properties.part as ToolPart).state?.status === "running"),
      at((e) => e.type === "run.aborted"),
      at((e) => e.type === "message.part.updated" && (e.properties.part as ToolPart).state?.status === "error"),
      at((e) => e.type === "run.finished"),
      at((e) => e.type === "session.error" && (e.properties.error as { name: string }).name === "MessageAbortedError"),
      at((e) => e.type === "session.status" && (e.properties.status as { type: string }).type === "idle"),
      at((e) => e.type === "session.idle"),
    ];
    expect(order.every((index) => index >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(log.events[0]!.type).toBe("server.connected");
    expect(mine.find((e) => e.type === "run.finished")!.properties).toMatchObject({ outcome: "aborted" });

    const expected = { source: "api", via: "POST /session/:id/abort", reason, mode: "soft", phase: "tool", run_id: runID };
    const messages = server.rt.store.messages(id);
    const assistant = messages.find((m) => m.info.role === "assistant")!.info as AssistantMessage;
    expect(assistant.diagnostics?.abort).toMatchObject(expected);
    expect(assistant.error).toMatchObject({ name: "MessageAbortedError" });
    expect(toolPart(messages)!.state).toMatchObject({ status: "error", metadata: { interrupted: true } });

    const exported = await server.api("GET", `/session/${id}/export`);
    expect(exported.status).toBe(200);
    expect(exported.body.diagnostics.aborts).toEqual([expect.objectContaining(expected)]);
    const sanitized = await server.api("GET", `/session/${id}/export?sanitize=1`);
    expect(sanitized.body.diagnostics.aborts[0]).toMatchObject({ source: "api", run_id: runID });
    expect(JSON.stringify(sanitized.body)).not.toContain(reason);

    const idle = await server.api("POST", `/session/${id}/abort`, {});
    expect(idle).toMatchObject({ status: 200, body: false });
  });

  it("POST /session/:id/message waits for the turn and answers its last assistant message with its parts", async () => {
    const model = await startModel([
      { toolCalls: [{ name: "bash", arguments: { command: "echo from-bash" } }] },
      { text: "All done." },
    ]);
    const server = await startServer(mockConfig(model.baseURL));
    const { body: session } = await server.api("POST", "/session");
    const res = await server.api("POST", `/session/${session.id}/message`, { parts: [{ type: "text", text: "run echo" }] });
    expect(res.status).toBe(200);
    expect(res.body.info).toMatchObject({ sessionID: session.id, role: "assistant", finish: "stop", mode: "build", agent: "build" });
    expect(res.body.info.error).toBeUndefined();
    expect(res.body.parts.find((p: { type: string }) => p.type === "text")).toMatchObject({ text: "All done." });
    const listed = await server.api("GET", `/session/${session.id}/message`);
    expect(listed.body.map((m: { info: { role: string } }) => m.info.role)).toEqual(["user", "assistant", "assistant"]);
    expect(listed.body.at(-1).info.id).toBe(res.body.info.id);
    expect(toolPart(listed.body)!.state).toMatchObject({ status: "completed", output: expect.stringContaining("from-bash") });
    // ode's earlier body, `{text}`, is still accepted.
    expect((await server.api("POST", `/session/${session.id}/message`, { text: "again" })).status).toBe(200);
  });

  it("runs 20 sessions at once, each bash child seeing only its own session id and title", async () => {
    // Each child checks in, then waits (10 s at most) until all 20 have: runs that were queued, not concurrent, would
    // leave the first one waiting alone, and its run would end before the last one started.
    const arrived = tempDir();
    const barrier = `touch "${arrived}/$OPENCODE_SESSION_ID"; for i in $(seq 200); do [ "$(ls "${arrived}" | wc -l)" -ge 20 ] && break; sleep 0.05; done`;
    const model = await startOpenAIServer((req) => {
      if (isTitleRequest(req)) return { text: "A generated title" };
      if (req.body.messages.at(-1).role === "tool") return { text: "ok" };
      return {
        toolCalls: [{ name: "bash", arguments: { command: `${barrier}; printf "%s|%s" "$OPENCODE_SESSION_ID" "$OPENCODE_SESSION_TITLE"` } }],
      };
    });
    try {
      const server = await startServer(mockConfig(model.baseURL));
      const sessions = await Promise.all(
        Array.from({ length: 20 }, async (_, i) => (await server.api("POST", "/session", { title: `task ${i}` })).body),
      );
      const results = await Promise.all(sessions.map((s) => server.api("POST", `/session/${s.id}/message`, { text: "who am I?" })));
      for (const [i, res] of results.entries()) {
        expect(res.body.info.error).toBeUndefined();
        const state = toolPart(server.rt.store.messages(sessions[i].id))!.state as { output: string };
        expect(state.output.trim()).toBe(`${sessions[i].id}|task ${i}`);
      }
      // Concurrent, not queued: every run started before any of them ended.
      const rows = sessions.map((s) => server.rt.runs.rows(s.id)[0]!);
      expect(Math.max(...rows.map((r) => r.started_at))).toBeLessThan(Math.min(...rows.map((r) => r.ended_at!)));
    } finally {
      await model.close();
    }
  });

  it("refuses a second run of a busy session with 409 SessionBusyError", async () => {
    const model = await startModel(sleepTurn);
    const server = await startServer(mockConfig(model.baseURL));
    const { body: session } = await server.api("POST", "/session");
    const path = `/session/${session.id}`;
    const started = await server.api("POST", `${path}/prompt_async`, { text: "sleep" });
    expect(started.status).toBe(204);
    const runID = started.headers.get("x-ode-run-id")!;
    for (const [method, suffix, body] of [
      ["POST", "/message", { text: "again" }],
      ["POST", "/prompt_async", { text: "again" }],
      ["POST", "/shell", { command: "echo hi" }],
      ["DELETE", "", undefined],
    ] as const) {
      const res = await server.api(method, path + suffix, body);
      expect(res.status, `${method} ${suffix}`).toBe(409);
      expect(res.body).toMatchObject({ name: "SessionBusyError", data: { message: expect.stringContaining(runID) } });
    }
    expect((await server.api("GET", "/session/status")).body).toEqual({ [session.id]: { type: "busy" } });
    expect((await server.api("POST", `${path}/abort`, { mode: "hard" })).body).toBe(true);
    await waitFor(() => !server.rt.runs.get(session.id));
    expect(JSON.parse(server.rt.runs.rows(session.id)[0]!.interrupt!)).toMatchObject({ source: "api", mode: "hard" });
    expect((await server.api("GET", "/session/status")).body).toEqual({});
  });

  it("runs the prompt shell with the session's id and its title at the moment of the spawn", async () => {
    const server = await startServer(undefined);
    const { body: session } = await server.api("POST", "/session", { title: "first title" });
    const command = 'printf "%s|%s" "$OPENCODE_SESSION_ID" "$OPENCODE_SESSION_TITLE"';
    // opencode's body names an agent; the answer is the assistant message holding the command's tool part.
    const first = await server.api("POST", `/session/${session.id}/shell`, { agent: "build", command });
    expect(first.status).toBe(200);
    expect(first.body.info).toMatchObject({ role: "assistant", providerID: "user", modelID: "shell" });
    expect(toolPart([first.body])!.state).toMatchObject({ status: "completed", output: `${session.id}|first title`, metadata: { exit: 0 } });
    await server.api("PATCH", `/session/${session.id}`, { title: "renamed" });
    const second = await server.api("POST", `/session/${session.id}/shell`, { command });
    expect((toolPart([second.body])!.state as { output: string }).output).toBe(`${session.id}|renamed`);
  });

  it("aborts the runs with source shutdown when the server shuts down, and waits for their results", async () => {
    const model = await startModel(sleepTurn);
    const server = await startServer(mockConfig(model.baseURL));
    const { body: session } = await server.api("POST", "/session");
    const shell = server.api("POST", `/session/${session.id}/shell`, { command: "sleep 30" });
    await waitFor(() => server.rt.runs.get(session.id)?.activeCall);
    const start = Date.now();
    await server.shutdown({ source: "shutdown", via: "SIGTERM" });
    expect(Date.now() - start).toBeLessThan(4000);
    expect((await shell).body.info.error).toMatchObject({ name: "MessageAbortedError" });
    const [row] = server.rt.runs.rows(session.id);
    expect(row).toMatchObject({ outcome: "aborted" });
    expect(JSON.parse(row!.interrupt!)).toMatchObject({ source: "shutdown", via: "SIGTERM", phase: "shell" });
    await expect(server.api("GET", "/session")).rejects.toThrow();
  });
});

describe("ode server: sessions, validation and errors", () => {
  it("creates, lists, shows, renames and deletes sessions", async () => {
    const server = await startServer(undefined);
    const a = (await server.api("POST", "/session", { title: "alpha" })).body;
    const b = (await server.api("POST", "/session", {})).body;
    expect(a).toMatchObject({ id: expect.stringMatching(/^ses_/), title: "alpha", directory: server.project.dir });
    expect(b.title).toMatch(/^New session - /);
    server.rt.store.createSession({ directory: "/somewhere/else" });
    expect((await server.api("GET", "/session")).body.map((s: { id: string }) => s.id)).toEqual([b.id, a.id]);
    expect((await server.api("GET", "/session?all=1")).body).toHaveLength(3);
    expect((await server.api("GET", `/session/${a.id}`)).body).toEqual(a);
    const renamed = await server.api("PATCH", `/session/${a.id}`, { title: "line one\nline two" });
    expect(renamed.body.title).toBe("line one line two");
    expect((await server.api("DELETE", `/session/${a.id}`)).body).toBe(true);
    expect((await server.api("GET", `/session/${a.id}`)).status).toBe(404);
  });

  it("answers 400 naming the invalid field", async () => {
    const server = await startServer(undefined);
    const { body: session } = await server.api("POST", "/session");
    const path = `/session/${session.id}`;
    const cases: Array<[string, string, unknown, RegExp]> = [
      ["POST", `${path}/message`, {}, /^parts: must hold some text/],
      ["POST", `${path}/message`, { text: 42 }, /^text: /],
      ["POST", `${path}/message`, { text: "" }, /^text: must hold some text/],
      ["POST", `${path}/message`, { parts: [{ type: "text", text: " " }] }, /^parts: must hold some text/],
      ["POST", `${path}/message`, { parts: [{ type: "file", url: "file:///x" }] }, /^parts\[0\]\.type: only text parts/],
      ["POST", `${path}/message`, { parts: [{ type: "text", text: "hi" }], model: { providerID: "x" } }, /^model/],
      ["POST", `${path}/message`, { parts: [{ type: "text", text: "hi" }], noReply: true }, /^noReply: /],
      ["POST", `${path}/message`, { parts: [{ type: "text", text: "hi" }], messageID: "abc" }, /^messageID: must start with msg_/],
      ["POST", `${path}/prompt_async`, { text: "hi", timeoutMs: -5 }, /^timeoutMs: /],
      ["POST", `${path}/message`, "{not json", /^body: not valid JSON/],
      ["POST", `${path}/message`, [1, 2], /^body: /],
      ["POST", `${path}/shell`, { command: "" }, /^command: /],
      ["POST", `${path}/abort`, { mode: "gentle" }, /^mode: /],
      ["POST", `${path}/abort`, { reason: 7 }, /^reason: /],
      ["PATCH", path, { title: null }, /^title: /],
      ["PATCH", path, { title: "\n\t" }, /title is empty/],
      ["POST", "/session", { title: 5 }, /^title: /],
    ];
    for (const [method, url, body, message] of cases) {
      const res = await server.api(method, url, body);
      expect(res.status, `${method} ${url} ${JSON.stringify(body)}`).toBe(400);
      expect(res.body.name).toBe("InvalidInputError");
      expect(res.body.data.message).toMatch(message);
    }
  });

  it("answers 404 SessionNotFoundError for an unknown session on every session route", async () => {
    const server = await startServer(undefined);
    const path = "/session/ses_doesnotexist";
    for (const [method, suffix, body] of [
      ["GET", "", undefined],
      ["PATCH", "", { title: "x" }],
      ["DELETE", "", undefined],
      ["GET", "/message", undefined],
      ["POST", "/message", { text: "hi" }],
      ["POST", "/prompt_async", { text: "hi" }],
      ["POST", "/shell", { command: "true" }],
      ["POST", "/abort", {}],
      ["GET", "/export", undefined],
    ] as const) {
      const res = await server.api(method, path + suffix, body);
      expect(res.status, `${method} ${suffix}`).toBe(404);
      expect(res.body.name).toBe("SessionNotFoundError");
    }
    expect((await server.api("GET", "/nothing/here")).body).toMatchObject({ name: "NotFoundError" });
  });

  it("answers 400 for a model that is not configured, without starting a run", async () => {
    const server = await startServer(undefined);
    const { body: session } = await server.api("POST", "/session");
    const res = await server.api("POST", `/session/${session.id}/prompt_async`, { text: "hi" });
    expect(res.status).toBe(400);
    expect(res.body.data.message).toContain("no model is configured");
    expect(server.rt.runs.rows(session.id)).toEqual([]);
  });

  it("answers 507 StoreUnavailableError naming the data directory when the store is full", async () => {
    const server = await startServer(undefined);
    const db = server.rt.store.db;
    // The database may not grow, and the pages it has are filled: the next write fails with SQLITE_FULL.
    db.pragma(`max_page_count = ${db.pragma("page_count", { simple: true })}`);
    expect(() => {
      for (;;) server.rt.store.createSession({ directory: server.project.dir, title: "x".repeat(100) });
    }).toThrow(expect.objectContaining({ code: "SQLITE_FULL" }));
    const res = await server.api("POST", "/session", { title: "x".repeat(100) });
    expect(res.status).toBe(507);
    expect(res.body).toEqual({
      name: "StoreUnavailableError",
      data: { message: `cannot use the data directory ${server.project.dataDir}: the disk is full (SQLITE_FULL)` },
    });
  });
});

describe("ode server: auth", () => {
  it("requires HTTP Basic auth on every route when a password is set (any user name)", async () => {
    const server = await startServer(undefined, { password: "s3cret" });
    const anonymous = client(server.url);
    for (const path of ["/session", "/session/ses_x", "/event", "/nothing"]) {
      const res = await anonymous("GET", path);
      expect(res.status, path).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Basic realm="ode"/);
    }
    const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}` });
    expect((await anonymous("GET", "/session", undefined, basic("ode", "wrong"))).status).toBe(401);
    expect((await anonymous("GET", "/session", undefined, basic("ode", "s3cret!"))).status).toBe(401);
    expect((await anonymous("GET", "/session", undefined, { authorization: "Bearer s3cret" })).status).toBe(401);
    expect((await anonymous("GET", "/session", undefined, basic("ode", "s3cret"))).status).toBe(200);
    expect((await anonymous("GET", "/session", undefined, basic("opencode", "s3cret"))).status).toBe(200);
    const log = await openEvents(server.url, "", basic("ode", "s3cret"));
    await waitFor(() => log.events.length > 0);
  });

  it("needs no auth without a password", async () => {
    const server = await startServer(undefined);
    expect((await client(server.url)("GET", "/session")).status).toBe(200);
  });

  it("refuses a non-loopback address without a password", async () => {
    const project = makeProject();
    const rt = createRuntime({ directory: project.dir, dataDir: project.dataDir, env: project.env });
    try {
      await expect(listen(rt, { port: 0, hostname: "0.0.0.0" })).rejects.toThrow(/refusing to listen on 0\.0\.0\.0 without a password.*ODE_SERVER_PASSWORD/);
      const running = await listen(rt, { port: 0, hostname: "0.0.0.0", password: "pw" });
      await running.shutdown({ source: "shutdown" });
    } finally {
      rt.close();
    }
    for (const host of ["127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]", "::ffff:127.0.0.1"]) expect(isLoopback(host), host).toBe(true);
    for (const host of ["0.0.0.0", "::", "192.168.1.10", "example.com", "128.0.0.1"]) expect(isLoopback(host), host).toBe(false);
  });
});

describe("ode server: event stream", () => {
  it("sends heartbeats and filters by ?sessionID", async () => {
    const server = await startServer(undefined, { heartbeatMs: 30 });
    const publish = rawEmit(server.rt);
    const all = await openEvents(server.url);
    const one = await openEvents(server.url, "?sessionID=ses_one");
    publish("test.event", "ses_one", { n: 1 });
    publish("test.event", "ses_two", { n: 2 });
    await waitFor(() => one.events.some((e) => e.type === "server.heartbeat"));
    await waitFor(() => all.events.filter((e) => e.type === "test.event").length === 2);
    await waitFor(() => one.events.some((e) => e.type === "test.event"));
    expect(one.events.filter((e) => e.type === "test.event")).toEqual([
      { id: expect.stringMatching(/^evt_/), type: "test.event", sessionID: "ses_one", properties: { sessionID: "ses_one", n: 1 } },
    ]);
  });

  it("forgets a client that disconnects", async () => {
    const server = await startServer(undefined);
    const publish = rawEmit(server.rt);
    const a = await openEvents(server.url);
    const b = await openEvents(server.url);
    await waitFor(() => a.events.length > 0 && b.events.length > 0);
    expect(server.ode.events.clients).toBe(2);
    a.close();
    await waitFor(() => server.ode.events.clients === 1);
    publish("test.event", "ses_x");
    await waitFor(() => b.events.some((e) => e.type === "test.event"));
  });

  it("disconnects a client that does not read instead of buffering for it, without holding up publishers", async () => {
    const server = await startServer(undefined, { maxQueuedBytes: 64 * 1024 });
    const publish = rawEmit(server.rt);
    const fast = await openEvents(server.url);
    let received = 0;
    const slow = await new Promise<http.IncomingMessage>((resolve) => http.get(`${server.url}/event`, resolve));
    slow.once("data", (chunk: Buffer) => {
      received += chunk.length;
      slow.pause();
    });
    const ended = new Promise<void>((resolve) => slow.on("close", () => resolve()));
    await waitFor(() => received > 0 && server.ode.events.clients === 2);

    const payload = "x".repeat(10_000);
    const start = Date.now();
    // Small bursts, so the reading client keeps up, until the socket buffers and the 64 KiB queue of the other fill.
    for (let i = 0; i < 20_000 && server.ode.events.clients === 2; i++) {
      publish("test.big", "ses_x", { i, payload });
      if (i % 5 === 4) await new Promise((r) => setTimeout(r, 1));
    }
    expect(Date.now() - start).toBeLessThan(10_000);
    expect(server.ode.events.clients).toBe(1);
    slow.resume();
    await ended;
    publish("test.after", "ses_x");
    await waitFor(() => fast.events.some((e) => e.type === "test.after"));
  });

  it("keeps nothing per event for a client that stays connected", async () => {
    const server = await startServer(undefined);
    const publish = rawEmit(server.rt);
    const log = await openEvents(server.url);
    let sent = 0;
    // A few events at a time, as runs emit them, so the socket takes each at once: a burst that fills the socket
    // would end the promise chain counted below (the writer waits for "drain" instead), hiding it.
    const trickle = async (n: number) => {
      for (let i = 0; i < n; i++) {
        publish("test.event", "ses_x", { i: sent++ });
        if (i % 5 === 4) await new Promise((resolve) => setImmediate(resolve));
      }
      await waitFor(() => log.events.filter((e) => e.type === "test.event").length === sent);
    };
    await trickle(100);
    // Counted after a full collection: only what something still holds. A writer that chains a promise per chunk
    // (as the HTTP adapter does for a ReadableStream body) holds one more for every event until the client leaves.
    const before = v8.queryObjects(Promise, { format: "count" });
    await trickle(5000);
    const after = v8.queryObjects(Promise, { format: "count" });
    expect(after - before).toBeLessThan(500);
    expect(server.ode.events.clients).toBe(1);
  });

  it("subscribes nothing for a client that left before its stream opened", async () => {
    const streams = new EventStreams(new RuntimeEvents(), (event) => [event], new Log(tempDir()));
    let request: http.ClientRequest | undefined;
    const opened = new Promise<void>((resolve) => {
      const server = http.createServer((_req, res) => {
        res.once("close", () => {
          streams.open(undefined, res);
          server.close();
          resolve();
        });
        // The client leaves while the request is still on its way to the route.
        request!.destroy();
      });
      server.listen(0, "127.0.0.1", () => {
        request = http.get(`http://127.0.0.1:${(server.address() as AddressInfo).port}/event`);
        request.on("error", () => {});
      });
    });
    await opened;
    expect(streams.clients).toBe(0);
  });

  it("ends the event streams at shutdown", async () => {
    const server = await startServer(undefined);
    const res = await fetch(`${server.url}/event`);
    const text = res.text();
    await waitFor(() => server.ode.events.clients === 1);
    await server.shutdown({ source: "shutdown" });
    expect(await text).toMatch(/^data: \{"id":"evt_\w+","type":"server.connected"/);
  });
});

describe("ode server: abort diagnostic fields", () => {
  it("keeps the first abort as the cause and counts the later ones", async () => {
    // The command ignores SIGTERM, so the run outlives the soft abort's grace period and the second abort finds it.
    const model = await startModel([{ toolCalls: [{ name: "bash", arguments: { command: "trap '' TERM; touch trapped; sleep 30" } }] }, { text: "done" }]);
    const server = await startServer(mockConfig(model.baseURL));
    const { body: session } = await server.api("POST", "/session");
    await server.api("POST", `/session/${session.id}/prompt_async`, { text: "sleep" });
    // Abort only once the trap is in place: a SIGTERM before it would end the command at once.
    await waitFor(() => fs.existsSync(path.join(session.directory, "trapped")));
    const first = await server.api("POST", `/session/${session.id}/abort`, { reason: "enough" });
    const second = await server.api("POST", `/session/${session.id}/abort`, { reason: "again", mode: "hard" });
    expect([first.body, second.body]).toEqual([true, true]);
    expect(second.headers.get("x-ode-run-id")).toBe(first.headers.get("x-ode-run-id"));
    await waitFor(() => !server.rt.runs.get(session.id));
    const [row] = server.rt.runs.rows(session.id);
    expect(JSON.parse(row!.interrupt!) as AbortDiagnostic).toMatchObject({ source: "api", mode: "soft", reason: "enough" });
    expect(row!.cancel_count).toBe(1);
  });
});
