// vfs: no overlay at all, every layer is a full copy of its parent with its diff applied. Slow
// and large, but it needs nothing from the kernel or the filesystem, so it is the last resort.
//
// Copies use GNU `cp -a --reflink=auto`: Node's fs.cp loses ownership, xattrs, hard links and
// device nodes, and cp keeps them all (uid 0 of the user namespace may chown to any mapped id),
// sharing blocks on filesystems that reflink (btrfs, xfs).
//
// Containers: the container's full tree lives in MountSpec.upper (copied from the top layer on
// the first mount), so commit finds the container's files where the other drivers keep their
// changes; target gets a bind mount of it. A caller passing target === upper gets no mount at
// all: the tree is simply there, unmount is a no-op and isMounted stays false.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError } from '../errors';
import { DriverName, GraphDriver, MountSpec, isEmptyDir, resolveInLayer } from './graph-driver';
import { bindMount, isMountPoint, runProgram, unmountAll } from './mounts';

/** Copies src's tree to a fresh sibling of dest and renames it into place, so a killed copy never looks complete. */
async function copyTreeInto(src: string, dest: string): Promise<void> {
  const tmp = `${dest}.tmp-${process.pid}-${Date.now().toString(36)}`;
  await fs.promises.mkdir(path.dirname(dest), { recursive: true });
  try {
    await runProgram('cp', ['-a', '--reflink=auto', '--', src, tmp], `cannot copy ${src}`);
    // rename(2) replaces an empty directory, which is what dest is if it exists
    await fs.promises.rename(tmp, dest);
  } catch (err) {
    await fs.promises.rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** Removes what dir holds except paths in keep, descending into kept directories. */
async function emptyExcept(layerDir: string, relDir: string, keep: ReadonlySet<string>): Promise<void> {
  const dir = path.join(layerDir, relDir);
  for (const entry of await fs.promises.readdir(dir, { withFileTypes: true })) {
    const rel = path.posix.join(relDir, entry.name);
    if (!keep.has(rel)) await fs.promises.rm(path.join(dir, entry.name), { recursive: true, force: true });
    else if (entry.isDirectory()) await emptyExcept(layerDir, rel, keep);
  }
}

/** Layer-relative paths as the layer store may spell them ("./a/b/", "a/b"), made comparable. */
function normalizeRelPaths(paths: ReadonlySet<string>): Set<string> {
  const out = new Set<string>();
  for (const p of paths) out.add(path.posix.normalize(p.replace(/^\/+/, '')).replace(/\/+$/, ''));
  return out;
}

export class VfsDriver implements GraphDriver {
  readonly name: DriverName = 'vfs';
  readonly storageDir = 'vfs';
  readonly copiesParent = true;

  async createLayerDir(layerDir: string, parentDir?: string): Promise<void> {
    if (parentDir === undefined) {
      await fs.promises.mkdir(layerDir, { recursive: true, mode: 0o755 });
      return;
    }
    if (!(await isEmptyDir(layerDir))) throw new InvalidArgumentError(`layer dir ${layerDir} is not empty`);
    await copyTreeInto(parentDir, layerDir);
  }

  async applyWhiteout(layerDir: string, relPath: string): Promise<void> {
    const file = resolveInLayer(layerDir, relPath);
    if (file === layerDir) throw new InvalidArgumentError('a whiteout cannot delete the root of a layer');
    await fs.promises.rm(file, { recursive: true, force: true });
  }

  async applyOpaque(layerDir: string, relDir: string, extracted: ReadonlySet<string> = new Set()): Promise<void> {
    const dir = resolveInLayer(layerDir, relDir);
    const stat = await fs.promises.lstat(dir).catch(() => undefined);
    if (stat === undefined) return fs.promises.mkdir(dir, { recursive: true, mode: 0o755 }).then(() => undefined);
    if (!stat.isDirectory()) throw new InvalidArgumentError(`opaque marker in ${relDir}, which is not a directory`);
    await emptyExcept(layerDir, path.relative(layerDir, dir), normalizeRelPaths(extracted));
  }

  async mount(spec: MountSpec): Promise<void> {
    if (spec.readonly) return this.mountReadonly(spec);
    const top = spec.lowers[0];
    if (await isEmptyDir(spec.upper)) {
      if (top === undefined) await fs.promises.mkdir(spec.upper, { recursive: true, mode: 0o755 });
      else await copyTreeInto(top, spec.upper);
    }
    if (path.resolve(spec.target) === path.resolve(spec.upper) || this.isMounted(spec.target)) return;
    await fs.promises.mkdir(spec.target, { recursive: true, mode: 0o755 });
    await bindMount(spec.upper, spec.target);
  }

  /** A vfs layer is already the whole tree: a read-only bind of the top one is the image. */
  private async mountReadonly(spec: MountSpec): Promise<void> {
    if (spec.lowers.length === 0) throw new InvalidArgumentError(`nothing to mount read-only at ${spec.target}: no layers`);
    if (this.isMounted(spec.target)) return;
    await fs.promises.mkdir(spec.target, { recursive: true, mode: 0o755 });
    await bindMount(spec.lowers[0], spec.target, true);
  }

  async unmount(target: string): Promise<void> {
    await unmountAll(target);
  }

  isMounted(target: string): boolean {
    return isMountPoint(target);
  }
}
