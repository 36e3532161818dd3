// Kernel overlayfs, mounted by uid 0 of tspod's user namespace (Linux >= 5.11 allows that) or
// by real root. Always with `userxattr`: see graph-driver.ts for the layer format.
//
// Many layers: mount(2) copies at most one page of option data, and 60 lowers named by absolute
// path (<graphRoot>/overlay/<64-hex id>/diff) do not fit. Then, like containers/storage, each
// lower gets a short symlink <home>/l/<24 hex> -> ../<id>/diff and the helper mounts from
// <home> with lowerdir=l/AAA:l/BBB..., 27 bytes a layer (about 150 layers in a page; kernel
// overlay itself stops at 500).
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HostError, InvalidArgumentError } from '../errors';
import { DriverName, GraphDriver, MountSpec, writeOverlayMarks, writeOverlayWhiteout } from './graph-driver';
import { bindMount, isMountPoint, mountFilesystem, unmountAll } from './mounts';

/** mount(2) reads one page of data, NUL included; 4 KiB is the smallest page Linux has. */
export const MOUNT_DATA_LIMIT = 4095;

export const SHORT_LINK_DIR = 'l';
/** Last in the option data: the mount helper strips it again where the kernel refuses it. */
const VOLATILE_OPTION = ',volatile';

/** overlayfs splits options on "," and lowerdir on ":", both honouring a backslash escape. */
export function escapeOverlayPath(dir: string): string {
  return dir.replace(/[\\:,]/g, (c) => `\\${c}`);
}

export function overlayMountData(lowers: string[], upper?: string, work?: string): string {
  const options = [`lowerdir=${lowers.map(escapeOverlayPath).join(':')}`];
  if (upper !== undefined && work !== undefined) {
    options.push(`upperdir=${escapeOverlayPath(upper)}`, `workdir=${escapeOverlayPath(work)}`);
  }
  options.push('userxattr');
  return options.join(',');
}

/** Stable per layer, so a link made by one tspod process serves every later mount. */
export function shortLinkName(layerRelPath: string): string {
  return createHash('sha256').update(layerRelPath).digest('hex').slice(0, 24);
}

export interface ShortLink {
  /** relative to home: l/<name> */
  link: string;
  /** what the link points at, relative to the l/ dir */
  target: string;
}

export interface OverlayMountPlan {
  data: string;
  /** set when lowers are named by short links relative to this dir */
  cwd?: string;
  links: ShortLink[];
}

/** The directory holding every lower's <id>/diff; short links need them all in one home. */
export function commonLayerHome(lowers: string[]): string | undefined {
  const homes = new Set(lowers.map((lower) => path.dirname(path.dirname(path.resolve(lower)))));
  return homes.size === 1 ? [...homes][0] : undefined;
}

/** Absolute lowerdirs when they fit in a page, short links relative to the layer home when not. */
export function planOverlayMount(lowers: string[], upper?: string, work?: string, limit = MOUNT_DATA_LIMIT): OverlayMountPlan {
  const direct = overlayMountData(lowers, upper, work);
  if (direct.length <= limit) return { data: direct, links: [] };
  const home = commonLayerHome(lowers);
  if (home === undefined) {
    throw new HostError(`cannot mount ${lowers.length} layers: their options exceed one page and the layers are not in one directory`);
  }
  const links = lowers.map((lower) => {
    const rel = path.relative(home, path.resolve(lower));
    return { link: path.join(SHORT_LINK_DIR, shortLinkName(rel)), target: path.join('..', rel) };
  });
  const data = overlayMountData(links.map((l) => l.link), upper, work);
  if (data.length > limit) {
    throw new HostError(`cannot mount ${lowers.length} layers: kernel overlay takes one page of options, these need ${data.length} bytes`);
  }
  return { data, cwd: home, links };
}

/**
 * Idempotent and race-safe: two processes may create the same link at once. Synchronous on
 * purpose: 60 layers are 120 tiny syscalls, which the libuv thread pool would make cost ms.
 */
function ensureShortLink(home: string, link: ShortLink): void {
  const file = path.join(home, link.link);
  try {
    fs.symlinkSync(link.target, file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
      return ensureShortLink(home, link);
    }
    if (code !== 'EEXIST') throw err;
    const existing = fs.readlinkSync(file);
    if (existing !== link.target) throw new HostError(`short layer link ${file} points at ${existing}, not ${link.target}`);
  }
}

