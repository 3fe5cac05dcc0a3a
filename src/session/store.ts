import { RuntimeEvents } from "../events.js";
import { openDatabase, sqliteCode, type DB } from "../storage/db.js";
import { preparedOnUse } from "../storage/statements.js";
import { Log } from "../log.js";
import { VERSION } from "../version.js";
import { InvalidInputError, SessionNotFoundError } from "./errors.js";
import { newId } from "../ids.js";
import type { MessageInfo, MessageWithParts, Part, SessionInfo, Tokens } from "./schema.js";
import { defaultTitle, normalizeTitle } from "./title.js";

export type TitleSource = "default" | "user" | "generated";

interface SessionRow {
  id: string;
  directory: string;
  parent_id: string | null;
  title: string;
  title_source: TitleSource;
  version: string;
  created: number;
  updated: number;
  extra: string;
}

export interface MessageRow {
  id: string;
  info: string;
  diagnostics: string;
}

/** SQLite's order of TEXT (its bytes in UTF-8), which is not JavaScript's `<` (UTF-16 units) beyond ASCII. */
function sqliteTextOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function toSessionInfo(row: SessionRow): SessionInfo {
  const extra = JSON.parse(row.extra) as { time?: object };
  return {
    ...extra,
    id: row.id,
    directory: row.directory,
    ...(row.parent_id ? { parentID: row.parent_id } : {}),
    title: row.title,
    version: row.version,
    time: { ...extra.time, created: row.created, updated: row.updated },
  };
}

export function toMessageInfo(row: MessageRow): MessageInfo {
  const info = JSON.parse(row.info) as MessageInfo;
  if (row.diagnostics !== "{}") (info as Record<string, unknown>).diagnostics = JSON.parse(row.diagnostics);
  return info;
}

/** A write into a session deleted meanwhile (by another process, mid-run) reports the session, not SQL. */
function guardDeleted<T>(sessionID: string, write: () => T): T {
  try {
    return write();
  } catch (error) {
    if (sqliteCode(error) === "SQLITE_CONSTRAINT_FOREIGNKEY") throw new SessionNotFoundError(sessionID);
    throw error;
  }
}

/** Sessions, messages and parts in SQLite. One instance per process and data directory. */
export class Store {
  readonly db: DB;
  /** Kept with the store: the log lives in the same data directory, and every part of a runtime reaches the store. */
  readonly log: Log;
  private readonly stmt;

