import { sqliteCode } from "../storage/db.js";
import type { MessageInfo, MessageWithParts, Part } from "./schema.js";
import { toMessageInfo, type MessageRow, type Store } from "./store.js";

/** Messages converted and cached per write transaction: the first run on a long session holds the lock in short turns. */
const FILL_BATCH = 1000;

export interface CachedMessage {
  info: MessageInfo;
  /** The cached conversion as JSON; undefined when the message has none in the asked format. */
  cached: string | undefined;
}

/**
 * Each message of a session as the model's prompt has it, kept beside the message, so a run on a long session reads
 * one row per message instead of every part of it. An entry counts only while its message has as many parts as when
 * it was made (a part was added otherwise) and until a trigger on `parts` drops it (one was changed or deleted);
 * `format` names the conversion that wrote it, so one that converts differently ignores it.
 */
export class PromptCache {
  private readonly stmt;

  constructor(private readonly store: Store) {
    const db = store.db;
    this.stmt = {
      messages: db.prepare<{ session: string; format: number }, MessageRow & { prompt: string | null }>(
        `SELECT m.id, m.info, m.diagnostics, c.prompt FROM messages m
         LEFT JOIN prompt_cache c ON c.message_id = m.id AND c.format = @format
           AND c.parts = (SELECT count(*) FROM parts p WHERE p.session_id = m.session_id AND p.message_id = m.id)
         WHERE m.session_id = @session ORDER BY m.id`,
      ),
      // Every part of the messages, to count them; the data only of those of `types`.
      parts: db.prepare<{ session: string; ids: string; types: string }, { message_id: string; data: string | null }>(
        `SELECT message_id, CASE WHEN type IN (SELECT value FROM json_each(@types)) THEN data END AS data FROM parts
         WHERE session_id = @session AND message_id IN (SELECT value FROM json_each(@ids))
         ORDER BY message_id, id`,
      ),
      put: db.prepare<{ id: string; format: number; parts: number; prompt: string }>(
        `INSERT INTO prompt_cache (message_id, format, parts, prompt) VALUES (@id, @format, @parts, @prompt)
         ON CONFLICT(message_id) DO UPDATE SET format = excluded.format, parts = excluded.parts, prompt = excluded.prompt`,
      ),
    };
  }

  /** Every message of the session, in order, with its entry in `format` if it has one. */
  *messages(sessionID: string, format: number): Generator<CachedMessage> {
    for (const row of this.stmt.messages.iterate({ session: sessionID, format })) {
      yield { info: toMessageInfo(row), cached: row.prompt ?? undefined };
    }
  }

  /**
   * Converts `messages` (of one session, without entries) from their parts of `types`, and caches the results. The
   * parts are read and the entries written in one write transaction, so no writer changes a part in between; when
   * the lock or the space cannot be had, the messages are converted all the same and nothing is cached.
   */
  fill<T>(sessionID: string, messages: readonly MessageInfo[], types: readonly string[], format: number, convert: (message: MessageWithParts) => T): T[] {
    const out: T[] = [];
    for (let i = 0; i < messages.length; i += FILL_BATCH) {
      const batch = messages.slice(i, i + FILL_BATCH);
      const convertBatch = (cache: boolean) =>
        this.store.db.transaction(() => {
          const { parts, counts } = this.partsOf(sessionID, batch, types);
          return batch.map((info) => {
            const result = convert({ info, parts: parts.get(info.id) ?? [] });
            if (cache) this.stmt.put.run({ id: info.id, format, parts: counts.get(info.id) ?? 0, prompt: JSON.stringify(result) });
            return result;
          });
        });
      let converted: T[];
      try {
        converted = convertBatch(true).immediate();
      } catch (error) {
        // Busy past the timeout, a full disk, a read-only file: the cache is only a shortcut.
        if (sqliteCode(error) === undefined) throw error;
        converted = convertBatch(false).deferred();
      }
      for (const result of converted) out.push(result);
    }
    return out;
  }

  /** The messages' parts of `types`, and how many parts each message has in all. */
  private partsOf(sessionID: string, messages: readonly MessageInfo[], types: readonly string[]): { parts: Map<string, Part[]>; counts: Map<string, number> } {
    const parts = new Map<string, Part[]>();
    const counts = new Map<string, number>();
    const ids = JSON.stringify(messages.map((m) => m.id));
    for (const row of this.stmt.parts.iterate({ session: sessionID, ids, types: JSON.stringify(types) })) {
      counts.set(row.message_id, (counts.get(row.message_id) ?? 0) + 1);
      if (row.data === null) continue;
      let list = parts.get(row.message_id);
      if (!list) parts.set(row.message_id, (list = []));
      list.push(JSON.parse(row.data) as Part);
    }
    return { parts, counts };
  }
}

const caches = new WeakMap<Store, PromptCache>();

/** The store's cache, its statements prepared on first use. */
export function promptCacheOf(store: Store): PromptCache {
  let cache = caches.get(store);
  if (!cache) caches.set(store, (cache = new PromptCache(store)));
  return cache;
}
