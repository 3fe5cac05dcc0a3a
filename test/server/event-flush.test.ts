import http from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { RuntimeEvents } from "../../src/events.js";
import { Log } from "../../src/log.js";
import { EventStreams } from "../../src/server/events.js";
import { tempDir, waitFor } from "../support/ode.js";

describe("the event streams", () => {
  it("say when every client's queued events have been taken by its connection, so an answer never overtakes them", async () => {
    const events = new RuntimeEvents();
    const streams = new EventStreams(events, (event) => [{ type: event.type, sessionID: event.sessionID, properties: event.properties }], new Log(tempDir()), {
      maxQueuedBytes: 64 * 1024 * 1024,
    });
    const server = http.createServer((_req, res) => streams.open(undefined, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const client = await new Promise<http.IncomingMessage>((resolve) =>
      http.get(`http://127.0.0.1:${(server.address() as AddressInfo).port}/event`, resolve),
    );
    // A client that reads nothing: past what the kernel's socket buffers take, the events wait in the response.
    client.pause();
    await waitFor(() => streams.clients === 1);
    const payload = "x".repeat(1024 * 1024);
    for (let i = 0; i < 16; i++) events.emit("run.finished", "ses_1", { payload, runID: `run_${i}` } as never);
    let flushed = false;
    const waiting = streams.flushed(60_000).then(() => (flushed = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(flushed).toBe(false);
    let received = "";
    client.on("data", (chunk: Buffer) => (received = (received + chunk.toString("utf8")).slice(-100)));
    client.resume();
    await waiting;
    expect(flushed).toBe(true);
    await waitFor(() => received.includes("run_15"));
    client.destroy();
    await new Promise((resolve) => server.close(resolve));
    // With no client at all there is nothing to wait for.
    await streams.flushed(60_000);
  });
});
