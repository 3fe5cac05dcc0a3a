import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import BundledDatabase from "better-sqlite3";
import { ensureDir } from "../config/paths.js";

/**
 * The built ode carries better-sqlite3's JavaScript in its own files (scripts/build.mjs) and hands it the compiled
 * addon by path, found through the installed package: loading the package itself costs a dozen CommonJS files, and
 * its `bindings` helper probes candidate paths for the addon, at every start of every command. Where the addon is
 * not at the path a normal install builds it to (a debug build, a layout of its own), the package loads as usual.
 */
function installedAddon(require: NodeJS.Require): string | undefined {
  try {
    const file = path.join(path.dirname(require.resolve("better-sqlite3/package.json")), "build", "Release", "better_sqlite3.node");
    return fs.existsSync(file) ? file : undefined;
  } catch {
    return undefined;
  }
}

const packageRequire = createRequire(import.meta.url);
const addon = installedAddon(packageRequire);
const Database: typeof BundledDatabase = addon ? BundledDatabase : packageRequire("better-sqlite3");

export type DB = BundledDatabase.Database;

/** Opens a database file (or an image of one) with the addon found above. */
function open(file: string | Buffer, options: BundledDatabase.Options = {}): DB {
  return new Database(file, addon ? { ...options, nativeBinding: addon } : options);
}

/** Each entry moves the schema one version forward; never edit a released entry, append a new one. */
const MIGRATIONS: string[] = [
  `
  CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    directory TEXT NOT NULL,
    parent_id TEXT,
    title TEXT NOT NULL,
    title_source TEXT NOT NULL DEFAULT 'default',
    version TEXT NOT NULL,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL,
    extra TEXT NOT NULL DEFAULT '{}'
  );
  CREATE INDEX sessions_directory ON sessions(directory, updated);
  CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    info TEXT NOT NULL,
    diagnostics TEXT NOT NULL DEFAULT '{}'
  );
  CREATE INDEX messages_session ON messages(session_id, id);
  CREATE TABLE parts (
    id TEXT PRIMARY KEY,
    message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    session_id TEXT NOT NULL,
    data TEXT NOT NULL
  );
  CREATE INDEX parts_session ON parts(session_id, message_id, id);
  CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    ended_at INTEGER,
    outcome TEXT,
    owner_pid INTEGER NOT NULL,
    user_message_id TEXT,
    assistant_message_ids TEXT NOT NULL DEFAULT '[]',
    interrupt TEXT,
    cancel_request TEXT,
    cancel_count INTEGER NOT NULL DEFAULT 0,
    steps INTEGER NOT NULL DEFAULT 0,
    finish TEXT,
    attempted_input TEXT
  );
  CREATE INDEX runs_session ON runs(session_id, started_at);
  CREATE UNIQUE INDEX runs_one_active ON runs(session_id) WHERE ended_at IS NULL;
  CREATE TABLE title_generations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    data TEXT NOT NULL
  );
  CREATE INDEX title_generations_session ON title_generations(session_id);
  `,
  // The owner's start time tells a live owner from a later process that was given the same pid.
  `ALTER TABLE runs ADD COLUMN owner_start TEXT;`,
  // How the owner hears of a cancel written on its row: SIGUSR2 (the CLI) or a watch on the database (a library).
  `ALTER TABLE runs ADD COLUMN owner_wake TEXT NOT NULL DEFAULT 'signal';`,
  // Loops are kept forever: an iteration names its session but does not go away with it.
  `
  CREATE TABLE loops (
    id TEXT PRIMARY KEY,
    directory TEXT NOT NULL,
    name TEXT NOT NULL,
    spec TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    ended_at INTEGER,
    stop_reason TEXT,
    stop_detail TEXT,
    owner_pid INTEGER NOT NULL,
    owner_start TEXT,
    abort_request TEXT
  );
  CREATE INDEX loops_started ON loops(started_at);
  CREATE TABLE loop_iterations (
    loop_id TEXT NOT NULL REFERENCES loops(id) ON DELETE CASCADE,
    n INTEGER NOT NULL,
    session_id TEXT NOT NULL,
    run_id TEXT,
    started_at INTEGER NOT NULL,
    ended_at INTEGER,
    outcome TEXT,
    abort TEXT,
    error TEXT,
    promise INTEGER,
    until_exit INTEGER,
    until_output TEXT,
    tokens INTEGER NOT NULL DEFAULT 0,
    files_changed INTEGER,
    PRIMARY KEY (loop_id, n)
  );
  CREATE INDEX loop_iterations_session ON loop_iterations(session_id);
  `,
  // Every process group a run spawns, written before its command runs, so crash recovery can kill what is left.
  `CREATE TABLE run_processes (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    pgid INTEGER NOT NULL,
    start TEXT,
    PRIMARY KEY (run_id, pgid)
  );`,
  // The OpenTelemetry trace a run's spans went to, so an export leads to the trace (null when tracing was off).
  `ALTER TABLE runs ADD COLUMN trace_id TEXT;`,
  // A part's type, kept in the index beside its id: an export counts tool calls before it writes the first message,
  // and reading every part's data for that would double its reads. Virtual, so writers store nothing new.
  `
  ALTER TABLE parts ADD COLUMN type TEXT GENERATED ALWAYS AS (json_extract(data, '$.type')) VIRTUAL;
  DROP INDEX parts_session;
  CREATE INDEX parts_session ON parts(session_id, message_id, id, type);
  `,
  // Each message as the model's prompt has it (session/prompt-cache.ts), with the number of parts it was made from:
  // a part added since shows in that count, and triggers drop the entry when one is changed or deleted, whoever
  // writes (this release, an older one, sqlite3 itself). No trigger on insert: it would make each insert of a long
  // transaction (an import) keep a statement journal.
  `
  CREATE TABLE prompt_cache (
    message_id TEXT PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    format INTEGER NOT NULL,
    parts INTEGER NOT NULL,
    prompt TEXT NOT NULL
  );
  CREATE TRIGGER parts_update_uncache AFTER UPDATE ON parts BEGIN
    DELETE FROM prompt_cache WHERE message_id IN (OLD.message_id, NEW.message_id);
  END;
  CREATE TRIGGER parts_delete_uncache AFTER DELETE ON parts BEGIN
    DELETE FROM prompt_cache WHERE message_id = OLD.message_id;
  END;
  `,
  // The title generations still in flight, which every start looks over for ones whose process died: only they
  // are indexed, so the look costs nothing however many sessions there are.
  `CREATE INDEX title_generations_open ON title_generations(session_id) WHERE json_extract(data, '$.completed_at') IS NULL;`,
  // Each entry also holds its messages as a chat-completions request has them, and their size for the estimate: a
  // run sends a long history without converting it again (provider/wire.ts). The older entries, which this release
  // never reads, go rather than stay until their session runs again.
  `
  DELETE FROM prompt_cache;
  ALTER TABLE prompt_cache ADD COLUMN wire BLOB;
  ALTER TABLE prompt_cache ADD COLUMN chars INTEGER;
  `,
];

