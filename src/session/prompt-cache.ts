import { sqliteCode } from "../storage/db.js";
import type { MessageInfo, MessageWithParts, Part } from "./schema.js";
import { toMessageInfo, type MessageRow, type Store } from "./store.js";

/** Messages converted and cached per write transaction: the first run on a long session holds the lock in short turns. */
const FILL_BATCH = 1000;

/** A message's entry: its prompt messages as JSON, the same in a provider's request format, and their size. */
export interface CacheEntry {
  prompt: string;
  /** The request's JSON of the prompt messages, joined by commas (`chatCompletionsJSON`). */
  wire: Buffer;
  /** What the token estimate counts of the prompt messages. */
  chars: number;
}

/** A message as `PromptCache.prompts` and `wires` give it: the info, and the entry's fields asked for, if it has one. */
export interface CachedMessage<K extends keyof CacheEntry> {
  info: MessageInfo;
  cached: Pick<CacheEntry, K> | undefined;
}

/**
 * Each message of a session as the model's prompt has it, and as a chat-completions request sends it, kept beside
 * the message, so a run on a long session reads one row per message instead of every part of it, and a run on such
 * a provider reads bytes it sends as they are. An entry counts only while its message has as many parts as when
 * it was made (a part was added otherwise) and until a trigger on `parts` drops it (one was changed or deleted);
 * `format` names the conversion that wrote it, so one that converts differently ignores it.
 */
export class PromptCache {
  private readonly stmt;

  constructor(private readonly store: Store) {
    const db = store.db;
    this.stmt = {
      prompts: db.prepare<{ session: string; format: number }, MessageRow & { prompt: string | null }>(messagesWith("c.prompt")),
      wires: db.prepare<{ session: string; format: number }, MessageRow & { wire: Buffer | null; chars: number | null }>(messagesWith("c.wire, c.chars")),
      // Every part of the messages, to count them; the data only of those of `types`.
      parts: db.prepare<{ session: string; ids: string; types: string }, { message_id: string; data: string | null }>(
        `SELECT message_id, CASE WHEN type IN (SELECT value FROM json_each(@types)) THEN data END AS data FROM parts
         WHERE session_id = @session AND message_id IN (SELECT value FROM json_each(@ids))
         ORDER BY message_id, id`,
      ),
      put: db.prepare<{ id: string; format: number; parts: number } & CacheEntry>(
        `INSERT INTO prompt_cache (message_id, format, parts, prompt, wire, chars) VALUES (@id, @format, @parts, @prompt, @wire, @chars)
         ON CONFLICT(message_id) DO UPDATE SET format = excluded.format, parts = excluded.parts, prompt = excluded.prompt,
           wire = excluded.wire, chars = excluded.chars`,
      ),
    };
  }

  /** Every message of the session, in order, with its entry's prompt in `format` if it has one. */
  *prompts(sessionID: string, format: number): Generator<CachedMessage<"prompt">> {
    for (const row of this.stmt.prompts.iterate({ session: sessionID, format })) {
      yield { info: toMessageInfo(row), cached: row.prompt === null ? undefined : { prompt: row.prompt } };
    }
  }

  /** Every message of the session, in order, with its entry's request JSON in `format` if it has one. */
  *wires(sessionID: string, format: number): Generator<CachedMessage<"wire" | "chars">> {
    for (const row of this.stmt.wires.iterate({ session: sessionID, format })) {
      yield { info: toMessageInfo(row), cached: row.wire === null ? undefined : { wire: row.wire, chars: row.chars! } };
    }
  }

  /**
   * Converts `messages` (of one session, without entries) from their parts of `types`, and caches the results. The
   * parts are read and the entries written in one write transaction, so no writer changes a part in between; when
   * the lock or the space cannot be had, the messages are converted all the same and nothing is cached.
   */
  fill<T>(
    sessionID: string,
    messages: readonly MessageInfo[],
    types: readonly string[],
    format: number,
    convert: (message: MessageWithParts) => { value: T; entry: CacheEntry },
  ): T[] {
    const out: T[] = [];
    for (let i = 0; i < messages.length; i += FILL_BATCH) {
      const batch = messages.slice(i, i + FILL_BATCH);
      const convertBatch = (cache: boolean) =>
        this.store.db.transaction(() => {
          const { parts, counts } = this.partsOf(sessionID, batch, types);
          return batch.map((info) => {
            const { value, entry } = convert({ info, parts: parts.get(info.id) ?? [] });
            if (cache) this.stmt.put.run({ id: info.id, format, parts: counts.get(info.id) ?? 0, ...entry });
            return value;
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

/** The session's messages with the entries' `columns`, when made in `@format` from as many parts as there are now. */
function messagesWith(columns: string): string {
  return `SELECT m.id, m.info, m.diagnostics, ${columns} FROM messages m
    LEFT JOIN prompt_cache c ON c.message_id = m.id AND c.format = @format
      AND c.parts = (SELECT count(*) FROM parts p WHERE p.session_id = m.session_id AND p.message_id = m.id)
    WHERE m.session_id = @session ORDER BY m.id`;
}

const caches = new WeakMap<Store, PromptCache>();

/** The store's cache, its statements prepared on first use. */
export function promptCacheOf(store: Store): PromptCache {
  let cache = caches.get(store);
  if (!cache) caches.set(store, (cache = new PromptCache(store)));
  return cache;
}
