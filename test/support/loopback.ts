import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** Listens on 127.0.0.1 (a free port) and gives the `/v1` base URL and a close that also ends stalled streams. */
export async function listenOnLoopback(server: Server): Promise<{ baseURL: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Stalled streams would otherwise keep server.close() waiting forever.
        for (const socket of sockets) socket.destroy();
      }),
  };
}

/** At most `parts` non-empty pieces, cut on code points so surrogate pairs survive. */
export function split(text: string, parts: number): string[] {
  const chars = Array.from(text);
  const size = Math.max(1, Math.ceil(chars.length / parts));
  const pieces: string[] = [];
  for (let start = 0; start < chars.length; start += size) pieces.push(chars.slice(start, start + size).join(""));
  return pieces;
}

export function sendJson(res: ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}): void {
  if (res.destroyed) return;
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(payload));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

/**
 * Takes a POST to `path` with a JSON body and returns the body; answers anything else itself (404 for another
 * route, 400 for a body that is not JSON) in the API's own error shape, and returns undefined.
 */
export async function acceptJsonPost(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  errorBody: (status: number, message: string) => unknown,
): Promise<{ body: any } | undefined> {
  if (req.method !== "POST" || (req.url ?? "").split("?")[0] !== path) {
    sendJson(res, 404, errorBody(404, `no route for ${req.method} ${req.url}`));
    return undefined;
  }
  const raw = await readBody(req);
  try {
    return { body: JSON.parse(raw) };
  } catch {
    sendJson(res, 400, errorBody(400, "request body is not JSON"));
    return undefined;
  }
}