  /** `events` is the owning runtime's stream: every change the store makes is announced there. */
  constructor(
    readonly dir: string,
    readonly events: RuntimeEvents = new RuntimeEvents(),
    options: { readonly?: boolean } = {},
  ) {
    this.db = openDatabase(dir, options);
    this.log = new Log(dir);
    const db = this.db;
    this.stmt = preparedOnUse({
      insertSession: () => db.prepare(
        `INSERT INTO sessions (id, directory, parent_id, title, title_source, version, created, updated, extra)
         VALUES (@id, @directory, @parent_id, @title, @title_source, @version, @created, @updated, @extra)`,
      ),
      getSession: () => db.prepare<[string], SessionRow>(`SELECT * FROM sessions WHERE id = ?`),
      sessionTitle: () => db.prepare<[string], { title: string }>(`SELECT title FROM sessions WHERE id = ?`),
      loopOf: () => db.prepare<[string], { loop_id: string; n: number }>(`SELECT loop_id, n FROM loop_iterations WHERE session_id = ?`),
      listSessions: () => db.prepare<[], SessionRow>(`SELECT * FROM sessions ORDER BY updated DESC, id DESC`),
      listSessionsIn: () => db.prepare<[string], SessionRow>(
        `SELECT * FROM sessions WHERE directory = ? ORDER BY updated DESC, id DESC`,
      ),
      setTitle: () => db.prepare(`UPDATE sessions SET title = ?, title_source = ?, updated = ? WHERE id = ?`),
      setGeneratedTitle: () => db.prepare(
        `UPDATE sessions SET title = ?, title_source = 'generated', updated = ? WHERE id = ? AND title_source = 'default'`,
      ),
      touchSession: () => db.prepare(`UPDATE sessions SET updated = ? WHERE id = ?`),
      deleteSession: () => db.prepare(`DELETE FROM sessions WHERE id = ?`),
      insertMessage: () => db.prepare(`INSERT INTO messages (id, session_id, role, info) VALUES (?, ?, ?, ?)`),
      updateMessageInfo: () => db.prepare(`UPDATE messages SET info = ? WHERE id = ?`),
      getMessage: () => db.prepare<[string], MessageRow & { session_id: string }>(
        `SELECT id, session_id, info, diagnostics FROM messages WHERE id = ?`,
      ),
      messageDiagnostics: () => db.prepare<[string], { diagnostics: string }>(`SELECT diagnostics FROM messages WHERE id = ?`),
      setDiagnostics: () => db.prepare(`UPDATE messages SET diagnostics = ? WHERE id = ?`),
      messagesOf: () => db.prepare<[string], MessageRow>(
        `SELECT id, info, diagnostics FROM messages WHERE session_id = ? ORDER BY id`,
      ),
      partsOf: () => db.prepare<[string], { message_id: string; data: string }>(
        `SELECT message_id, data FROM parts WHERE session_id = ? ORDER BY message_id, id`,
      ),
      partsOfType: () => db.prepare<[string, string], { data: string }>(
        `SELECT data FROM parts WHERE session_id = ? AND type = ? ORDER BY message_id, id`,
      ),
      partCounts: () => db.prepare<[string], { parts: number; tools: number }>(
        `SELECT count(*) AS parts, coalesce(sum(type = 'tool'), 0) AS tools FROM parts WHERE session_id = ?`,
      ),
      partsOfMessage: () => db.prepare<[string], { data: string }>(`SELECT data FROM parts WHERE message_id = ? ORDER BY id`),
      totals: () => db.prepare<[string], Record<"cost" | "input" | "output" | "reasoning" | "read" | "write", number>>(
        `SELECT coalesce(sum(json_extract(info, '$.cost')), 0) AS cost,
           coalesce(sum(json_extract(info, '$.tokens.input')), 0) AS input,
           coalesce(sum(json_extract(info, '$.tokens.output')), 0) AS output,
           coalesce(sum(json_extract(info, '$.tokens.reasoning')), 0) AS reasoning,
           coalesce(sum(json_extract(info, '$.tokens.cache.read')), 0) AS read,
           coalesce(sum(json_extract(info, '$.tokens.cache.write')), 0) AS write
         FROM messages WHERE session_id = ? AND role = 'assistant'`,
      ),
      promptCount: () => db.prepare<[string, number], { n: number }>(
        `SELECT count(*) AS n FROM (SELECT 1 FROM messages
         WHERE session_id = ? AND role = 'user' AND coalesce(json_extract(info, '$.agent'), '') NOT IN ('shell', 'compaction') LIMIT ?)`,
      ),
      insertTitleTrace: () => db.prepare(`INSERT INTO title_generations (session_id, data) VALUES (?, ?)`),
      updateTitleTrace: () => db.prepare(`UPDATE title_generations SET data = ? WHERE id = ?`),
      titleTraces: () => db.prepare<[string], { data: string }>(
        `SELECT data FROM title_generations WHERE session_id = ? ORDER BY id`,
      ),
      importMessage: () => db.prepare(`INSERT INTO messages (id, session_id, role, info, diagnostics) VALUES (?, ?, ?, ?, ?)`),
      partSession: () => db.prepare<[string], { session_id: string }>(`SELECT session_id FROM parts WHERE id = ?`),
      importPart: () => db.prepare(`INSERT INTO parts (id, message_id, session_id, data) VALUES (?, ?, ?, ?)`),
      upsertPart: () => db.prepare(
        `INSERT INTO parts (id, message_id, session_id, data) VALUES (?, ?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET data = excluded.data`,
      ),
    });
  }

  static open(dir: string, events?: RuntimeEvents, options: { readonly?: boolean } = {}): Store {
    return new Store(dir, events, options);
  }

  close(): void {
    this.db.close();
  }

  createSession(input: { directory: string; title?: string; parentID?: string }): SessionInfo {
    const now = Date.now();
    const title = input.title === undefined ? undefined : normalizeTitle(input.title);
    const row: SessionRow = {
      id: newId("ses"),
      directory: input.directory,
      parent_id: input.parentID ?? null,
      title: title || defaultTitle(new Date(now)),
      title_source: title ? "user" : "default",
      version: VERSION,
      created: now,
      updated: now,
      extra: "{}",
    };
    this.stmt.insertSession.run(row);
    const info = toSessionInfo(row);
    this.events.emit("session.created", info.id, { info });
    return info;
  }

