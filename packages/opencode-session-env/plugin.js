// Plain JavaScript, no dependencies and no build step: opencode loads it from npm or from a file as it is.
// Helpers live here; index.js exports nothing but the plugin, because opencode calls every export as one.

export const SESSION_ID_VAR = "OPENCODE_SESSION_ID";
export const SESSION_TITLE_VAR = "OPENCODE_SESSION_TITLE";
const SERVICE = "opencode-session-env";
const MAX_TITLE_LENGTH = 100;

/**
 * The title as an environment value: one line, no control characters (a NUL cannot be passed to a child at all),
 * at most 100 characters. The same rule ode applies when it stores a title.
 */
export function envTitle(raw) {
  const oneLine = raw
    .replace(/[\r\n\t\v\f\u2028\u2029]+/g, " ")
    .replace(/[\u0000-\u001f\u007f-\u009f]/g, "")
    .replace(/\s+/g, " ")
    .trim();
  return Array.from(oneLine).slice(0, MAX_TITLE_LENGTH).join("").trim();
}

async function warn(client, message, extra) {
  try {
    const result = await client.app.log({ body: { service: SERVICE, level: "warn", message, extra } });
    if (!result?.error) return;
  } catch {
    // The server that failed the lookup may fail the log too; stderr still gets the one warning.
  }
  console.warn(`[${SERVICE}] ${message}`);
}

/** The session's current title through opencode's own client, or why it could not be read. */
async function lookUp(client, sessionID) {
  try {
    const result = await client.session.get({ path: { id: sessionID } });
    const title = result?.data?.title;
    if (typeof title === "string") return { title };
    return { error: result?.error ? JSON.stringify(result.error) : `no session ${sessionID}` };
  } catch (error) {
    return { error: String(error?.message ?? error) };
  }
}

/**
 * opencode calls `shell.env` before every spawn of the bash tool and of the prompt shell. The title is looked up
 * at that moment, never cached, so a title set a moment earlier is the one the child sees. Values the opencode
 * process inherited (opencode started from another agent's shell) are always replaced, or removed when the
 * lookup fails: a child never sees a neighbour's or a stale session.
 */
export const SessionEnvPlugin = async ({ client }) => ({
  "shell.env": async (input, output) => {
    output.env ??= {};
    // Undefined removes the variable from the child's environment (opencode spreads this over its own).
    output.env[SESSION_ID_VAR] = undefined;
    output.env[SESSION_TITLE_VAR] = undefined;
    if (!input?.sessionID) {
      await warn(client, "spawn without a session: session variables removed", { cwd: input?.cwd });
      return;
    }
    const found = await lookUp(client, input.sessionID);
    if (found.error !== undefined) {
      await warn(client, "session lookup failed: session variables removed", { sessionID: input.sessionID, error: found.error });
      return;
    }
    output.env[SESSION_ID_VAR] = input.sessionID;
    output.env[SESSION_TITLE_VAR] = envTitle(found.title);
  },
});
