import type { Server } from "node:http";
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
