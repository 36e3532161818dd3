// The parsed configuration files, kept between commands. Every command reads containers.conf
// (Debian's is 24 KB), storage.conf and, when it names an image, registries.conf and its drop-ins:
// parsing them took ~2 ms of each command, in a process too short-lived for the parser to get
// compiled. Kept as JSON (which Node parses natively) beside the user's run root, each file's
// table is reused for as long as the file is the same one: same device, inode, size, and change
// and modification times to the nanosecond. Anything else (a missing or unreadable cache, a
// table JSON cannot hold, an older tspod's cache) means parsing as before.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TSPOD_VERSION } from '../version';
import type { TomlTable } from './toml-files';

interface CachedTable {
  key: string;
  table: TomlTable;
}

/** Raised when what a cached table holds for a file changes (the parser's rules, its options). */
const CACHE_FORMAT = 1;

const CACHE_VERSION = `${TSPOD_VERSION}/${CACHE_FORMAT}`;

interface CacheFile {
  version: string;
  tables: Record<string, CachedTable>;
}

/** What identifies a file's contents without reading it; undefined when there is no file. */
function fileKey(file: string): string | undefined {
  const st = fs.statSync(file, { bigint: true, throwIfNoEntry: false });
  return st && `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

/** The TOML parser's tables have no prototype (a key named "constructor" is only a key): the
 * ones JSON.parse makes get none either. */
function withoutPrototypes<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (!Array.isArray(value)) Object.setPrototypeOf(value, null);
  for (const v of Object.values(value)) withoutPrototypes(v);
  return value;
}

/** JSON gives back what the TOML parser made: no dates, no integers beyond a double's. */
function jsonSafe(value: unknown): boolean {
  if (value instanceof Date || typeof value === 'bigint') return false;
  if (typeof value !== 'object' || value === null) return true;
  return Object.values(value).every(jsonSafe);
}

export class TomlCache {
  private cached: CacheFile | undefined;
  private changed = false;

  /** FILE: where the cache is kept (a directory of the user's own). */
  constructor(private readonly file: string) {}

  /** FILE's table from the cache when FILE is unchanged, else parse()'s (then remembered). The
   * table handed out is the cache's own: callers that change a table copy it first. */
  table(file: string, parse: () => TomlTable | undefined): TomlTable | undefined {
    let key: string | undefined;
    try {
      key = fileKey(file);
    } catch {
      // Not stat-able (a component is not a directory, no permission): parse() reports it.
      return parse();
    }
    if (key === undefined) return undefined;
    const tables = this.load().tables;
    const hit = tables[file];
    if (hit && hit.key === key) return withoutPrototypes(hit.table);
    const table = parse();
    if (table !== undefined && jsonSafe(table)) {
      tables[file] = { key, table };
      this.changed = true;
    }
    return table;
  }

  /** Writes what changed (atomically: readers see the old cache or the new one). */
  save(): void {
    if (!this.changed) return;
    this.changed = false;
    const tmp = `${this.file}.${process.pid}.tmp`;
    try {
      fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
      fs.writeFileSync(tmp, JSON.stringify(this.load()), { mode: 0o600 });
      fs.renameSync(tmp, this.file);
    } catch {
      // Only a cache: the next command parses again.
      try {
        fs.rmSync(tmp, { force: true });
      } catch {
        // not even there to remove (its directory could not be made)
      }
    }
  }

  private load(): CacheFile {
    if (this.cached) return this.cached;
    try {
      const read = JSON.parse(fs.readFileSync(this.file, 'utf8')) as CacheFile;
      if (read.version === CACHE_VERSION && typeof read.tables === 'object' && read.tables !== null) this.cached = read;
    } catch {
      // missing or unreadable: start afresh
    }
    this.cached ??= { version: CACHE_VERSION, tables: {} };
    return this.cached;
  }
}
