// --userns: which ids a container has, and (for auto) which part of the user's subordinate
// range it holds. Podman's modes, rootless:
//   host (default, also "")   the container shares tspod's namespace: root inside is the user
//   keep-id[:uid=U,gid=G]     a nested namespace where the user's own ids appear as U/G (default:
//                             the same numbers), so files it writes to a bind mount are the
//                             user's; the process runs as U:G unless -u says otherwise
//   auto[:size=N]             a nested namespace of N subordinate ids (default: what the image's
//                             /etc/passwd and /etc/group need, at least 1024) that no other auto
//                             container of this user holds; the user's own id is not mapped
//   nomap                     a nested namespace of all the subordinate ids, without the user's own
// A nested namespace shifts what the image's files look like; container-start mounts such
// containers' roots through fuse-overlayfs with its uidmapping/gidmapping options, which show
// each file with its image owner (see rootfsIdMappings).
import { InvalidArgumentError } from '../errors';
import type { UserNamespaceMode } from '../runtime/oci-spec';

export const AUTO_MIN_SIZE = 1024;

/** What the flag asks for; `size` of auto is resolved at create (autoSize). */
export function parseUsernsFlag(value: string | undefined): UserNamespaceMode {
  if (value === undefined || value === '' || value === 'host') return { mode: 'host' };
  const colon = value.indexOf(':');
  const mode = colon < 0 ? value : value.slice(0, colon);
  const opts = new Map<string, string>();
  for (const item of colon < 0 ? [] : value.slice(colon + 1).split(',')) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new InvalidArgumentError(`invalid --userns option "${item}" in "${value}": use KEY=VALUE`);
    opts.set(item.slice(0, eq), item.slice(eq + 1));
  }
  const id = (key: string): number | undefined => {
    const v = opts.get(key);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!/^\d+$/.test(v) || n > 0xfffffffe) throw new InvalidArgumentError(`invalid --userns ${key} "${v}": use a number`);
    return n;
  };
  const only = (allowed: string[]): void => {
    for (const key of opts.keys()) if (!allowed.includes(key)) throw new InvalidArgumentError(`unknown --userns=${mode} option "${key}": use ${allowed.join(', ') || 'none'}`);
  };
  if (mode === 'keep-id') {
    only(['uid', 'gid']);
    return { mode: 'keep-id', uid: id('uid'), gid: id('gid') };
  }
  if (mode === 'auto') {
    only(['size']);
    const size = id('size');
    if (size !== undefined && size < 1) throw new InvalidArgumentError('--userns=auto:size= must be at least 1');
    return { mode: 'auto', size };
  }
  if (mode === 'nomap') {
    only([]);
    return { mode: 'nomap' };
  }
  throw new InvalidArgumentError(`invalid --userns "${value}": use host, keep-id[:uid=,gid=], auto[:size=] or nomap`);
}

/** The size an auto namespace needs for the image: its highest user or group id + 1, at least AUTO_MIN_SIZE. */
export function autoSize(passwd: string, group: string): number {
  let max = 0;
  for (const text of [passwd, group]) {
    for (const line of text.split('\n')) {
      const id = Number(line.split(':')[2]);
      if (Number.isInteger(id) && id > max && id < 0xfffffffe) max = id;
    }
  }
  return Math.max(AUTO_MIN_SIZE, max + 1);
}

/**
 * The first `size` ids from offset 0 up that no other container's range overlaps, within the
 * `available` subordinate ids of tspod's namespace (offsets count those ids, in order).
 */
export function allocateRange(taken: { offset: number; size: number }[], size: number, available: number): number {
  let offset = 0;
  for (const r of [...taken].sort((a, b) => a.offset - b.offset)) {
    if (r.offset >= offset + size) break;
    offset = Math.max(offset, r.offset + r.size);
  }
  if (offset + size > available) {
    throw new InvalidArgumentError(`--userns=auto: not enough unused subordinate ids for ${size} more (${available} in all, the rest held by other containers): remove some, or ask for a smaller size=`);
  }
  return offset;
}
