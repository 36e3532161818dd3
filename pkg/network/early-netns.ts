// A container's network namespace made before `runtime create`, so that its network helpers
// (slirp4netns, tspod-portfwd, pasta) start beside the runtime's create instead of after it, and
// `runtime start` follows create at once (beginNetwork in network-setup.ts). tspod-mount-helper
// (single-threaded, as unshare wants; with kernel overlay the very run that mounts the root)
// makes the namespace inside tspod's user namespace, brings lo up, and keeps it by a bind mount
// of /proc/self/ns/net on a file under the run root; the spec joins that file, which inspect shows
// as the SandboxKey, as Podman shows its netns path. Teardown unmounts and removes it
// (NetworkStatus.netnsFile).
//
// Only for the modes whose helpers serve the container's own namespace (slirp4netns, pasta), and
// only when the container has no user namespace of its own: a namespace made here belongs to
// tspod's user namespace, and root in a nested one (keep-id, auto) would lose its say over its
// network (no sysfs, no CAP_NET_ADMIN there), so those keep the namespace runc creates.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Container } from '../container/container-config';
import type { Engine } from '../engine/engine';
import { awaitGone } from '../host/processes';
import { runMountHelper, unmountAll } from '../storage/mounts';
import { effectiveMode, netRunFile, netRunPath } from './network-setup';

export interface EarlyNetns {
  /** the bind mount that keeps the namespace */
  file: string;
  /** settles when the namespace exists; rejects with a one-line HostError */
  created: Promise<unknown>;
}

/**
 * Where the container's namespace goes when its mode allows one made early (see above), for the
 * root's mount to make in the same helper run (MountSpec.netns). `ownUserns`: the container
 * gets a user namespace of its own (--userns keep-id, auto, nomap).
 */
export function earlyNetnsFile(engine: Engine, container: Container, ownUserns: boolean): string | undefined {
  const kind = effectiveMode(engine, container.config).kind;
  if (ownUserns || (kind !== 'slirp4netns' && kind !== 'pasta')) return undefined;
  return netRunPath(engine, container, 'netns');
}

/** A namespace bind-mounted on the file sits on another device (nsfs) than its directory. */
function isNamespaceFile(file: string): boolean {
  const st = fs.statSync(file, { throwIfNoEntry: false });
  return st !== undefined && st.dev !== fs.statSync(path.dirname(file)).dev;
}

/**
 * After the root's mount: the namespace it made, or (a driver that could not: vfs,
 * fuse-overlayfs, a layerless image) one being made now by a helper of its own. The caller
 * awaits `created` (beginNetwork does) or discards it.
 */
export function earlyNetns(file: string, containerName: string): EarlyNetns {
  if (isNamespaceFile(file)) return { file, created: Promise.resolve() };
  const created = runMountHelper(['netns', file], `cannot create the network namespace of container ${containerName}`);
  // Awaited later (or discarded): a failure must not surface as an unhandled rejection meanwhile.
  created.catch(() => undefined);
  return { file, created };
}

/** Removes the namespace of a start that failed before its network was set up. */
export async function discardEarlyNetns(netns: EarlyNetns | undefined): Promise<void> {
  if (!netns) return;
  await netns.created.catch(() => undefined);
  await unmountAll(netns.file).catch(() => undefined);
  fs.rmSync(netns.file, { force: true });
}

/** Pids of the processes whose command line names FILE (a namespace's helpers all do). */
function processesNaming(file: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').includes(file)) pids.push(Number(entry));
    } catch {
      // gone meanwhile, or another user's
    }
  }
  return pids;
}

/**
 * A start killed after the namespace was made but before its network was recorded leaves the
 * file and its helpers (slirp4netns, tspod-portfwd, pasta: each names the file on its command
 * line) behind, unknown to the container's state. For a container that is not running (its next
 * start, rm): ends those helpers and removes the file. Without the file, one stat and nothing else.
 */
export async function reapStaleNetns(engine: Engine, container: Container): Promise<void> {
  const file = netRunFile(engine, container, 'netns');
  if (!fs.existsSync(file)) return;
  const pids = processesNaming(file).filter((pid) => pid !== process.pid);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  awaitGone(pids);
  await discardEarlyNetns({ file, created: Promise.resolve() });
}
