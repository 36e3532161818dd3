// A layer diff directory (a stored layer, or a container's upper dir) back to a layer tar, for
// push, save and commit. The tar is deterministic: names sorted, parents before children,
// numeric owners only, mtimes in whole seconds, hard links (same inode) as Link entries to the
// first name, so the same tree always hashes to the same diff ID.
//
// The driver's deletion records become tar whiteouts again (graph-driver.ts has the format):
// a 0/0 character device is `.wh.NAME`, a directory with an overlay opaque xattr is followed by
// `.wh..wh..opq`. fuse-overlayfs's fallbacks are `.wh.` files already and pass through as they
// are. Node cannot read xattrs: the driver may offer isOpaqueDir, else GNU tar reads them for
// all directories in one run (tar is on every host; getfattr is not).
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import * as tar from 'tar-stream';
import { HostError, TspodError } from '../errors';
import type { GraphDriver } from './graph-driver';

const OPAQUE_XATTRS = ['user.overlay.opaque', 'trusted.overlay.opaque', 'user.fuseoverlayfs.opaque'];
const SMALL_FILE = 1 << 20;

type HeaderArgument = Partial<tar.Header> & Pick<tar.Header, 'name'>;

/** What layer-tar needs of a driver; isOpaqueDir is optional (see the file comment). */
export type DiffDriver = Pick<GraphDriver, 'name'> & { isOpaqueDir?: (dir: string) => Promise<boolean> };

export interface TarLayerOptions {
  /** overrides the driver's way of telling opaque directories */
  isOpaqueDir?: (dir: string) => Promise<boolean>;
  /**
   * vfs: the parent layer's full tree. The tar then holds only what differs from it (Docker's
   * "naive diff"): changed and new entries with their parent directories, and a `.wh.` entry for
   * everything the parent has and dir has not.
   */
  parentDir?: string;
}

/** An overlay whiteout: a character device with device number 0/0. */
export function isOverlayWhiteout(st: fs.Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

function deviceNumbers(rdev: number): { major: number; minor: number } {
  // glibc's gnu_dev_major/minor; rdev fits a double for every real device
  const hi = Math.floor(rdev / 2 ** 32);
  const lo = rdev >>> 0;
  return { major: ((lo >>> 8) & 0xfff) | ((hi & 0xfffff000) >>> 0), minor: (lo & 0xff) | ((lo >>> 12) & 0xfff00) };
}

/** The directories (relative to root) that GNU tar reports an overlay opaque xattr on. */
async function opaqueDirsWithTar(root: string, dirs: string[]): Promise<Set<string>> {
  const found = new Set<string>();
  if (dirs.length === 0) return found;
  const args = ['--xattrs', ...OPAQUE_XATTRS.map((x) => `--xattrs-include=${x}`), '--no-recursion', '--null', '-C', root, '-cf', '-', '-T', '-'];
  const child = execFile('tar', args, { encoding: 'buffer', maxBuffer: 1 << 30 });
  child.stdin?.end(Buffer.from(dirs.map((d) => `./${d}\0`).join('')));
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    const pax = (header.pax ?? {}) as Record<string, string>;
    if (OPAQUE_XATTRS.some((x) => pax[`SCHILY.xattr.${x}`] === 'y')) found.add(header.name.replace(/^\.\//, '').replace(/\/$/, ''));
    stream.on('end', () => next());
    stream.resume();
  });
  const done = new Promise<void>((resolve, reject) => {
    extract.on('finish', () => resolve());
    extract.on('error', reject);
  });
  const exited = new Promise<void>((resolve, reject) => {
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => reject(new HostError(`cannot read opaque markers in ${root}: ${err.message}`)));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new HostError(`cannot read opaque markers in ${root}: tar: ${stderr.trim()}`))));
  });
  child.stdout?.on('data', (d: Buffer) => extract.write(d));
  child.stdout?.on('end', () => (extract as unknown as { end(): void }).end());
  await Promise.all([done, exited]);
  return found;
}

interface Item {
  rel: string;
  abs: string;
  st: fs.Stats;
  /** a deletion found by comparing with the parent tree: st is the parent's entry */
  deleted?: boolean;
}

