import { createHash, timingSafeEqual } from "node:crypto";
import { isIP } from "node:net";
import type { MiddlewareHandler } from "hono";

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/**
 * Whether an Authorization header carries `password` with HTTP Basic auth. The user name is not checked: the
 * password is the only secret, and clients written for opencode (which sends "opencode") work unchanged. Digests
 * are compared so the length leaks nothing.
 */
export function basicAuthorizer(password: string): (header: string | undefined) => boolean {
  const expected = digest(password);
  return (header = "") => {
    const match = /^Basic\s+(\S+)$/i.exec(header);
    const decoded = match ? Buffer.from(match[1]!, "base64").toString("utf8") : "";
    const colon = decoded.indexOf(":");
    return colon >= 0 && timingSafeEqual(digest(decoded.slice(colon + 1)), expected);
  };
}

/** Refuses (401) every request without the password (`basicAuthorizer`). */
export function basicAuth(password: string): MiddlewareHandler {
  const authorized = basicAuthorizer(password);
  return async (c, next) => {
    if (!authorized(c.req.header("authorization"))) {
      c.header("WWW-Authenticate", 'Basic realm="ode", charset="UTF-8"');
      return c.json({ name: "UnauthorizedError", data: { message: "this server requires HTTP Basic auth with ODE_SERVER_PASSWORD" } }, 401);
    }
    await next();
  };
}

export function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (host === "localhost") return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  return host === "::1" || /^::ffff:127\./.test(host);
}
