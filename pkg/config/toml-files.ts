// Loading of the containers-*.conf(5) TOML files. Podman merges containers.conf from several
// places (later files override earlier keys, table by table); storage.conf and
// registries.conf are taken whole from the first file found. Both rules live here.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { InvalidArgumentError } from '../errors';
import type { TomlCache } from './toml-cache';

export type TomlTable = { [key: string]: TomlValue };
export type TomlValue = string | number | boolean | Date | TomlValue[] | TomlTable | bigint | object;

/** Blanks the whole-line comments: the shipped containers.conf is ~24 KB of them around two dozen
 * settings, and skipping them here is much faster than in the TOML parser. Lines stay in
 * place; a file with multi-line strings (where a line starting with # can be text) is left
 * whole. */
export function blankCommentLines(text: string): string {
  if (text.includes('"""') || text.includes("'''")) return text;
  return text.replace(/^[ \t]*#.*$/gm, '');
}

export function readTomlFile(file: string, cache?: TomlCache): TomlTable | undefined {
  if (cache) return cache.table(file, () => readTomlFile(file));
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw new InvalidArgumentError(`reading ${file}: ${(err as Error).message}`);
  }
  try {
    return parseToml(blankCommentLines(text)) as TomlTable;
  } catch (err) {
    const first = String((err as Error).message).split('\n')[0];
    throw new InvalidArgumentError(`parsing ${file}: ${first}; fix the file or move it away`);
  }
}

function isTable(v: unknown): v is TomlTable {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/** Deep merge: tables merge key by key, anything else in `over` replaces `base`. */
export function mergeTables(base: TomlTable, over: TomlTable): TomlTable {
  const out: TomlTable = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isTable(b) && isTable(v) ? mergeTables(b, v) : v;
  }
  return out;
}

/** The *.conf files of a drop-in directory, in lexical order. */
export function dropIns(dir: string): string[] {
  try {
    return fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.conf'))
      .sort()
      .map((f) => path.join(dir, f));
  } catch {
    return [];
  }
}

export interface LoadedToml {
  table: TomlTable;
  files: string[];
}

export function loadMerged(files: string[], cache?: TomlCache): LoadedToml {
  let table: TomlTable = {};
  const used: string[] = [];
  for (const f of files) {
    const t = readTomlFile(f, cache);
    if (!t) continue;
    table = mergeTables(table, t);
    used.push(f);
  }
  return { table, files: used };
}

export function loadFirst(files: string[], cache?: TomlCache): LoadedToml {
  for (const f of files) {
    const t = readTomlFile(f, cache);
    if (t) return { table: t, files: [f] };
  }
  return { table: {}, files: [] };
}

export function tableAt(t: TomlTable, ...keys: string[]): TomlTable {
  let cur: unknown = t;
  for (const k of keys) {
    cur = isTable(cur) ? cur[k] : undefined;
  }
  return isTable(cur) ? cur : {};
}

export function stringAt(t: TomlTable, key: string): string | undefined {
  const v = t[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

export function stringsAt(t: TomlTable, key: string): string[] | undefined {
  const v = t[key];
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined;
}

export function boolAt(t: TomlTable, key: string): boolean | undefined {
  const v = t[key];
  return typeof v === 'boolean' ? v : undefined;
}

export function numberAt(t: TomlTable, key: string): number | undefined {
  const v = t[key];
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  return undefined;
}
