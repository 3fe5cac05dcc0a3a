import fs from "node:fs";
import http from "node:http";
import { describe, expect, it } from "vitest";
import { collect, makeProject, startOde } from "../support/ode.js";
import { client, serve } from "./support.js";

const MiB = 1024 * 1024;

/** The highest resident set size the process has had, from the kernel's own accounting. */
function peakRssMiB(pid: number): number {
  const kib = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))![1]!;
  return Number(kib) / 1024;
}

/** A body sent in chunks without a content-length, so the server cannot refuse it by its header alone. */
function chunked(text: string, chunk = MiB): ReadableStream<Uint8Array> {
  const bytes = Buffer.from(text);
  let at = 0;
  return new ReadableStream({
    pull(controller) {
      if (at >= bytes.length) return controller.close();
      controller.enqueue(bytes.subarray(at, (at += chunk)));
    },
  });
}

async function post(url: string, body: string | ReadableStream<Uint8Array>): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}/session`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
    ...(typeof body === "string" ? {} : { duplex: "half" }),
  } as RequestInit);
  return { status: res.status, body: await res.json() };
}

const CHUNK = Buffer.alloc(64 * 1024, "x");

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** Errors of the writes of the body: a connection closed under the upload. */
  writeErrors: string[];
  /** Whether the server said "100 Continue". */
  continued: boolean;
  sentChunks: number;
}

/**
 * POSTs `chunks` chunks of 64 KiB to /session, `delayMs` apart, and resolves with the answer once it has ended and
 * the body has been sent (or, with `untilAnswered`, once the answer has ended; no chunk is sent after it begins). With
 * `expect: 100-continue`, the body waits for the server's go-ahead.
 */
function upload(url: string, options: { headers: http.OutgoingHttpHeaders; chunks: number; delayMs: number; untilAnswered?: boolean }): Promise<Answer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname, port, path: "/session", method: "POST", headers: { "content-type": "application/json", ...options.headers } });
    const answer: Answer = { status: 0, headers: {}, body: "", writeErrors: [], continued: false, sentChunks: 0 };
    let [answered, sent] = [false, false];
    const finish = () => {
      if (!answered || !(sent || options.untilAnswered)) return;
      req.destroy();
      resolve(answer);
    };
    req.on("response", (res) => {
      Object.assign(answer, { status: res.statusCode, headers: res.headers });
      res.on("data", (d) => (answer.body += d));
      res.on("end", () => {
        answered = true;
        finish();
      });
    });
    // A connection the server closes once it has answered may reset under a write still on its way: with the answer
    // begun, the test judges the answer, not the reset.
    req.on("error", (error) => (answer.status ? ((answered = sent = true), finish()) : reject(error)));
    const send = () => {
      if (answer.status && options.untilAnswered) return;
      if (answer.sentChunks === options.chunks) return void req.end(() => ((sent = true), finish()));
      req.write(CHUNK, (error) => error && answer.writeErrors.push(error.message));
      answer.sentChunks++;
      setTimeout(send, options.delayMs);
    };
    if (!options.headers.expect) return send();
    req.on("continue", () => ((answer.continued = true), send()));
    req.flushHeaders();
  });
}

describe("ode serve under hostile bodies", () => {
  it("refuses bodies over the limit with 413, keeps huge titles to 100 characters, and stays under 300 MiB", async () => {
    const project = makeProject();
    const server = await serve(project);
    const huge = JSON.stringify({ title: "x".repeat(50 * MiB) });
    // Without a content-length the server counts what arrives: just over the limit is enough to be refused.
    const overLimit = JSON.stringify({ title: "x".repeat(11 * MiB) });

    for (const body of [huge, chunked(overLimit)]) {
      const refused = await post(server.url, body);
      expect(refused.status).toBe(413);
      expect(refused.body).toEqual({ name: "PayloadTooLargeError", data: { message: expect.stringContaining("larger than 10485760 bytes") } });
    }

    // Just under the limit, two at once: each title is kept to its first 100 characters.
    const big = JSON.stringify({ title: `${"long title ".repeat(100)}${"y".repeat(9 * MiB)}` });
    const created = await Promise.all(Array.from({ length: 2 }, () => post(server.url, big)));
    for (const { status, body } of created) {
      expect(status).toBe(201);
      expect(body.title).toBe("long title ".repeat(10).slice(0, 100));
    }
    expect(peakRssMiB(server.child.pid!)).toBeLessThan(300);

    const api = client(server.url);
    const sessions = await api("GET", "/session");
    expect(sessions.body).toHaveLength(2);
    server.child.kill("SIGTERM");
    expect((await server.result).code).toBe(0);
  }, 60_000);

  it("names the problem of a hostile body in one line, and the limit is configurable", async () => {
    const project = makeProject();
    const server = await serve(project, ["--max-body", "1000"]);
    const api = client(server.url);
    const cases: Array<[string | Uint8Array, number, RegExp]> = [
      ['{"title": "a",\n "x": tru}', 400, /^body: not valid JSON: line 2, column 7: unexpected character "t"$/],
      [Buffer.from([0x7b, 0x22, 0x74, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]), 400, /^body: not valid JSON: line 1, column 7: invalid UTF-8 \(byte 6\)$/],
      ['{"title": "abc\\ud800"}', 400, /^title: not well-formed Unicode/],
      [`{"title": "t", "x": ${"[".repeat(300)}${"]".repeat(300)}}`, 400, /^x(\[0\])+: nested more than 64 levels deep/],
      [JSON.stringify({ title: "z".repeat(2000) }), 413, /larger than 1000 bytes/],
    ];
    for (const [body, status, message] of cases) {
      const res = await fetch(`${server.url}/session`, { method: "POST", headers: { "content-type": "application/json" }, body: body as BodyInit });
      const answer = await res.json();
      expect([res.status, answer.data.message]).toEqual([status, expect.stringMatching(message)]);
      expect(answer.data.message).not.toContain("\n");
    }
    expect((await api("GET", "/session")).body).toEqual([]);
    server.child.kill("SIGTERM");
    await server.result;
  }, 60_000);

  it("answers 413 to a slow upload over the limit once it has arrived, to Expect: 100-continue before it is sent, and 401 at once without the password", async () => {
    const server = await serve(makeProject(), ["--max-body", "1000"], { ODE_SERVER_PASSWORD: "pw" });
    const auth = { authorization: `Basic ${Buffer.from("opencode:pw").toString("base64")}` };
    const declared = { "content-length": String(CHUNK.length * 16) };
    const parsed = (answer: Answer) => [answer.status, JSON.parse(answer.body).name];

    // About a second of upload: @hono/node-server closed such a connection half a second after an early answer.
    const slow = await upload(server.url, { headers: { ...auth, ...declared }, chunks: 16, delayMs: 60 });
    expect([slow.writeErrors, ...parsed(slow)]).toEqual([[], 413, "PayloadTooLargeError"]);

    const asked = await upload(server.url, { headers: { ...auth, ...declared, expect: "100-continue" }, chunks: 16, delayMs: 0, untilAnswered: true });
    expect([asked.continued, ...parsed(asked), asked.headers.connection]).toEqual([false, 413, "PayloadTooLargeError", "close"]);

    // No length: refused once the limit is passed, on a connection not to be used again.
    const streamed = await upload(server.url, { headers: auth, chunks: 64, delayMs: 20, untilAnswered: true });
    expect([...parsed(streamed), streamed.headers.connection]).toEqual([413, "PayloadTooLargeError", "close"]);

    // Nothing is read for a client without the password: its answer comes while it is still sending.
    const stranger = await upload(server.url, { headers: declared, chunks: 16, delayMs: 200, untilAnswered: true });
    expect(parsed(stranger)).toEqual([401, "UnauthorizedError"]);
    expect(stranger.sentChunks).toBeLessThan(16);
    server.child.kill("SIGTERM");
    await server.result;
  }, 60_000);

  it("refuses a --max-body that is not a number of bytes", async () => {
    const child = startOde(makeProject(), ["serve", "--port", "0", "--max-body", "lots"]);
    const result = await collect(child);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe("ode: --max-body must be a number of bytes, not lots\n");
  });
});
