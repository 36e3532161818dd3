// The uid/gid mappings of tspod's user namespace, as /proc shows them from inside, or as
// /etc/subuid and /etc/subgid say they will be when the namespace is not joined yet.
import * as fs from 'node:fs';

export interface IdMap {
  container_id: number;
  host_id: number;
  size: number;
}

export function parseIdMapFile(text: string): IdMap[] {
  return text
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number))
    .filter((f) => f.length === 3 && f.every((n) => Number.isFinite(n)))
    .map(([container_id, host_id, size]) => ({ container_id, host_id, size }));
}

export interface SubIdRange {
  start: number;
  count: number;
}

/** The ranges /etc/subuid (or subgid) gives a user, matched by name or by numeric id. */
export function parseSubIdFile(text: string, user: string, id: number): SubIdRange[] {
  const ranges: SubIdRange[] = [];
  for (const line of text.split('\n')) {
    const [owner, start, count] = line.trim().split(':');
    if (!owner || owner.startsWith('#')) continue;
    if (owner !== user && owner !== String(id)) continue;
    const s = Number(start);
    const c = Number(count);
    if (Number.isInteger(s) && Number.isInteger(c) && c > 0) ranges.push({ start: s, count: c });
  }
  return ranges;
}

function readText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** Container id 0 is the user; 1.. are the subordinate ranges in file order. */
export function expectedMappings(kind: 'uid' | 'gid', user: string, id: number): IdMap[] {
  const ranges = parseSubIdFile(readText(kind === 'uid' ? '/etc/subuid' : '/etc/subgid'), user, id);
  const maps: IdMap[] = [{ container_id: 0, host_id: id, size: 1 }];
  let next = 1;
  for (const r of ranges) {
    maps.push({ container_id: next, host_id: r.start, size: r.count });
    next += r.count;
  }
  return maps;
}

function isIdentity(maps: IdMap[]): boolean {
  return maps.length === 1 && maps[0].container_id === 0 && maps[0].host_id === 0 && maps[0].size === 4294967295;
}

export function currentMappings(kind: 'uid' | 'gid', hostId: number): IdMap[] {
  const maps = parseIdMapFile(readText(`/proc/self/${kind}_map`));
  if (!isIdentity(maps)) return maps;
  return expectedMappings(kind, userName(hostId), hostId);
}

export function userName(uid: number): string {
  for (const line of readText('/etc/passwd').split('\n')) {
    const f = line.split(':');
    if (f[2] === String(uid)) return f[0];
  }
  return String(uid);
}
