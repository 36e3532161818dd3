// The graph-driver interface (the idea of containers/storage's drivers, much smaller) and the
// helpers the drivers share.
//
// The layer store keeps each layer in <graphRoot>/<driver.storageDir>/<layerId>/diff and
// extracts the layer's tar into it inside tspod's user namespace (uid 0 there). The driver
// decides how that directory starts out, how the tar's deletions are recorded, and how a
// container's root is assembled from layers. Container roots: every driver leaves the merged
// tree at MountSpec.target, and the container's own changes in MountSpec.upper.
//
// On-disk layer format, per driver:
//   overlay, fuse-overlayfs  (one format, both in <graphRoot>/overlay: switching between them,
//                            as storage.conf's mount_program does, keeps every image)
//     whiteout  a 0/0 character device: what kernel overlay reads, and fuse-overlayfs too;
//               mknod of exactly 0/0 is allowed to uid 0 of a user namespace (Linux >= 5.8)
//     opaque    xattr user.overlay.opaque=y: trusted.* cannot be set inside a user namespace,
//               and kernel overlay reads user.overlay.* when mounted with `userxattr`, which
//               root mode uses as well so one store format serves both. fuse-overlayfs reads it.
//               Kernel overlay ignores it on a layer's root dir, so an opaque `/` also leaves
//               <layerDir>.opaque-root, and mounts stop at that layer (overlay-driver.ts).
//   vfs      every layer is a full copy of its parent with the diff applied: a whiteout deletes
//            the path, an opaque marker empties the directory of what the parent had.
// Upper dirs written through fuse-overlayfs may also hold `.wh.NAME` / `.wh..wh..opq` files and
// user.fuseoverlayfs.opaque (its fallbacks): diff code reading an upper dir must accept those.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError } from '../errors';
import { runMountHelper } from './mounts';

export type DriverName = 'overlay' | 'fuse-overlayfs' | 'vfs';

export const DRIVER_NAMES: readonly DriverName[] = ['overlay', 'fuse-overlayfs', 'vfs'];

export interface MountSpec {
  /** layer diff dirs, topmost first; overlay layers must sit at <home>/<id>/diff, see overlay-driver */
  lowers: string[];
  /** the container's writable layer; vfs keeps its full copy of the image here */
  upper: string;
  /** overlay's scratch dir, on the same filesystem as upper; unused by vfs */
  work: string;
  /** where the merged root appears; created when missing */
  target: string;
  /** mount the lowers alone, read-only (image mounts); upper and work are ignored */
  readonly?: boolean;
  /** the writable layer need not survive a crash (a --rm container's, removed with it): kernel
   * overlay mounts it `volatile`, which spares the unmount a sync of the whole filesystem */
  volatile?: boolean;
  /** a container's network namespace to make at this file in the same helper run as the mount
   * (pkg/network/early-netns.ts). Only a kernel overlay mount with an upper dir does; others
   * ignore it, and the caller makes it apart when the file is no namespace afterwards */
  netns?: string;
}

export interface GraphDriver {
  name: DriverName;
  /** directory under graphRoot holding this driver's layers */
  storageDir: string;
  /**
   * createLayerDir starts from a copy of the parent's tree (vfs): a layer can only be
   * extracted once its parent is stored. Overlay layers hold their own diff alone.
   */
  readonly copiesParent: boolean;
  /**
   * Prepares an empty layer dir to extract a diff into. vfs copies parentDir's full tree into
   * it (reflinks where the filesystem has them; ownership, modes, xattrs, hard links and
   * special files kept).
   */
  createLayerDir(layerDir: string, parentDir?: string): Promise<void>;
  /** Records that relPath was deleted in this layer (the tar's `.wh.NAME` entry). */
  applyWhiteout(layerDir: string, relPath: string): Promise<void>;
  /**
   * Records several deletions and opaque dirs in one go, as applyWhiteout and applyOpaque would
   * one by one. Drivers that have it let extraction hold a layer's whiteouts and opaque markers
   * back and record them once (deferred-whiteouts.ts).
   */
  applyWhiteouts?(layerDir: string, relPaths: string[], opaqueDirs: string[]): Promise<void>;
  /**
   * Records that directory relDir hides its lower content (the tar's `.wh..wh..opq`).
   * `extracted`: layer-relative paths this tar already wrote (tar order puts no rule on where
   * the marker comes); vfs keeps those, the overlay drivers need no list.
   */
  applyOpaque(layerDir: string, relDir: string, extracted?: ReadonlySet<string>): Promise<void>;
  /** Assembles spec.lowers + spec.upper at spec.target. Already mounted: left as it is. */
  mount(spec: MountSpec): Promise<void>;
  /** Unmounts target (lazily when busy); not mounted is fine. */
  unmount(target: string): Promise<void>;
  isMounted(target: string): boolean;
}