/**
 * Kernel overlay ignores an opaque xattr on a lower layer's root directory (fuse-overlayfs
 * honours it), so a layer whose tar makes `/` opaque leaves this marker beside its diff dir and
 * mounts simply stop at that layer: nothing below it can show.
 */
export const OPAQUE_ROOT_SUFFIX = '.opaque-root';

export function lowersAboveOpaqueRoot(lowers: string[], hasOpaqueRoot: (lower: string) => boolean): string[] {
  const cut = lowers.findIndex(hasOpaqueRoot);
  return cut < 0 ? lowers : lowers.slice(0, cut + 1);
}

function hasOpaqueRootMarker(lower: string): boolean {
  return fs.existsSync(`${path.resolve(lower)}${OPAQUE_ROOT_SUFFIX}`);
}

// Every container start mounts: mkdirSync keeps node's fs/promises modules (not in the start-up
// snapshot) out of run, start and exec, ~1 ms each.
async function ensureDirs(...dirs: string[]): Promise<void> {
  for (const dir of dirs) fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
}

export class OverlayDriver implements GraphDriver {
  readonly name: DriverName = 'overlay';
  readonly storageDir = 'overlay';
  readonly copiesParent = false;

  async createLayerDir(layerDir: string): Promise<void> {
    await fs.promises.mkdir(layerDir, { recursive: true, mode: 0o755 });
  }

  applyWhiteout(layerDir: string, relPath: string): Promise<void> {
    return writeOverlayWhiteout(layerDir, relPath);
  }

  async applyWhiteouts(layerDir: string, relPaths: string[], opaqueDirs: string[]): Promise<void> {
    const dirs = await writeOverlayMarks(layerDir, relPaths, opaqueDirs);
    if (dirs.includes(layerDir)) await fs.promises.writeFile(`${path.resolve(layerDir)}${OPAQUE_ROOT_SUFFIX}`, '');
  }

  applyOpaque(layerDir: string, relDir: string): Promise<void> {
    return this.applyWhiteouts(layerDir, [], [relDir]);
  }

  async mount(requested: MountSpec): Promise<void> {
    if (this.isMounted(requested.target)) return;
    const spec = { ...requested, lowers: lowersAboveOpaqueRoot(requested.lowers, hasOpaqueRootMarker) };
    await ensureDirs(spec.target);
    if (spec.readonly) return this.mountReadonly(spec);
    // A layerless image (FROM scratch, nothing added): the upper dir is the whole root.
    if (spec.lowers.length === 0) {
      await ensureDirs(spec.upper);
      return bindMount(spec.upper, spec.target);
    }
    await ensureDirs(spec.upper, spec.work);
    // An earlier volatile mount left work/incompat/volatile, and overlay refuses the work dir
    // until it is gone (the upper dir is intact when the unmount was clean).
    fs.rmSync(path.join(spec.work, 'work', 'incompat'), { recursive: true, force: true });
    await this.mountOverlay(spec.lowers, spec.target, spec.upper, spec.work, { volatile: spec.volatile, netns: spec.netns });
  }

  /** Without an upper dir overlay wants two lowers at least; a single layer is bound read-only. */
  private async mountReadonly(spec: MountSpec): Promise<void> {
    if (spec.lowers.length === 0) throw new InvalidArgumentError(`nothing to mount read-only at ${spec.target}: no layers`);
    if (spec.lowers.length === 1) return bindMount(spec.lowers[0], spec.target, true);
    await this.mountOverlay(spec.lowers, spec.target);
  }

  /** VOLATILE (with an upper dir): see MountSpec; the mount helper drops it on kernels < 5.10.
   * NETNS: see MountSpec. */
  protected async mountOverlay(lowers: string[], target: string, upper?: string, work?: string, opts: { volatile?: boolean; netns?: string } = {}): Promise<void> {
    const extra = opts.volatile && upper !== undefined ? VOLATILE_OPTION : '';
    const plan = planOverlayMount(lowers, upper, work, MOUNT_DATA_LIMIT - extra.length);
    for (const link of plan.links) ensureShortLink(plan.cwd as string, link);
    await mountFilesystem('overlay', 'overlay', path.resolve(target), `${plan.data}${extra}`, { cwd: plan.cwd, netns: opts.netns });
  }

  async unmount(target: string): Promise<void> {
    await unmountAll(target);
  }

  isMounted(target: string): boolean {
    return isMountPoint(target);
  }
}