/** The SQLite result code of a failed statement (`SQLITE_CONSTRAINT_UNIQUE`, ...), or undefined for other errors. */
export function sqliteCode(error: unknown): string | undefined {
  return error instanceof Database.SqliteError ? error.code : undefined;
}

/**
 * Opens (creating and migrating) the data directory's database. `readonly` opens an existing one for commands that
 * only read, where the directory cannot be written (read-only mount, full disk): no pragma or migration writes.
 */
export function openDatabase(dir: string, options: { readonly?: boolean } = {}): DB {
  if (options.readonly) return openReadOnly(path.join(dir, "ode.db"));
  ensureDir(dir);
  // Several ode processes (a run and `ode session abort`) share one file: `timeout` (SQLite's busy timeout) waits
  // for a writer instead of failing. The pragmas go in one call: this runs at the start of every command.
  const db = open(path.join(dir, "ode.db"), { timeout: 5000 });
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;");
  migrate(db);
  return db;
}

function openReadOnly(file: string): DB {
  const db = open(file, { readonly: true, fileMustExist: true, timeout: 5000 });
  try {
    db.prepare("SELECT count(*) FROM sqlite_master").get();
    return db;
  } catch (error) {
    db.close();
    if ((error as { code?: string }).code !== "SQLITE_CANTOPEN") throw error;
  }
  // A WAL database in a directory where SQLite cannot create its shared-memory file (a read-only mount): read an
  // in-memory copy, marked as a rollback-journal database (header bytes 18-19) since WAL needs that shared memory.
  const image = fs.readFileSync(file);
  image[18] = 1;
  image[19] = 1;
  return open(image, { readonly: true });
}

function schemaVersion(db: DB): number {
  return db.pragma("user_version", { simple: true }) as number;
}

function migrate(db: DB): void {
  if (schemaVersion(db) >= MIGRATIONS.length) return;
  // Several processes may open a new data directory at once (parallel loops): read the version again under the
  // write lock, so only the first applies each migration.
  db.transaction(() => {
    for (let v = schemaVersion(db); v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v]!);
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  }).immediate();
}
