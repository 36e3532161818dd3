// `diff`: what a container changed, from its writable layer, as Docker lists it: `A` added,
// `C` changed, `D` deleted, sorted by path. Overlay drivers: a whiteout (0/0 character device,
// or fuse-overlayfs's `.wh.NAME` file) is a deletion, anything else in the upper dir is a
// change when some image layer has the path and an addition when none has (the directories
// copied up around a change therefore show as `C`). vfs: the upper dir is a full tree, compared
// with the image's top layer by Docker's naive-diff rule.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Engine } from '../engine/engine';
import { isOverlayWhiteout } from '../storage/layer-tar';
import { ContainerConfig, ContainerRuntimeState } from './container-config';
import { containerPaths } from './container-paths';
import { ContainerStore } from './container-store';

export type ChangeKind = 'A' | 'C' | 'D';

export interface Change {
  kind: ChangeKind;
  /** absolute path in the container */
  path: string;
}

const WHITEOUT_PREFIX = '.wh.';
const RUNTIME_MOUNT_POINTS = new Set(['etc/hosts', 'etc/hostname', 'etc/resolv.conf', 'run/.containerenv']);

function existsIn(lowers: readonly string[], rel: string): boolean {
  return lowers.some((l) => fs.lstatSync(path.join(l, rel), { throwIfNoEntry: false }) !== undefined);
}

/** The changes recorded in an overlay upper dir (pure apart from reading the dirs). */
export function overlayChanges(upper: string, lowers: readonly string[]): Change[] {
  const out: Change[] = [];
  const visit = (rel: string): void => {
    let names: string[];
    try {
      names = fs.readdirSync(rel === '' ? upper : path.join(upper, rel));
    } catch {
      return;
    }
    for (const name of names) {
      const childRel = rel === '' ? name : `${rel}/${name}`;
      const st = fs.lstatSync(path.join(upper, childRel));
      if (name.startsWith(WHITEOUT_PREFIX)) {
        // fuse-overlayfs's fallbacks; `.wh..wh..opq` marks an opaque dir, no path of its own
        if (!name.startsWith('.wh..wh.')) out.push({ kind: 'D', path: `/${rel === '' ? '' : `${rel}/`}${name.slice(WHITEOUT_PREFIX.length)}` });
        continue;
      }
      if (isOverlayWhiteout(st)) {
        out.push({ kind: 'D', path: `/${childRel}` });
        continue;
      }
      const existed = existsIn(lowers, childRel);
      // the empty mount points runc leaves for the files tspod bind-mounts are not changes
      if (!existed && st.isFile() && st.size === 0 && RUNTIME_MOUNT_POINTS.has(childRel)) continue;
      out.push({ kind: existed ? 'C' : 'A', path: `/${childRel}` });
      if (st.isDirectory()) visit(childRel);
    }
  };
  visit('');
  return out;
}

function sameEntry(a: fs.Stats, b: fs.Stats, aPath: string, bPath: string): boolean {
  if (a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid || a.rdev !== b.rdev) return false;
  if (a.isDirectory()) return true;
  if (a.size !== b.size || Math.floor(a.mtimeMs / 1000) !== Math.floor(b.mtimeMs / 1000)) return false;
  return !a.isSymbolicLink() || fs.readlinkSync(aPath) === fs.readlinkSync(bPath);
}

/** vfs: the full tree against the image's full tree. */
export function treeChanges(root: string, base: string | undefined): Change[] {
  const out: Change[] = [];
  const visit = (rel: string): void => {
    const dir = rel === '' ? root : path.join(root, rel);
    const baseDir = base === undefined ? undefined : rel === '' ? base : path.join(base, rel);
    const names = new Set(fs.readdirSync(dir));
    for (const name of names) {
      const childRel = rel === '' ? name : `${rel}/${name}`;
      const st = fs.lstatSync(path.join(root, childRel));
      const before = baseDir === undefined ? undefined : fs.lstatSync(path.join(baseDir, name), { throwIfNoEntry: false });
      if (st.isDirectory() && before?.isDirectory()) {
        const same = sameEntry(st, before, path.join(root, childRel), path.join(baseDir as string, name));
        const mark = out.length;
        visit(childRel);
        if (!same || out.length > mark) out.push({ kind: 'C', path: `/${childRel}` });
      } else if (!before) {
        out.push({ kind: 'A', path: `/${childRel}` });
        if (st.isDirectory()) visit(childRel);
      } else if (!sameEntry(st, before, path.join(root, childRel), path.join(baseDir as string, name))) {
        out.push({ kind: 'C', path: `/${childRel}` });
      }
    }
    if (baseDir !== undefined) {
      for (const name of fs.readdirSync(baseDir)) if (!names.has(name)) out.push({ kind: 'D', path: `/${rel === '' ? '' : `${rel}/`}${name}` });
    }
  };
  visit('');
  return out;
}

export function sortChanges(changes: Change[]): Change[] {
  return [...changes].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

export async function containerChanges(engine: Engine, nameOrId: string): Promise<Change[]> {
  const container = new ContainerStore(engine.db).require<ContainerConfig, ContainerRuntimeState>(nameOrId);
  const paths = containerPaths(engine.config, container.id);
  const driver = await engine.driver();
  const image = engine.images.get(container.config.imageId);
  const layers = await engine.layers();
  const lowers = image?.topLayer ? layers.lowerDirs(image.topLayer) : [];
  if (!fs.existsSync(paths.upper)) return [];
  if (driver.name === 'vfs') return sortChanges(treeChanges(paths.upper, lowers[0]));
  return sortChanges(overlayChanges(paths.upper, lowers));
}
