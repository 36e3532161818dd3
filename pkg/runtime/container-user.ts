// Who the container's process runs as: `-u user[:group]` (names or numbers) looked up in the
// container's own /etc/passwd and /etc/group, the supplementary groups those files give the
// user, and --group-add. The rules are runc's GetExecUser, which Docker and Podman both follow:
// an unknown numeric uid is fine (gid 0, HOME /), an unknown name is an error; an explicit group
// replaces the passwd gid and then no supplementary groups come from /etc/group.
//
// The rootfs belongs to the image author: /etc/passwd may be a symlink to /etc/shadow, or to
// ../../../../etc/shadow, or a fifo. Paths are resolved as if the rootfs were `/` (symlinks and
// `..` cannot leave it), the last step is opened with O_NOFOLLOW, and only a regular file of sane
// size is read.
//
// The ids that exist in a container are tspod's namespace's, unless --userns gives it a nested
// namespace: keepIdMappings and autoMappings compute those mappings.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError, NotFoundError } from '../errors';
import { IdMap } from '../rootless/id-mappings';
import { IdMapping } from './oci-spec-types';

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

export interface ContainerUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  /** from passwd, or "/" */
  home: string;
  /** the passwd name, when the user has an entry */
  name?: string;
}

const MAX_ID = 2 ** 31 - 1;
const MAX_SYMLINKS = 255;
const MAX_FILE_BYTES = 16 * 1024 * 1024;

function parseId(text: string): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  if (n > MAX_ID) throw new InvalidArgumentError(`uids and gids must be in range 0-${MAX_ID}: ${text}`);
  return n;
}

export function parsePasswd(text: string): PasswdEntry[] {
  const entries: PasswdEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    const f = line.split(':');
    const uid = Number(f[2]);
    const gid = Number(f[3]);
    if (f.length < 4 || !f[2] || !Number.isInteger(uid) || !Number.isInteger(gid)) continue;
    entries.push({ name: f[0], uid, gid, home: f[5] ?? '', shell: f[6] ?? '' });
  }
  return entries;
}

export function parseGroup(text: string): GroupEntry[] {
  const entries: GroupEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    const f = line.split(':');
    const gid = Number(f[2]);
    if (f.length < 3 || !f[2] || !Number.isInteger(gid)) continue;
    entries.push({ name: f[0], gid, members: (f[3] ?? '').split(',').map((m) => m.trim()).filter(Boolean) });
  }
  return entries;
}

function findGroup(groups: GroupEntry[], arg: string): number | undefined {
  const numeric = parseId(arg);
  const found = groups.find((g) => g.name === arg || (numeric !== undefined && g.gid === numeric));
  return found?.gid ?? numeric;
}

function groupNotFound(arg: string): NotFoundError {
  return new NotFoundError(`unable to find group ${arg}: no matching entries in group file`);
}

/**
 * The pure part: `spec` is the -u value (or the image's User; empty means root); passwd/group
 * are the parsed files (empty when the image has none).
 */
export function resolveUser(spec: string | undefined, passwd: PasswdEntry[], groups: GroupEntry[], groupAdd: string[] = []): ContainerUser {
  const value = (spec ?? '').trim();
  const colon = value.indexOf(':');
  const userArg = (colon < 0 ? value : value.slice(0, colon)) || '0';
  const groupArg = colon < 0 ? '' : value.slice(colon + 1);
  const numericUid = parseId(userArg);
  const entry = passwd.find((p) => p.name === userArg || (numericUid !== undefined && p.uid === numericUid));
  if (!entry && numericUid === undefined) throw new NotFoundError(`unable to find user ${userArg}: no matching entries in passwd file`);

  const user: ContainerUser = { uid: entry?.uid ?? (numericUid as number), gid: entry?.gid ?? 0, additionalGids: [], home: entry?.home || '/' };
  if (entry) user.name = entry.name;
  if (groupArg) {
    const gid = findGroup(groups, groupArg);
    if (gid === undefined) throw groupNotFound(groupArg);
    user.gid = gid;
  } else if (entry) {
    user.additionalGids = groups.filter((g) => g.members.includes(entry.name)).map((g) => g.gid);
  }
  for (const arg of groupAdd) {
    if (arg === 'keep-groups') {
      throw new InvalidArgumentError('--group-add keep-groups needs crun (it keeps the caller\'s groups through the user namespace); runc cannot do it');
    }
    const gid = findGroup(groups, arg);
    if (gid === undefined) throw groupNotFound(arg);
    user.additionalGids.push(gid);
  }
  // The primary group is listed too, as Podman does: setgroups() replaces the whole list, and a
  // process should still hold its own group after a setgid to another.
  user.additionalGids = [...new Set([user.gid, ...user.additionalGids])];
  return user;
}

class SymlinkLoopError extends InvalidArgumentError {}

function isSymlink(file: string): boolean {
  try {
    return fs.lstatSync(file).isSymbolicLink();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return false;
    throw err;
  }
}

/**
 * The host path of `target` (an absolute path inside the container) as the container would see
 * it: each symlink is followed relative to `root`, and neither a symlink nor `..` gets above it.
 * Like Go's securejoin.SecureJoin. Missing components are fine (the rest is appended as is).
 */
export function resolveInRoot(root: string, target: string): string {
  let pending = target.split('/').filter(Boolean);
  let resolved: string[] = [];
  let links = 0;
  while (pending.length) {
    const part = pending.shift() as string;
    if (part === '.') continue;
    if (part === '..') {
      resolved.pop();
      continue;
    }
    const host = path.join(root, ...resolved, part);
    if (!isSymlink(host)) {
      resolved.push(part);
      continue;
    }
    if (++links > MAX_SYMLINKS) throw new SymlinkLoopError(`${target}: too many levels of symbolic links in the container`);
    const link = fs.readlinkSync(host);
    if (link.startsWith('/')) resolved = [];
    pending = [...link.split('/').filter(Boolean), ...pending];
  }
  return path.join(root, ...resolved);
}

