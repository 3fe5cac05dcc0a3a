import { describe, expect, it } from "vitest";
import { RuntimeEvents } from "../../src/events.js";
import { EventStreams } from "../../src/server/events.js";

describe("the event streams", () => {
  it("say when every client's queued events have been taken by its connection, so an answer never overtakes them", async () => {
    const events = new RuntimeEvents();
    const streams = new EventStreams(events, (event) => [{ type: event.type, sessionID: event.sessionID, properties: {} }]);
    const reader = streams.open(undefined, () => {}).getReader();
    events.emit("run.finished", "ses_1", { runID: "run_1", outcome: "completed" } as never);
    let flushed = false;
    const waiting = streams.flushed(60_000).then(() => (flushed = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(flushed).toBe(false);
    const frames: string[] = [];
    while (!frames.join("").includes("run.finished")) frames.push(new TextDecoder().decode((await reader.read()).value));
    await waiting;
    expect(flushed).toBe(true);
    await reader.cancel();
    // With no client at all there is nothing to wait for.
    await streams.flushed(60_000);
  });
});
