// registries.conf (containers-registries.conf(5)), version 2 and the old version 1 tables:
// short-name search registries, per-registry location rewrites, mirrors, insecure, blocked.
import { InvalidArgumentError } from '../errors';
import { LoadedToml, TomlTable, boolAt, loadFirst, mergeTables, readTomlFile, stringAt, stringsAt, tableAt } from './toml-files';
import type { TomlCache } from './toml-cache';

export interface RegistryMirror {
  location: string;
  insecure: boolean;
  pullFromMirror: 'all' | 'digest-only' | 'tag-only';
}

export interface RegistryEntry {
  /** the name prefix the entry applies to (a host, host/namespace, or *.domain) */
  prefix: string;
  /** where requests for the prefix go (the prefix itself unless rewritten) */
  location: string;
  insecure: boolean;
  blocked: boolean;
  mirrors: RegistryMirror[];
}

export interface RegistriesConfig {
  unqualifiedSearch: string[];
  shortNameMode: string;
  registries: RegistryEntry[];
  aliases: Record<string, string>;
  files: string[];
}

function parseMirror(t: TomlTable, file: string): RegistryMirror {
  const location = stringAt(t, 'location');
  if (!location) throw new InvalidArgumentError(`${file}: a [[registry.mirror]] has no location`);
  const pfm = stringAt(t, 'pull-from-mirror') ?? 'all';
  return { location, insecure: boolAt(t, 'insecure') ?? false, pullFromMirror: pfm as RegistryMirror['pullFromMirror'] };
}

function parseEntry(t: TomlTable, file: string): RegistryEntry {
  const location = stringAt(t, 'location') ?? '';
  const prefix = stringAt(t, 'prefix') ?? location;
  if (!prefix) throw new InvalidArgumentError(`${file}: a [[registry]] has neither prefix nor location`);
  const mirrors = Array.isArray(t.mirror) ? (t.mirror as TomlTable[]).map((m) => parseMirror(m, file)) : [];
  return {
    prefix,
    location: location || prefix,
    insecure: boolAt(t, 'insecure') ?? false,
    blocked: boolAt(t, 'blocked') ?? false,
    mirrors,
  };
}

/** Version 1 files list registries in [registries.search|insecure|block] tables. */
function entriesFromV1(t: TomlTable): { search: string[]; entries: RegistryEntry[] } {
  const reg = tableAt(t, 'registries');
  const search = stringsAt(tableAt(reg, 'search'), 'registries') ?? [];
  const insecure = new Set(stringsAt(tableAt(reg, 'insecure'), 'registries') ?? []);
  const blocked = new Set(stringsAt(tableAt(reg, 'block'), 'registries') ?? []);
  const names = new Set([...insecure, ...blocked]);
  const entries = [...names].map((n) => ({ prefix: n, location: n, insecure: insecure.has(n), blocked: blocked.has(n), mirrors: [] }));
  return { search, entries };
}

export function parseRegistriesConfig(t: TomlTable, files: string[]): RegistriesConfig {
  const file = files[files.length - 1] ?? 'registries.conf';
  const v1 = entriesFromV1(t);
  const v2 = Array.isArray(t.registry) ? (t.registry as TomlTable[]).map((e) => parseEntry(e, file)) : [];
  if (v1.entries.length && v2.length) {
    throw new InvalidArgumentError(`${file}: mixes the version 1 [registries.*] tables with [[registry]]; use one format`);
  }
  const aliases: Record<string, string> = {};
  for (const [k, v] of Object.entries(tableAt(t, 'aliases'))) if (typeof v === 'string') aliases[k] = v;
  return {
    // Docker resolves every short name on Docker Hub; Podman needs the list. With no list in
    // any file we behave as Docker does, so `alias docker=tspod` works on a bare machine; a
    // list that is set (even empty) is obeyed.
    unqualifiedSearch: stringsAt(t, 'unqualified-search-registries') ?? (v1.search.length ? v1.search : ['docker.io']),
    shortNameMode: stringAt(t, 'short-name-mode') ?? 'enforcing',
    registries: [...v2, ...v1.entries],
    aliases,
    files,
  };
}

export function loadRegistriesConfig(main: string[], dropIns: string[], cache?: TomlCache): RegistriesConfig {
  const first: LoadedToml = loadFirst(main, cache);
  let table = first.table;
  const files = [...first.files];
  for (const f of dropIns) {
    const t = readTomlFile(f, cache);
    if (!t) continue;
    // Drop-ins add registries to the list instead of replacing it.
    const registry = [...((table.registry as TomlTable[]) ?? []), ...((t.registry as TomlTable[]) ?? [])];
    table = mergeTables(table, t);
    if (registry.length) table.registry = registry;
    files.push(f);
  }
  return parseRegistriesConfig(table, files);
}

/** The entry whose prefix matches `name` best (longest prefix; `*.example.com` wildcards). */
export function findRegistry(conf: RegistriesConfig, name: string): RegistryEntry | undefined {
  let best: RegistryEntry | undefined;
  let bestLen = -1;
  for (const e of conf.registries) {
    let len = -1;
    if (e.prefix.startsWith('*.')) {
      const host = name.split('/')[0];
      if (host.endsWith(e.prefix.slice(1))) len = e.prefix.length;
    } else if (name === e.prefix || name.startsWith(e.prefix + '/') || name.startsWith(e.prefix + ':') || name.startsWith(e.prefix + '@')) {
      len = e.prefix.length;
    }
    if (len > bestLen) {
      best = e;
      bestLen = len;
    }
  }
  return best;
}
