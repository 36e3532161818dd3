// The mounts of a container's spec: /proc, /dev, /dev/pts, /dev/shm, /dev/mqueue, /sys and its
// cgroup tree (mounted where a namespace we own is behind them, else bound from the host), the
// container's /etc files, --device binds (rootless), and the user's -v, --mount and --tmpfs; then
// parents ordered before children.
import { InvalidArgumentError } from '../errors';
import type { DeviceInput, MountInput, NamespaceMode, SpecInput } from './oci-spec';
import { Mount } from './oci-spec-types';

export const DEFAULT_SHM_SIZE = 64 * 1024 * 1024;
export const TTY_GID = 5;

/** 64 MiB → "size=65536k" as Podman writes it; other sizes in bytes. */
function sizeOption(bytes: number): string {
  return bytes % 1024 === 0 ? `size=${bytes / 1024}k` : `size=${bytes}`;
}

/** Options that undo a default (exec undoes noexec) replace it. */
function withOptions(defaults: string[], extra: string[]): string[] {
  const opposite: Record<string, string> = { exec: 'noexec', suid: 'nosuid', dev: 'nodev', ro: 'rw', rw: 'ro', noexec: 'exec', nosuid: 'suid', nodev: 'dev' };
  const out = defaults.filter((d) => !extra.some((e) => opposite[e] === d || (e.startsWith('size=') && d.startsWith('size=')) || (e.startsWith('mode=') && d.startsWith('mode='))));
  for (const e of extra) if (!out.includes(e)) out.push(e);
  return out;
}

/**
 * In a user namespace, the nosuid/nodev/noexec/atime flags of mounts inherited from a more
 * privileged namespace are locked: a remount (which runc does for `ro` and for any such flag)
 * that leaves one out fails with EPERM, and runc 1.1 does not add them itself (crun does). So a
 * bind repeats the locked flags of its source's mount; that changes nothing, since a bind mount
 * has those flags anyway.
 */
export function lockedOptions(sourceOptions: string[]): string[] {
  return sourceOptions.filter((o) => ['nosuid', 'nodev', 'noexec', 'noatime', 'nodiratime', 'strictatime'].includes(o));
}

const PROPAGATIONS = ['private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave', 'unbindable', 'runbindable'];

export function userMount(m: MountInput): Mount {
  if (!m.destination.startsWith('/')) throw new InvalidArgumentError(`mount destination ${m.destination} is not absolute`);
  const extra = m.options ?? [];
  const ro = m.readonly ? ['ro'] : [];
  if (m.type === 'tmpfs') {
    return { destination: m.destination, type: 'tmpfs', source: 'tmpfs', options: withOptions(['rw', 'noexec', 'nosuid', 'nodev'], [...extra, ...ro]) };
  }
  if (!m.source.startsWith('/')) throw new InvalidArgumentError(`mount source ${m.source} is not absolute`);
  const bind = extra.includes('bind') ? 'bind' : 'rbind';
  const propagation = extra.some((o) => PROPAGATIONS.includes(o)) ? [] : ['rprivate'];
  const defaults = m.type === 'volume' ? [bind, ...propagation, 'nosuid', 'nodev'] : [bind, ...propagation];
  const options = withOptions(defaults, [...extra.filter((o) => o !== 'bind' && o !== 'rbind'), ...ro]);
  for (const o of lockedOptions(m.sourceOptions ?? [])) if (!options.includes(o) && !options.includes(o.replace(/^no/, ''))) options.push(o);
  return { destination: m.destination, type: 'bind', source: m.source, options };
}

function bindMount(destination: string, source: string, options: string[]): Mount {
  return { destination, type: 'bind', source, options: ['rbind', ...options] };
}

export interface MountContext {
  input: SpecInput;
  newUserns: boolean;
  netns: NamespaceMode;
  pidns: NamespaceMode;
  ipcns: NamespaceMode;
  /** gid 5 is mapped in the container's user namespace */
  ttyGid: boolean;
}

