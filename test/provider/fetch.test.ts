import { createServer } from "node:http";
import { describe, expect, it } from "vitest";
import { lendHistory, providerFetch } from "../../src/provider/fetch.js";
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

describe("a lent history", () => {
  it("takes the place of its stand-in message, whatever shape the provider gives it, and its header never leaves", async () => {
    const received: Array<{ headers: Record<string, string | string[] | undefined>; body: string }> = [];
    const server = createServer((req, res) => {
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        received.push({ headers: req.headers, body });
        res.end("ok");
      });
    });
    const { baseURL, close } = await listenOnLoopback(server);
    try {
      const wire = Buffer.from('{"role":"user","content":"a {[ b"},{"role":"assistant","content":"ünïcode 😀"}');
      const shapes = [
        (text: string) => ({ role: "user", content: text }),
        (text: string) => ({ role: "user", content: [{ type: "text", text }], extra: { nested: [1, { x: 2 }] } }),
      ];
      for (const shape of shapes) {
        const history = lendHistory(wire);
        const body = JSON.stringify({ model: "m", messages: [{ role: "system", content: "sys" }, shape(history.text), { role: "user", content: "next" }], tools: [] });
        const res = await providerFetch(`${baseURL}/x`, { method: "POST", headers: { "content-type": "application/json", ...history.headers }, body });
        history.release();
        expect(await res.text()).toBe("ok");
        const { headers, body: sent } = received.at(-1)!;
        expect(JSON.parse(sent).messages).toEqual([
          { role: "system", content: "sys" },
          { role: "user", content: "a {[ b" },
          { role: "assistant", content: "ünïcode 😀" },
          { role: "user", content: "next" },
        ]);
        expect(headers["content-length"]).toBe(String(Buffer.byteLength(sent)));
        expect(Object.keys(headers).filter((name) => name.startsWith("x-ode"))).toEqual([]);
      }
      // Released (the call was made) or never in the body: the request fails rather than send the stand-in.
      const released = lendHistory(wire);
      released.release();
      const body = JSON.stringify({ messages: [{ role: "user", content: released.text }] });
      await expect(providerFetch(`${baseURL}/x`, { method: "POST", headers: released.headers, body })).rejects.toThrow("lost the stored history");
      const unused = lendHistory(wire);
      await expect(providerFetch(`${baseURL}/x`, { method: "POST", headers: unused.headers, body: "{}" })).rejects.toThrow("lost the stored history");
      unused.release();
      // A stand-in that does not begin with its role is not taken for the message before it.
      const unordered = lendHistory(wire);
      const reordered = JSON.stringify({ messages: [{ role: "system", content: "sys" }, { content: unordered.text, role: "user" }] });
      await expect(providerFetch(`${baseURL}/x`, { method: "POST", headers: unordered.headers, body: reordered })).rejects.toThrow(
        "not a message of the request body",
      );
      unordered.release();
      expect(received).toHaveLength(2);
    } finally {
      await close();
    }
  });
});
