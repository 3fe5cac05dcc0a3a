import { describe, expect, it } from "vitest";
import { fitTranscript } from "../../src/agent/transcript.js";

describe("the summariser's transcript", () => {
  it("is kept whole when it fits", () => {
    expect(fitTranscript({ lines: ["User: a", "Assistant: b"] }, 1000)).toBe("User: a\n\nAssistant: b");
  });

  it("has the middle of long items cut before anything is left out", () => {
    const long = `User: ${"x".repeat(20_000)} END`;
    const text = fitTranscript({ lines: [long, "Assistant: short"] }, 9000);
    expect(text.length).toBeLessThanOrEqual(9000);
    expect(text).toMatch(/^User: x+\n\[\.\.\. \d+ characters left out \.\.\.\]\nx+ END\n\nAssistant: short$/);
  });

  it("leaves the oldest items out when cutting is not enough, but never the earlier summary", () => {
    const lines = Array.from({ length: 100 }, (_, i) => `User: item ${i} ${"y".repeat(300)}`);
    const text = fitTranscript({ previous: "Summary of the conversation before this point:\nEARLIER", lines }, 3000);
    expect(text.length).toBeLessThanOrEqual(3000);
    expect(text.startsWith("Summary of the conversation before this point:\nEARLIER\n\n[... the ")).toBe(true);
    expect(text).toMatch(/\[\.\.\. the (\d+) oldest items are left out: they do not fit the model \.\.\.\]/);
    expect(text).toContain("item 99 ");
    expect(text).not.toContain("item 0 ");
  });
});
