import { afterEach, describe, expect, it, vi } from "vitest";
import { runAttached, serverURL, type AttachOptions } from "../../src/cli/attach.js";
import { mockConfig, startModel, waitFor } from "../support/ode.js";
import { startServer } from "./support.js";

const bashTurn = [{ toolCalls: [{ name: "bash", arguments: { command: "echo attached" } }] }, { text: "The answer from the server." }];

afterEach(() => {
  process.exitCode = undefined;
  delete process.env.ODE_SERVER_PASSWORD;
});

/** Runs the client of `ode run --attach` in this process, capturing what it prints and the exit code it sets. */
async function attach(url: string, options: Partial<AttachOptions> & { message: string }) {
  let stdout = "";
  let stderr = "";
  const out = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => ((stderr += String(chunk)), true));
  try {
    await runAttached(url, { format: "text", ...options });
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
  return { stdout, stderr, exitCode: process.exitCode };
}

describe("ode run --attach URL", () => {
  it("takes host:port, a bare port or a full URL", () => {
    expect(serverURL("localhost:4096")).toBe("http://localhost:4096");
    expect(serverURL("10.0.0.5:4096")).toBe("http://10.0.0.5:4096");
    expect(serverURL("4096")).toBe("http://127.0.0.1:4096");
    expect(serverURL("https://ode.example:8443/")).toBe("https://ode.example:8443/");
  });

  it("runs the turn on the server (given as localhost:PORT) and prints it like a local run", async () => {
    const model = await startModel(bashTurn);
    const server = await startServer(mockConfig(model.baseURL));
    const result = await attach(server.url.replace("http://127.0.0.1", "localhost"), { message: "say hi" });
    const [session] = server.rt.store.listSessions();
    expect(result.stderr).toBe(`| bash  echo attached\n|   attached\nsession ${session!.id}\n`);
    expect(result.stdout).toContain("The answer from the server.\n");
    expect(result.exitCode).toBeUndefined();
    expect(server.rt.store.messages(session!.id).map((m) => m.info.role)).toEqual(["user", "assistant", "assistant"]);
  });

  it("--format json prints opencode's run lines and --format events the server's events, each with the sessionID", async () => {
    const model = await startModel([...bashTurn, ...bashTurn]);
    const server = await startServer(mockConfig(model.baseURL));
    const json = await attach(server.url, { message: "hi", format: "json" });
    const lines = json.stdout.trim().split("\n").map((line) => JSON.parse(line));
    const [session] = server.rt.store.listSessions();
    for (const line of lines) expect(line.sessionID).toBe(session!.id);
    expect(lines.map((l) => l.type)).toEqual(["step_start", "tool_use", "step_finish", "step_start", "text", "step_finish"]);

    const result = await attach(server.url, { message: "hi", format: "events", continue: true });
    const events = result.stdout.trim().split("\n").map((line) => JSON.parse(line));
    for (const event of events) expect(event.sessionID).toBe(session!.id);
    expect(events[0].type).toBe("run.started");
    expect(events.map((e) => e.type)).toEqual(
      expect.arrayContaining(["session.status", "message.updated", "message.part.updated", "run.finished", "session.idle"]),
    );
  });

  it("--session with --title and --continue pick sessions on the server", async () => {
    const model = await startModel([{ text: "one" }, { text: "two" }]);
    const server = await startServer(mockConfig(model.baseURL));
    const { body: session } = await server.api("POST", "/session");
    await attach(server.url, { message: "first", sessionID: session.id, title: "Renamed" });
    await attach(server.url, { message: "second", continue: true });
    expect(server.rt.store.listSessions()).toHaveLength(1);
    expect(server.rt.store.getSession(session.id).title).toBe("Renamed");
    expect(server.rt.store.promptCount(session.id)).toBe(2);
    await expect(attach(server.url, { message: "x", sessionID: "ses_missing" })).rejects.toMatchObject({ status: 404 });
  });

  it("uses ODE_SERVER_PASSWORD or the URL's credentials, and says what is missing on 401", async () => {
    const model = await startModel([{ text: "ok" }, { text: "ok" }]);
    const server = await startServer(mockConfig(model.baseURL), { password: "pw" });
    await expect(attach(server.url, { message: "hi" })).rejects.toMatchObject({
      status: 401,
      message: expect.stringContaining("ODE_SERVER_PASSWORD"),
    });
    await attach(server.url.replace("http://", "http://ode:pw@"), { message: "hi" });
    process.env.ODE_SERVER_PASSWORD = "pw";
    await attach(server.url, { message: "hi" });
    expect(server.rt.store.listSessions()).toHaveLength(2);
  });

  it("answers a busy session with its 409 and an aborted run with exit code 130", async () => {
    const model = await startModel([{ toolCalls: [{ name: "bash", arguments: { command: "sleep 30" } }] }, { text: "late" }]);
    const server = await startServer(mockConfig(model.baseURL));
    const { body: session } = await server.api("POST", "/session");
    const attached = attach(server.url, { message: "sleep", sessionID: session.id });
    await waitFor(() => server.rt.runs.get(session.id)?.activeCall);
    await expect(runAttached(server.url, { message: "again", sessionID: session.id, format: "text" })).rejects.toMatchObject({
      status: 409,
      message: expect.stringMatching(/is busy/),
    });
    await server.api("POST", `/session/${session.id}/abort`, { reason: "stop it" });
    const result = await attached;
    expect(result.exitCode).toBe(130);
    expect(result.stderr).toContain(`ode: aborted by api via POST /session/:id/abort during bash: "stop it" (session ${session.id})`);
  });

  it("fails clearly when the server cannot be reached or the URL is not one", async () => {
    await expect(runAttached("http://127.0.0.1:1", { message: "hi", format: "text" })).rejects.toThrow(
      /cannot reach the ode server at http:\/\/127\.0\.0\.1:1: ECONNREFUSED/,
    );
    await expect(runAttached("not a url", { message: "hi", format: "text" })).rejects.toThrow(/--attach needs a server URL/);
  });
});
