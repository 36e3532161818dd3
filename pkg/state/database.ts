// The per-user SQLite database. Many tspod processes use it at once, so: WAL (readers never
// block the writer), a generous busy timeout (writers queue instead of failing), and every
// write in an IMMEDIATE transaction (a deferred one that upgrades to a write lock can fail
// with SQLITE_BUSY at once in WAL mode, bypassing the timeout).
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HostError, TspodError } from '../errors';
import { packageRoot, requireInstalled } from '../package-root';
import { MIGRATIONS, SCHEMA_VERSION } from './schema';

export type Db = Database.Database;

const BUSY_TIMEOUT_MS = 60_000;

/**
 * The write-ahead log is folded into the database once it holds this many pages (SQLite's
 * default is 1000). Each command is the database's first opener (tspod has no daemon), and the
 * first opener rebuilds the log's index by reading all of it: with 1000 pages (4 MB) that took
 * ~1.5 ms of every command, with 100 ~0.1 ms. A `run --rm` writes ~11 pages, so a checkpoint (the
 * ~30 pages of the database written back, two fsyncs) comes every ten or so containers.
 */
const WAL_CHECKPOINT_PAGES = 100;

let sqliteAddon: object | undefined;

/** better-sqlite3's compiled addon, loaded by path: its own lookup (the bindings package) tries
 * a dozen directories, and its require() inside the start-up snapshot could not load it. */
function loadSqliteAddon(): object {
  if (sqliteAddon) return sqliteAddon;
  // Where npm puts it beside tspod, without require()'s lookup; wherever require() finds it else.
  const direct = path.join(packageRoot(), 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node');
  if (fs.existsSync(direct)) {
    const loaded = { exports: {} };
    process.dlopen(loaded, direct);
    sqliteAddon = loaded.exports;
  } else {
    sqliteAddon = requireInstalled<object>('better-sqlite3/build/Release/better_sqlite3.node');
  }
  return sqliteAddon;
}

function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current === SCHEMA_VERSION) return;
  if (current > SCHEMA_VERSION) {
    throw new TspodError(`the database was written by a newer tspod (schema ${current}, this one knows ${SCHEMA_VERSION}); upgrade tspod`);
  }
  db.transaction(() => {
    // Another process may have migrated while we waited for the write lock.
    const now = db.pragma('user_version', { simple: true }) as number;
    for (let v = now; v < SCHEMA_VERSION; v++) db.exec(MIGRATIONS[v]);
    db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }).immediate();
}

export function openDatabase(file: string, options: { readonly?: boolean } = {}): Db {
  let db: Db;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    // The typings allow only a path for nativeBinding; better-sqlite3 takes the loaded addon too.
    const nativeBinding = loadSqliteAddon() as unknown as string;
    db = new Database(file, { timeout: BUSY_TIMEOUT_MS, readonly: options.readonly === true, nativeBinding });
  } catch (err) {
    throw new HostError(`opening the database ${file}: ${(err as Error).message}; check that the directory is writable`);
  }
  if (!options.readonly) {
    // journal_mode is stored in the file: only the first open pays for switching it.
    if ((db.pragma('journal_mode', { simple: true }) as string) !== 'wal') db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma(`wal_autocheckpoint = ${WAL_CHECKPOINT_PAGES}`);
    migrate(db);
  }
  db.pragma('foreign_keys = ON');
  return db;
}

let leaveOpenUntilExit = false;

/**
 * For the CLI, whose process ends right after its command: databases are left to be closed by
 * that end. Closing the last connection checkpoints the write-ahead log into the database and
 * deletes it (two fsyncs), and the next command's first write creates it again (another): ~1-2
 * ms of every command. Left open, the log stays; SQLite folds it in at its automatic
 * checkpoints, and a connection that ends without a close loses no committed transaction.
 */
export function leaveDatabasesOpenUntilExit(): void {
  leaveOpenUntilExit = true;
}

export function closeDatabase(db: Db): void {
  if (!leaveOpenUntilExit) db.close();
}

/** Runs fn as one IMMEDIATE transaction: all of it lands or none of it. */
export function writeTransaction<T>(db: Db, fn: () => T): T {
  return db.transaction(fn).immediate();
}