/** A namespace kind can be mounted (sysfs/proc/mqueue) only if a namespace we own is behind it. */
function ownsNamespace(ctx: MountContext, mode: NamespaceMode): boolean {
  if (mode === 'private') return true;
  if (ctx.newUserns) return false;
  return mode === 'host' ? !ctx.input.host.rootless : true;
}

export function systemMounts(ctx: MountContext): Mount[] {
  const { input } = ctx;
  const privileged = !!input.privileged;
  const mounts: Mount[] = [];
  mounts.push(
    ownsNamespace(ctx, ctx.pidns)
      ? { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] }
      : bindMount('/proc', '/proc', ['nosuid', 'noexec', 'nodev']),
  );
  mounts.push({ destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] });
  mounts.push({
    destination: '/dev/pts',
    type: 'devpts',
    source: 'devpts',
    options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', ...(ctx.ttyGid ? [`gid=${TTY_GID}`] : [])],
  });
  mounts.push(
    ctx.ipcns === 'host'
      ? bindMount('/dev/shm', '/dev/shm', ['rprivate', 'nosuid', 'noexec', 'nodev'])
      : { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', sizeOption(input.shmSize ?? DEFAULT_SHM_SIZE)] },
  );
  if (ownsNamespace(ctx, ctx.ipcns)) {
    mounts.push({ destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] });
  } else if (input.host.devMqueue !== false) {
    mounts.push(bindMount('/dev/mqueue', '/dev/mqueue', ['nosuid', 'noexec', 'nodev']));
  }
  const ro = privileged ? [] : ['ro'];
  // Without sysfs, the host's /sys. In a user namespace its submounts are locked to it, so only
  // a recursive bind is allowed, and runc 1.1 makes only the top read-only: the cgroup mount
  // (runc: a tmpfs with each hierarchy bound in, read-only) then covers the host's tree.
  mounts.push(
    ownsNamespace(ctx, ctx.netns)
      ? { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', ...ro] }
      : bindMount('/sys', '/sys', ['rprivate', 'nosuid', 'noexec', 'nodev', ...ro]),
  );
  mounts.push({ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['rprivate', 'nosuid', 'noexec', 'nodev', 'relatime', ...ro] });
  return mounts;
}

export function etcMounts(files: NonNullable<SpecInput['etcFiles']>): Mount[] {
  const options = ['rprivate', 'nosuid', 'noexec', 'nodev'];
  const out: Mount[] = [];
  if (files.hosts) out.push({ destination: '/etc/hosts', type: 'bind', source: files.hosts, options: ['bind', ...options] });
  if (files.hostname) out.push({ destination: '/etc/hostname', type: 'bind', source: files.hostname, options: ['bind', ...options] });
  if (files.resolvConf) out.push({ destination: '/etc/resolv.conf', type: 'bind', source: files.resolvConf, options: ['bind', ...options] });
  return out;
}

export function deviceMount(d: DeviceInput): Mount {
  // noexec and nosuid, never nodev: the node must stay usable.
  return bindMount(d.containerPath, d.hostPath, ['rslave', 'nosuid', 'noexec', d.permissions.includes('w') ? 'rw' : 'ro']);
}

/** Parents before children (a user's /data/sub after /data); one mount per destination, later wins. */
export function orderMounts(mounts: Mount[]): Mount[] {
  const byDest = new Map<string, Mount>();
  for (const m of mounts) {
    const dest = m.destination.replace(/\/+$/, '') || '/';
    byDest.delete(dest);
    byDest.set(dest, { ...m, destination: dest });
  }
  const depth = (m: Mount): number => m.destination.split('/').filter(Boolean).length;
  return [...byDest.values()].map((m, i) => ({ m, i })).sort((a, b) => depth(a.m) - depth(b.m) || a.i - b.i).map(({ m }) => m);
}