/**
 * The host path of a layer-relative path from a tar, refusing anything that would leave the
 * layer: `..` and symlinks on the way (a tar can plant `etc -> /home/user` and then whiteout
 * `etc/.bashrc`). The last component is not resolved: it is what gets replaced.
 */
export function resolveInLayer(layerDir: string, relPath: string): string {
  const normalized = path.posix.normalize(relPath.replace(/^\/+/, '') || '.');
  const shown = JSON.stringify(relPath);
  if (normalized === '..' || normalized.startsWith('../')) throw new InvalidArgumentError(`layer path ${shown} leaves the layer`);
  const parts = normalized.split('/').filter((part) => part !== '' && part !== '.');
  let current = layerDir;
  for (const part of parts.slice(0, -1)) {
    current = path.join(current, part);
    const stat = fs.lstatSync(current, { throwIfNoEntry: false });
    if (!stat) break;
    if (!stat.isDirectory()) {
      const through = path.relative(layerDir, current);
      throw new InvalidArgumentError(`layer path ${shown} goes through ${through}, which is not a directory`);
    }
  }
  return path.join(layerDir, ...parts);
}

/** A directory the tar names without its own entry is created like tar would: 0755, owned by us. */
export async function ensureParentDir(file: string): Promise<void> {
  await fs.promises.mkdir(path.dirname(file), { recursive: true, mode: 0o755 });
}

export async function isEmptyDir(dir: string): Promise<boolean> {
  try {
    const handle = await fs.promises.opendir(dir);
    const first = await handle.read();
    await handle.close();
    return first === null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
}

/** Overlay's whiteout: whatever this layer had at the path goes, a 0/0 char device takes its place. */
export async function writeOverlayWhiteout(layerDir: string, relPath: string): Promise<void> {
  await writeOverlayMarks(layerDir, [relPath], []);
}

/**
 * Overlay's whiteouts (as writeOverlayWhiteout) and opaque dirs (as markOverlayOpaque) of one
 * layer, with one helper process for all of them. Returns the opaque dirs' host paths.
 */
export async function writeOverlayMarks(layerDir: string, relPaths: string[], opaqueDirs: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const relPath of relPaths) {
    const file = resolveInLayer(layerDir, relPath);
    if (file === layerDir) throw new InvalidArgumentError('a whiteout cannot delete the root of a layer');
    await fs.promises.rm(file, { recursive: true, force: true });
    await ensureParentDir(file);
    files.push(file);
  }
  const dirs: string[] = [];
  for (const relDir of opaqueDirs) {
    const dir = resolveInLayer(layerDir, relDir);
    await fs.promises.mkdir(dir, { recursive: true, mode: 0o755 });
    dirs.push(dir);
  }
  if (files.length + dirs.length === 0) return dirs;
  const all = [...relPaths, ...opaqueDirs.map((d) => d || '/')];
  const what = all.length === 1 ? (files.length ? `deletion of ${all[0]}` : `${all[0]} opaque`) : `${all.length} deletions and opaque dirs`;
  await runMountHelper(['whiteout', ...files, ...(dirs.length ? ['--opaque', ...dirs] : [])], `cannot record ${what}`);
  return dirs;
}

export const OPAQUE_XATTR = 'user.overlay.opaque';