  /** Writes a session exactly as given (import). */
  insertSessionInfo(info: SessionInfo, titleSource: TitleSource): void {
    const { id, directory, parentID, title, version, time, ...rest } = info;
    // Keys of `time` other than the two columns (opencode's `archived`, ...) ride along in `extra`.
    const { created, updated, ...moreTime } = time;
    const extra = Object.keys(moreTime).length > 0 ? { ...rest, time: moreTime } : rest;
    this.stmt.insertSession.run({
      id,
      directory,
      parent_id: parentID ?? null,
      title,
      title_source: titleSource,
      version,
      created,
      updated,
      extra: JSON.stringify(extra),
    });
  }

  /** Writes a message with its diagnostics exactly as given (import): no `updated` stamp, no event. */
  insertMessageAsIs(info: MessageInfo): void {
    const { diagnostics, ...rest } = info as MessageInfo & { diagnostics?: unknown };
    this.stmt.importMessage.run(rest.id, rest.sessionID, rest.role, JSON.stringify(rest), JSON.stringify(diagnostics ?? {}));
  }

  /** Writes a part exactly as given (import); a live part goes through `upsertPart`. */
  insertPartAsIs(part: Part): void {
    this.stmt.importPart.run(part.id, part.messageID, part.sessionID, JSON.stringify(part));
  }

  /** The session a stored message or part belongs to (an import refused an id: taken by whom?). */
  rowSession(kind: "message" | "part", id: string): string | undefined {
    if (kind === "message") return this.stmt.getMessage.get(id)?.session_id;
    return this.stmt.partSession.get(id)?.session_id;
  }

  findSession(id: string): SessionInfo | undefined {
    const row = this.stmt.getSession.get(id);
    return row ? toSessionInfo(row) : undefined;
  }

  getSession(id: string): SessionInfo {
    const info = this.findSession(id);
    if (!info) throw new SessionNotFoundError(id);
    return info;
  }

  titleSource(id: string): TitleSource {
    const row = this.stmt.getSession.get(id);
    if (!row) throw new SessionNotFoundError(id);
    return row.title_source;
  }

  /** The one-column read a spawn needs: current title, or undefined when the session is gone. */
  sessionTitle(id: string): string | undefined {
    return this.stmt.sessionTitle.get(id)?.title;
  }

  /** The loop and iteration a session runs for, read at each spawn (`ODE_LOOP_ID`, `ODE_LOOP_ITERATION`). */
  loopOf(sessionID: string): { loopID: string; iteration: number } | undefined {
    const row = this.stmt.loopOf.get(sessionID);
    return row ? { loopID: row.loop_id, iteration: row.n } : undefined;
  }

  listSessions(directory?: string): SessionInfo[] {
    const rows = directory ? this.stmt.listSessionsIn.all(directory) : this.stmt.listSessions.all();
    return rows.map(toSessionInfo);
  }

  renameSession(id: string, title: string): SessionInfo {
    const clean = normalizeTitle(title);
    if (!clean) throw new InvalidInputError("title is empty after removing newlines and control characters");
    const result = this.stmt.setTitle.run(clean, "user", Date.now(), id);
    if (result.changes === 0) throw new SessionNotFoundError(id);
    const info = this.getSession(id);
    this.events.emit("session.updated", id, { info });
    return info;
  }

  /** Stores a generated title unless the user set one meanwhile; true when it was really stored. */
  applyGeneratedTitle(id: string, title: string): boolean {
    const applied = this.stmt.setGeneratedTitle.run(normalizeTitle(title), Date.now(), id).changes > 0;
    if (applied) this.events.emit("session.updated", id, { info: this.getSession(id) });
    return applied;
  }

  touchSession(id: string): void {
    this.stmt.touchSession.run(Date.now(), id);
  }

  deleteSession(id: string): void {
    if (this.stmt.deleteSession.run(id).changes === 0) throw new SessionNotFoundError(id);
    this.events.emit("session.deleted", id, {});
  }

  addMessage(info: MessageInfo): void {
    const { diagnostics: _ignored, ...rest } = info as MessageInfo & { diagnostics?: unknown };
    guardDeleted(info.sessionID, () => this.stmt.insertMessage.run(info.id, info.sessionID, info.role, JSON.stringify(rest)));
    this.touchSession(info.sessionID);
    this.events.emit("message.updated", info.sessionID, { info });
  }

  /** Rewrites the loop-owned fields; `diagnostics` lives in its own column so other writers are never clobbered. */
  updateMessage(info: MessageInfo): void {
    const { diagnostics: _ignored, ...rest } = info as MessageInfo & { diagnostics?: unknown };
    this.stmt.updateMessageInfo.run(JSON.stringify(rest), info.id);
    this.events.emit("message.updated", info.sessionID, { info });
  }

