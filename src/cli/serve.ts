import type { Command } from "commander";
import { InvalidInputError } from "../session/errors.js";
import { action } from "./fail.js";

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description("serve sessions over HTTP with a live event stream (HTTP Basic auth when ODE_SERVER_PASSWORD is set)")
    .option("--port <port>", "port to listen on (0 picks a free one)", "4096")
    .option("--hostname <host>", "address to bind; other than loopback only with ODE_SERVER_PASSWORD", "127.0.0.1")
    .option("--max-body <bytes>", "largest request body accepted, larger ones get 413 (default 10 MiB)")
    .action(
      action(async (opts: { port: string; hostname: string; maxBody?: string }) => {
        const port = Number(opts.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidInputError(`--port must be a port number, not ${opts.port}`);
        const maxBodyBytes = opts.maxBody === undefined ? undefined : Number(opts.maxBody);
        if (maxBodyBytes !== undefined && (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 1)) throw new InvalidInputError(`--max-body must be a number of bytes, not ${opts.maxBody}`);
        const { runServe } = await import("../server/serve.js");
        await runServe({ port, hostname: opts.hostname, maxBodyBytes });
      }),
    );
}