async function walk(root: string): Promise<Item[]> {
  const items: Item[] = [];
  const visit = async (rel: string): Promise<void> => {
    const names = (await fs.promises.readdir(rel === '' ? root : path.join(root, rel))).sort();
    for (const name of names) {
      const childRel = rel === '' ? name : `${rel}/${name}`;
      const abs = path.join(root, childRel);
      const st = await fs.promises.lstat(abs);
      items.push({ rel: childRel, abs, st });
      if (st.isDirectory()) await visit(childRel);
    }
  };
  await visit('');
  return items;
}

/** Docker's naive-diff rule: same type, mode, owner and device; files also same size and mtime. */
async function changed(st: fs.Stats, abs: string, before: fs.Stats | undefined, beforeAbs: string): Promise<boolean> {
  if (before === undefined) return true;
  if (st.mode !== before.mode || st.uid !== before.uid || st.gid !== before.gid || st.rdev !== before.rdev) return true;
  if (st.isDirectory()) return false;
  if (st.size !== before.size || st.mtimeMs !== before.mtimeMs) return true;
  return st.isSymbolicLink() && (await fs.promises.readlink(abs)) !== (await fs.promises.readlink(beforeAbs));
}

/** The entries of root that differ from parentRoot, deletions included, parents before children. */
async function diffWalk(root: string, parentRoot: string): Promise<Item[]> {
  const items: Item[] = [];
  interface Pending {
    item: Item;
    emitted: boolean;
  }
  const emit = (ancestors: Pending[], item: Item): void => {
    for (const a of ancestors) {
      if (!a.emitted) items.push(a.item);
      a.emitted = true;
    }
    items.push(item);
  };
  const lstatOrUndefined = (p: string): Promise<fs.Stats | undefined> => fs.promises.lstat(p).catch(() => undefined);
  const visit = async (rel: string, ancestors: Pending[]): Promise<void> => {
    const here = rel === '' ? root : path.join(root, rel);
    const before = rel === '' ? parentRoot : path.join(parentRoot, rel);
    const names = new Set(await fs.promises.readdir(here));
    const beforeStat = await lstatOrUndefined(before);
    const beforeNames = beforeStat?.isDirectory() ? await fs.promises.readdir(before) : [];
    for (const name of [...new Set([...names, ...beforeNames])].sort()) {
      const childRel = rel === '' ? name : `${rel}/${name}`;
      const abs = path.join(root, childRel);
      const beforeAbs = path.join(parentRoot, childRel);
      if (!names.has(name)) {
        emit(ancestors, { rel: childRel, abs: beforeAbs, st: await fs.promises.lstat(beforeAbs), deleted: true });
        continue;
      }
      const st = await fs.promises.lstat(abs);
      const old = await lstatOrUndefined(beforeAbs);
      const item = { rel: childRel, abs, st };
      const differs = await changed(st, abs, old, beforeAbs);
      if (differs) emit(ancestors, item);
      if (st.isDirectory()) await visit(childRel, differs ? [] : [...ancestors, { item, emitted: false }]);
    }
  };
  await visit('', []);
  return items;
}

function entryCallback(): { cb: (err?: Error | null) => void; done: Promise<void> } {
  let cb: (err?: Error | null) => void = () => undefined;
  const done = new Promise<void>((resolve, reject) => {
    cb = (err) => (err ? reject(err) : resolve());
  });
  return { cb, done };
}

async function addFile(pack: tar.Pack, header: HeaderArgument, abs: string, size: number): Promise<void> {
  const { cb, done } = entryCallback();
  if (size <= SMALL_FILE) {
    const data = await fs.promises.readFile(abs);
    if (data.length !== size) throw new TspodError(`${abs} changed while it was being archived`);
    pack.entry(header, data, cb);
    return done;
  }
  const sink = pack.entry(header, cb);
  let written = 0;
  for await (const chunk of fs.createReadStream(abs, { highWaterMark: 1 << 20 })) {
    written += (chunk as Buffer).length;
    if (written > size) break;
    if (!sink.write(chunk as Buffer)) await new Promise<void>((resolve) => sink.once('drain', () => resolve()));
  }
  if (written !== size) {
    sink.destroy(new TspodError(`${abs} changed while it was being archived`));
  } else {
    (sink as unknown as { end(): void }).end();
  }
  return done;
}