  /** Merges keys into a message's diagnostics in one transaction, keeping what other writers stored. */
  mergeDiagnostics(messageID: string, patch: Record<string, unknown>): void {
    this.db
      .transaction(() => {
        const row = this.stmt.messageDiagnostics.get(messageID);
        if (!row) return;
        const merged = { ...JSON.parse(row.diagnostics), ...patch };
        this.stmt.setDiagnostics.run(JSON.stringify(merged), messageID);
      })
      .immediate();
  }

  getMessage(messageID: string): MessageInfo | undefined {
    const row = this.stmt.getMessage.get(messageID);
    return row ? toMessageInfo(row) : undefined;
  }

  /** One message with its parts, in order; undefined when it is not in that session. */
  message(sessionID: string, messageID: string): MessageWithParts | undefined {
    const row = this.stmt.getMessage.get(messageID);
    if (!row || row.session_id !== sessionID) return undefined;
    return { info: toMessageInfo(row), parts: this.stmt.partsOfMessage.all(messageID).map((p) => JSON.parse(p.data) as Part) };
  }

  /** Cost and tokens of a session's assistant messages, summed by SQLite (opencode's session object carries them). */
  sessionTotals(sessionID: string): { cost: number; tokens: Tokens } {
    const t = this.stmt.totals.get(sessionID)!;
    return { cost: t.cost, tokens: { input: t.input, output: t.output, reasoning: t.reasoning, cache: { read: t.read, write: t.write } } };
  }

  upsertPart(part: Part): void {
    guardDeleted(part.sessionID, () =>
      this.stmt.upsertPart.run(part.id, part.messageID, part.sessionID, JSON.stringify(part)),
    );
    this.events.emit("message.part.updated", part.sessionID, { part });
  }

  /** The whole conversation in two queries, whatever its length. */
  messages(sessionID: string): MessageWithParts[] {
    return [...this.iterateMessages(sessionID)];
  }

  /**
   * The conversation one message at a time, as `messages` lists it: the two queries are read side by side, so
   * only the message being handed out is in memory. The connection stays busy until the iteration ends, so a
   * caller that pauses between messages reads through a connection of its own (`Store.open(dir, ..., {readonly})`).
   */
  *iterateMessages(sessionID: string): Generator<MessageWithParts> {
    // Opened on the first message asked for: a generator never started never reaches its `finally`.
    const parts = this.stmt.partsOf.iterate(sessionID);
    try {
      let next = parts.next();
      for (const row of this.stmt.messagesOf.iterate(sessionID)) {
        const entry = { info: toMessageInfo(row), parts: [] as Part[] };
        // Both are in id order; a part of no listed message is skipped, as `messages` does.
        while (!next.done && next.value.message_id !== row.id && sqliteTextOrder(next.value.message_id, row.id) < 0) next = parts.next();
        for (; !next.done && next.value.message_id === row.id; next = parts.next()) entry.parts.push(JSON.parse(next.value.data) as Part);
        yield entry;
      }
    } finally {
      parts.return?.();
    }
  }

  /** The session's parts of one type, in message order: found in the index, only they are read. */
  partsOfType(sessionID: string, type: Part["type"]): Part[] {
    return this.stmt.partsOfType.all(sessionID, type).map((row) => JSON.parse(row.data) as Part);
  }

  /** Every message's info, without parts, in the order of `messages`. */
  *messageInfos(sessionID: string): Generator<MessageInfo> {
    for (const row of this.stmt.messagesOf.iterate(sessionID)) yield toMessageInfo(row);
  }

  /** How many parts the session has, and how many of them are tool calls: read from an index alone. */
  partCounts(sessionID: string): { parts: number; tools: number } {
    return this.stmt.partCounts.get(sessionID)!;
  }

  /**
   * User messages that were prompts to the model (prompt-shell commands and compactions store user messages too),
   * counted up to `upTo`: asking whether there was more than one stops after two, however long the session.
   */
  promptCount(sessionID: string, upTo = -1): number {
    return this.stmt.promptCount.get(sessionID, upTo)!.n;
  }

  /** Title generation traces live on the session's record, written the moment a generation starts and ends. */
  insertTitleTrace(sessionID: string, trace: object): number {
    return Number(this.stmt.insertTitleTrace.run(sessionID, JSON.stringify(trace)).lastInsertRowid);
  }

  updateTitleTrace(traceID: number, trace: object): void {
    this.stmt.updateTitleTrace.run(JSON.stringify(trace), traceID);
  }

  titleTraces<T>(sessionID: string): T[] {
    return this.stmt.titleTraces.all(sessionID).map((row) => JSON.parse(row.data) as T);
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }
}