/**
 * A file of the container, read safely; undefined when it does not exist (or is a symlink loop)
 * or is not a regular file (a fifo would block; a device is not a passwd file).
 */
export function readContainerFile(root: string, file: string): string | undefined {
  let host: string;
  try {
    host = resolveInRoot(root, file);
  } catch (err) {
    if (err instanceof SymlinkLoopError) return undefined;
    throw err;
  }
  let fd: number;
  try {
    fd = fs.openSync(host, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ELOOP' || code === 'ENOTDIR') return undefined;
    throw err;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) return undefined;
    if (st.size > MAX_FILE_BYTES) throw new InvalidArgumentError(`${file} in the container is larger than ${MAX_FILE_BYTES} bytes`);
    return fs.readFileSync(fd, 'utf8');
  } finally {
    fs.closeSync(fd);
  }
}

/** resolveUser with the container rootfs' /etc/passwd and /etc/group. */
export function resolveContainerUser(rootfs: string, spec: string | undefined, groupAdd: string[] = []): ContainerUser {
  const passwd = parsePasswd(readContainerFile(rootfs, '/etc/passwd') ?? '');
  const groups = parseGroup(readContainerFile(rootfs, '/etc/group') ?? '');
  return resolveUser(spec, passwd, groups, groupAdd);
}

// ------------------------------------------------------------ --userns mappings ---------------

/** The outer ids (tspod-namespace ids) available for a nested namespace, in order, as runs. */
function outerRuns(outer: IdMap[], skip: number | undefined): [number, number][] {
  const runs: [number, number][] = [];
  for (const m of [...outer].sort((a, b) => a.container_id - b.container_id)) {
    const end = m.container_id + m.size;
    if (skip !== undefined && skip >= m.container_id && skip < end) {
      runs.push([m.container_id, skip - m.container_id], [skip + 1, end - skip - 1]);
    } else {
      runs.push([m.container_id, m.size]);
    }
  }
  return runs.filter(([, size]) => size > 0);
}

function merged(maps: IdMapping[]): IdMapping[] {
  const out: IdMapping[] = [];
  for (const m of [...maps].sort((a, b) => a.containerID - b.containerID)) {
    const last = out[out.length - 1];
    if (last && last.containerID + last.size === m.containerID && last.hostID + last.size === m.hostID) last.size += m.size;
    else out.push({ ...m });
  }
  return out;
}

/**
 * --userns=keep-id: the user's host id `hostId` appears as `target` (default: the same number)
 * inside; every other id of tspod's namespace fills container ids 0, 1, ... around it. With
 * tspod's usual map (0 = the user U, 1..65536 = subuids) and target U: container 0..U-1 → outer
 * 1..U, U → outer 0, U+1.. → outer U+1...
 */
export function keepIdMappings(outer: IdMap[], hostId: number, target = hostId): IdMapping[] {
  const owner = outer.find((m) => hostId >= m.host_id && hostId < m.host_id + m.size);
  if (!owner) throw new InvalidArgumentError(`--userns=keep-id: id ${hostId} is not mapped in tspod's user namespace`);
  const self = owner.container_id + (hostId - owner.host_id);
  const out: IdMapping[] = [{ containerID: target, hostID: self, size: 1 }];
  let next = 0;
  for (let [start, size] of outerRuns(outer, self)) {
    while (size > 0) {
      if (next === target) next++;
      const len = next < target ? Math.min(size, target - next) : size;
      out.push({ containerID: next, hostID: start, size: len });
      next += len;
      start += len;
      size -= len;
    }
  }
  return merged(out);
}

/**
 * --userns=auto / nomap: a namespace of `size` ids from tspod's subordinate range, starting
 * `offset` ids into it (the range create allocated, so auto containers do not overlap); the
 * user's own id is left out, so files the user owns appear as nobody inside.
 */
export function autoMappings(outer: IdMap[], hostId: number, size = 65536, offset = 0): IdMapping[] {
  const owner = outer.find((m) => hostId >= m.host_id && hostId < m.host_id + m.size);
  const self = owner ? owner.container_id + (hostId - owner.host_id) : undefined;
  const out: IdMapping[] = [];
  let next = 0;
  let skip = offset;
  for (let [start, len] of outerRuns(outer, self)) {
    const skipped = Math.min(skip, len);
    start += skipped;
    len -= skipped;
    skip -= skipped;
    const take = Math.min(len, size - next);
    if (take <= 0) continue;
    out.push({ containerID: next, hostID: start, size: take });
    next += take;
  }
  if (next === 0) throw new InvalidArgumentError('--userns=auto: tspod\'s user namespace has no subordinate ids (no /etc/subuid range)');
  return merged(out);
}

/** How many subordinate ids tspod's namespace has (all of it but the user's own id). */
export function subordinateCount(outer: IdMap[], hostId: number): number {
  const owner = outer.find((m) => hostId >= m.host_id && hostId < m.host_id + m.size);
  const self = owner ? owner.container_id + (hostId - owner.host_id) : undefined;
  return outerRuns(outer, self).reduce((n, [, len]) => n + len, 0);
}

export function isMapped(maps: { containerID: number; size: number }[], id: number): boolean {
  return maps.some((m) => id >= m.containerID && id < m.containerID + m.size);
}
