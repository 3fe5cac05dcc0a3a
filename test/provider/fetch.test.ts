import { createServer } from "node:http";
import { describe, expect, it } from "vitest";
import { providerFetch } from "../../src/provider/fetch.js";
import { listenOnLoopback } from "../support/loopback.js";

describe("the providers' fetch", () => {
  it("sends a large body in slices, byte for byte, with its length and no chunked encoding", async () => {
    const received: Array<{ headers: Record<string, string | string[] | undefined>; body: Buffer }> = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (d: Buffer) => chunks.push(d));
      req.on("end", () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks) });
        res.end("ok");
      });
    });
    const { baseURL, close } = await listenOnLoopback(server);
    try {
      // Emoji (surrogate pairs) and two-byte characters land on every slice boundary at some offset.
      const unit = "ab😀é€";
      const large = JSON.stringify({ text: unit.repeat(Math.ceil((5 * 2 ** 20) / unit.length) + 7) });
      const small = JSON.stringify({ text: "hi" });
      for (const body of [large, small]) {
        const res = await providerFetch(`${baseURL}/x`, { method: "POST", headers: { "content-type": "application/json" }, body });
        expect(await res.text()).toBe("ok");
      }
      const [big, little] = received;
      expect(big!.headers["transfer-encoding"]).toBeUndefined();
      expect(big!.headers["content-length"]).toBe(String(Buffer.byteLength(large)));
      expect(big!.body.equals(Buffer.from(large))).toBe(true);
      expect(little!.body.toString()).toBe(small);
    } finally {
      await close();
    }
  });
});