async function writeLayerTar(pack: tar.Pack, root: string, driver: DiffDriver, opts: TarLayerOptions): Promise<void> {
  const items = opts.parentDir === undefined ? await walk(root) : await diffWalk(root, opts.parentDir);
  const overlay = driver.name === 'overlay' || driver.name === 'fuse-overlayfs';
  const isOpaque = opts.isOpaqueDir ?? driver.isOpaqueDir;
  let opaque = new Set<string>();
  if (overlay) {
    const dirs = items.filter((i) => i.st.isDirectory()).map((i) => i.rel);
    if (isOpaque) {
      for (const d of dirs) if (await isOpaque(path.join(root, d))) opaque.add(d);
    } else {
      opaque = await opaqueDirsWithTar(root, dirs);
    }
  }
  const firstName = new Map<string, string>();
  for (const { rel, abs, st, deleted } of items) {
    if (deleted) {
      const dir = path.posix.dirname(rel);
      const name = `${dir === '.' ? '' : `${dir}/`}.wh.${path.posix.basename(rel)}`;
      await addEntry(pack, { name, mode: 0o600, uid: 0, gid: 0, uname: '', gname: '', mtime: new Date(0), type: 'file', size: 0 });
      continue;
    }
    const base: HeaderArgument = {
      name: rel,
      mode: st.mode & 0o7777,
      uid: st.uid,
      gid: st.gid,
      uname: '',
      gname: '',
      mtime: new Date(Math.floor(st.mtimeMs / 1000) * 1000),
    };
    if (overlay && isOverlayWhiteout(st)) {
      const dir = path.posix.dirname(rel);
      const name = `${dir === '.' ? '' : `${dir}/`}.wh.${path.posix.basename(rel)}`;
      await addEntry(pack, { ...base, name, mode: 0o600, type: 'file', size: 0 });
    } else if (st.isDirectory()) {
      await addEntry(pack, { ...base, name: `${rel}/`, type: 'directory' });
      if (opaque.has(rel)) await addEntry(pack, { ...base, name: `${rel}/.wh..wh..opq`, type: 'file', size: 0 });
    } else if (st.isSymbolicLink()) {
      await addEntry(pack, { ...base, type: 'symlink', linkname: await fs.promises.readlink(abs) });
    } else if (st.isFile()) {
      const key = `${st.dev}:${st.ino}`;
      const first = st.nlink > 1 ? firstName.get(key) : undefined;
      if (first !== undefined) {
        await addEntry(pack, { ...base, type: 'link', linkname: first, size: 0 });
        continue;
      }
      if (st.nlink > 1) firstName.set(key, rel);
      await addFile(pack, { ...base, type: 'file', size: st.size }, abs, st.size);
    } else if (st.isCharacterDevice() || st.isBlockDevice()) {
      const { major, minor } = deviceNumbers(st.rdev);
      await addEntry(pack, { ...base, type: st.isCharacterDevice() ? 'character-device' : 'block-device', devmajor: major, devminor: minor });
    } else if (st.isFIFO()) {
      await addEntry(pack, { ...base, type: 'fifo' });
    }
    // sockets are left out, as Docker does: they cannot be recreated from a tar
  }
}

function addEntry(pack: tar.Pack, header: HeaderArgument): Promise<void> {
  const { cb, done } = entryCallback();
  // a file entry waits for its content to be written: give whiteout markers an empty one
  if (header.type === 'file') pack.entry(header, Buffer.alloc(0), cb);
  else pack.entry(header, cb);
  return done;
}

/**
 * The layer tar of a diff directory (uncompressed). A vfs layer is a full tree: without
 * opts.parentDir that gives a squashed layer, with it the diff against the parent.
 */
export function tarLayerDir(dir: string, driver: DiffDriver, opts: TarLayerOptions = {}): Readable {
  const pack = tar.pack();
  writeLayerTar(pack, dir, driver, opts).then(
    () => pack.finalize(),
    (err: Error) => pack.destroy(err),
  );
  return Readable.from(pack as unknown as AsyncIterable<Buffer>, { objectMode: false });
}
