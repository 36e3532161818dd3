// fuse-overlayfs: overlay semantics in a FUSE daemon, for kernels or filesystems where kernel
// overlay fails in a user namespace. Layers are in the kernel driver's format (graph-driver.ts),
// which fuse-overlayfs reads, so only mounting differs. Each mount is one fuse-overlayfs daemon;
// it exits by itself once its mount is unmounted.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HostError } from '../errors';
import { DriverName, MountSpec } from './graph-driver';
import { isMountPoint, runProgram, unmountAll } from './mounts';
import { OverlayDriver } from './overlay-driver';

/** fuse option parsing honours "\," and "\\"; fuse-overlayfs splits lowerdir on ":" with no escape. */
function fuseOptionPath(dir: string): string {
  if (dir.includes(':')) throw new HostError(`fuse-overlayfs cannot use a layer path containing ":": ${dir}`);
  return dir.replace(/[\\,]/g, (c) => `\\${c}`);
}

/**
 * Ids as a container with a user namespace of its own sees them (--userns keep-id, auto):
 * container id → id of the namespace fuse-overlayfs runs in. fuse-overlayfs shows a file stored
 * with owner C as the namespace's id for C, and stores what such a container writes with the
 * container's ids, so layers and upper dirs keep image ids whatever the container's mapping.
 */
export interface FuseIdMappings {
  uid: { containerID: number; hostID: number; size: number }[];
  gid: { containerID: number; hostID: number; size: number }[];
}

/** fuse-overlayfs takes absolute paths without a page limit: no short links needed. */
export function fuseOverlayOptions(lowers: string[], upper?: string, work?: string, ids?: FuseIdMappings): string {
  const options = [`lowerdir=${lowers.map((l) => fuseOptionPath(path.resolve(l))).join(':')}`];
  if (upper !== undefined && work !== undefined) {
    options.push(`upperdir=${fuseOptionPath(path.resolve(upper))}`, `workdir=${fuseOptionPath(path.resolve(work))}`);
  }
  if (ids) {
    const triples = (maps: FuseIdMappings['uid']): string => maps.map((m) => `${m.containerID}:${m.hostID}:${m.size}`).join(':');
    options.push(`uidmapping=${triples(ids.uid)}`, `gidmapping=${triples(ids.gid)}`);
  }
  return options.join(',');
}

/** A killed daemon leaves its mount behind, failing every access with ENOTCONN. */
function isStaleFuseMount(target: string): boolean {
  try {
    fs.statSync(target);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOTCONN';
  }
}

export class FuseOverlayDriver extends OverlayDriver {
  override readonly name: DriverName = 'fuse-overlayfs';

  /** program: fuse-overlayfs's path, or storage.conf's mount_program; ids: see FuseIdMappings */
  constructor(
    private readonly program: string,
    private readonly ids?: FuseIdMappings,
  ) {
    super();
  }

  override async mount(spec: MountSpec): Promise<void> {
    if (isMountPoint(spec.target) && isStaleFuseMount(spec.target)) await unmountAll(spec.target);
    return super.mount(spec);
  }

  protected override async mountOverlay(lowers: string[], target: string, upper?: string, work?: string): Promise<void> {
    const options = fuseOverlayOptions(lowers, upper, work, this.ids);
    await runProgram(this.program, ['-o', options, path.resolve(target)], `cannot mount fuse-overlayfs at ${target}`);
  }
}
