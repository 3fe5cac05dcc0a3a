import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, expect } from "vitest";
import { startOpenAIServer, type OpenAITestServer, type RecordedRequest, type ScriptedReply } from "../support/openai-server.js";
import { isTitleRequest, mockConfig, runOde, startOde, waitFor, type Project } from "../support/ode.js";
import { Store } from "../../src/session/store.js";

export const FIXTURES = path.resolve(import.meta.dirname, "..", "fixtures");

export function fixture(name: string): string {
  return path.join(FIXTURES, name);
}

const servers: OpenAITestServer[] = [];
afterEach(async () => {
  while (servers.length) await servers.pop()!.close();
});

/** A loopback model that answers turn requests by the text of the last user message, so retries cannot shift it. */
export async function startRoutedModel(
  route: (lastUserText: string, req: RecordedRequest) => ScriptedReply,
  title: ScriptedReply,
): Promise<OpenAITestServer> {
  const server = await startOpenAIServer((req) => {
    if (isTitleRequest(req)) return title;
    const users = req.body.messages.filter((m: { role: string }) => m.role === "user");
    const content = users.at(-1)?.content;
    return route(typeof content === "string" ? content : JSON.stringify(content), req);
  });
  servers.push(server);
  return server;
}

export function writeConfig(dir: string, baseURL: string): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "ode.json"), JSON.stringify(mockConfig(baseURL)));
}

export function withStore<T>(dataDir: string, fn: (store: Store) => T): T {
  const store = Store.open(dataDir);
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

/** Row counts of every table: "nothing written" means these do not change. */
export function tableCounts(dataDir: string): Record<string, number> {
  return withStore(dataDir, (store) => {
    const counts: Record<string, number> = {};
    for (const table of ["sessions", "messages", "parts", "runs", "title_generations"]) {
      counts[table] = (store.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    }
    return counts;
  });
}

export async function exportJson(project: Project, args: string[], cwd?: string): Promise<any> {
  const result = await runOde(project, ["export", ...args], { cwd });
  expect(result.stderr).toBe("");
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout);
}

/**
 * The session whose run is waiting for the model. Read-only and tolerant of a database the run has not created
 * yet: opening it with the Store would race the run's own migration.
 */
function modelRunSession(dataDir: string): string | undefined {
  let db: Database.Database | undefined;
  try {
    db = new Database(path.join(dataDir, "ode.db"), { readonly: true, fileMustExist: true });
    const row = db.prepare(`SELECT session_id FROM runs WHERE ended_at IS NULL AND assistant_message_ids != '[]'`).get();
    return (row as { session_id: string } | undefined)?.session_id;
  } catch {
    return undefined;
  } finally {
    db?.close();
  }
}

/** Starts `ode run` whose model stalls, waits until the run is talking to the model, then aborts it from outside. */
export async function runAndAbort(
  project: Project,
  runArgs: string[],
  abortArgs: string[],
  cwd?: string,
): Promise<{ runCode: number | null; abortOutput: string }> {
  const child = startOde(project, ["run", ...runArgs], { cwd });
  const done = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  child.stdin!.end();
  const sessionID = await waitFor(() => modelRunSession(project.dataDir));
  const abort = await runOde(project, ["session", "abort", sessionID, ...abortArgs], { cwd });
  expect(abort.code).toBe(0);
  return { runCode: await done, abortOutput: abort.stdout };
}

/** Every string leaf of a JSON value, with the key it sits under. */
export function stringLeaves(value: unknown, key = "", out: Array<[string, string]> = []): Array<[string, string]> {
  if (typeof value === "string") out.push([key, value]);
  else if (Array.isArray(value)) for (const item of value) stringLeaves(item, key, out);
  else if (value && typeof value === "object") for (const [k, v] of Object.entries(value)) stringLeaves(v, k, out);
  return out;
}
