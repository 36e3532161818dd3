// `cp` between a container and the host, and `export`. Docker's path rules: a directory copied
// onto an existing directory goes inside it, `SRC/.` copies the contents, a missing destination
// is created (its parent must exist), a file onto a file replaces it. Container paths resolve
// within the container's root as a chroot would (a symlink to /etc/passwd means the container's
// /etc/passwd), and everything written into the container goes through applyTar, the extractor
// that refuses any entry leaving its directory or going through a symlink.
//
// Ownership: everything runs as uid 0 of tspod's user namespace, where the caller is uid 0.
// Into the container, entries become root's unless archive (-a) keeps the source's ids; out of
// the container, the host copy belongs to the caller (uid 0 here), as Docker does.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import * as tar from 'tar-stream';
import * as tarFs from 'tar-fs';
import { Engine } from '../engine/engine';
import { ConflictError, InvalidArgumentError, NotFoundError, TspodError } from '../errors';
import { log } from '../log';
import { UnsafeLayerError, WhiteoutDriver, applyTar } from '../storage/layer-extract';
import { tarLayerDir } from '../storage/layer-tar';
import { VolumeStore } from '../volume/volume-store';
import { Container, ContainerConfig, ContainerRuntimeState } from './container-config';
import { refreshContainer } from './container-exit';
import { containerPaths } from './container-paths';
import { ContainerStore } from './container-store';

const MAX_SYMLINK_HOPS = 40;

/** A tar written into a container or onto the host is plain files: whiteouts are refused. */
const NO_WHITEOUTS: WhiteoutDriver = {
  applyWhiteout: async (_dir, rel) => {
    throw new UnsafeLayerError(rel, 'is a whiteout; copies cannot delete files');
  },
  applyOpaque: async (_dir, rel) => {
    throw new UnsafeLayerError(rel, 'is an opaque-directory marker; copies cannot delete files');
  },
};

function splitPath(p: string): string[] {
  return p.split('/').filter((c) => c !== '' && c !== '.');
}

/**
 * The host path of containerPath inside root, resolving symlinks (and `..`) as if root were
 * `/`. The last component is followed only when followLast; missing components are kept as
 * they are (the caller sees ENOENT).
 */
export function resolveInRoot(root: string, containerPath: string, followLast: boolean): string {
  const queue = splitPath(containerPath);
  let cur: string[] = [];
  let hops = 0;
  while (queue.length > 0) {
    const part = queue.shift() as string;
    if (part === '..') {
      cur.pop();
      continue;
    }
    const candidate = [...cur, part];
    const host = path.join(root, ...candidate);
    const st = fs.lstatSync(host, { throwIfNoEntry: false });
    if (st?.isSymbolicLink() && (queue.length > 0 || followLast)) {
      if (++hops > MAX_SYMLINK_HOPS) throw new InvalidArgumentError(`${containerPath}: too many levels of symbolic links`);
      const target = fs.readlinkSync(host);
      if (target.startsWith('/')) cur = [];
      queue.unshift(...splitPath(target));
      continue;
    }
    cur = candidate;
  }
  return cur.length === 0 ? root : path.join(root, ...cur);
}

/** A container's root filesystem, mounted for the time of a copy when the container is not running. */
export interface MountedRoot {
  container: Container;
  root: string;
  /** bind mounts and volumes: what the container sees there is on the host, not in root */
  mounts: PathMount[];
  release(): Promise<void>;
}

export interface PathMount {
  /** absolute path in the container */
  destination: string;
  /** host directory (or file) mounted there */
  source: string;
}

function pathMounts(engine: Engine, container: Container): PathMount[] {
  const volumes = new VolumeStore(engine.db, engine.config.graphRoot);
  const out: PathMount[] = [];
  for (const m of container.config.mounts) {
    const source = m.type === 'bind' ? m.source : m.type === 'volume' && m.source ? volumes.get(m.source)?.mountpoint : undefined;
    if (source) out.push({ destination: path.posix.normalize(`/${m.destination}`).replace(/\/+$/, '') || '/', source });
  }
  return out;
}

/**
 * resolveInRoot for a container: a path under a bind mount or volume resolves in the mount's
 * source (within it, as in the root), where the container's process sees it.
 */
export function resolveInContainer(root: string, mounts: readonly PathMount[], containerPath: string, followLast: boolean): string {
  const resolved = resolveInRoot(root, containerPath, followLast);
  const inContainer = `/${path.relative(root, resolved)}`;
  let best: PathMount | undefined;
  for (const m of mounts) {
    if (inContainer === m.destination || inContainer.startsWith(`${m.destination}/`)) {
      if (!best || m.destination.length > best.destination.length) best = m;
    }
  }
  if (!best) return resolved;
  return resolveInRoot(best.source, inContainer.slice(best.destination.length), followLast);
}

/**
 * A running container's root is its mount. A stopped one gets a mount of its own for the copy,
 * at a private target: the exit hook of a container that just ended (`container cleanup`, run
 * by the monitor without waiting) may unmount the usual target at any moment.
 */
export async function mountContainerRoot(engine: Engine, nameOrId: string): Promise<MountedRoot> {
  const store = new ContainerStore(engine.db);
  const container = await refreshContainer(engine, store.require<ContainerConfig, ContainerRuntimeState>(nameOrId));
  const paths = containerPaths(engine.config, container.id);
  const driver = await engine.driver();
  const mounts = pathMounts(engine, container);
  const running = container.status === 'running' || container.status === 'paused' || container.status === 'stopping';
  if (running && driver.isMounted(paths.rootfs)) return { container, root: paths.rootfs, mounts, release: async () => undefined };
  const image = engine.images.get(container.config.imageId);
  if (!image) throw new ConflictError(`the image of container ${container.name} (${container.config.imageId}) is gone`);
  const layers = await engine.layers();
  let lowers = image.topLayer ? layers.lowerDirs(image.topLayer) : [];
  if (lowers.length === 0) {
    const empty = path.join(engine.config.graphRoot, 'empty-layer');
    fs.mkdirSync(empty, { recursive: true, mode: 0o755 });
    lowers = [empty];
  }
  // a stopped container's leftover mount would share the upper dir with ours
  if (driver.isMounted(paths.rootfs)) await driver.unmount(paths.rootfs);
  const target = path.join(paths.home, `copy-${process.pid}`);
  await driver.mount({ lowers, upper: paths.upper, work: paths.work, target });
  return {
    container,
    root: target,
    mounts,
    release: async () => {
      await driver.unmount(target);
      // never recursive: were the unmount to fail, that would delete the container's files
      try {
        fs.rmdirSync(target);
      } catch (err) {
        log.debug(`leaving ${target}: ${(err as Error).message}`);
      }
    },
  };
}

/**
 * Rewrites a tar on the fly: fn gets each header (names without a trailing slash) and returns
 * the header to write, or undefined to drop the entry.
 */
export function rewriteTar(input: Readable, fn: (h: tar.Header) => tar.Header | undefined): Readable {
  const extract = tar.extract();
  const pack = tar.pack();
  extract.on('entry', (header, stream, next) => {
    const h = fn({ ...header, name: header.name.replace(/\/+$/, '') });
    if (h === undefined || (h.type !== 'file' && h.type !== 'contiguous-file')) {
      stream.resume();
      stream.on('end', () => {
        if (h === undefined) return next();
        pack.entry(h, (err) => next(err ?? undefined));
      });
      return;
    }
    stream.pipe(pack.entry(h, (err) => next(err ?? undefined)));
  });
  extract.on('finish', () => pack.finalize());
  extract.on('error', (err) => pack.destroy(err));
  input.on('error', (err) => extract.destroy(err));
  input.pipe(extract);
  // tar-stream's streams are streamx ones: hand out a Node stream
  const out = new PassThrough();
  pack.on('error', (err: Error) => out.destroy(err));
  pack.pipe(out);
  return out;
}

/** Renames the tar's top entry `from` (and everything under it) to `to`; `to` '' drops the top entry, keeping its contents. */
function rebase(name: string, from: string, to: string): string | undefined {
  if (name === from) return to === '' ? undefined : to;
  if (name.startsWith(`${from}/`)) return to === '' ? name.slice(from.length + 1) : `${to}${name.slice(from.length)}`;
  return name;
}

function rebaseHeaders(from: string, to: string, owner: { uid: number; gid: number } | undefined): (h: tar.Header) => tar.Header | undefined {
  return (h) => {
    const name = rebase(h.name, from, to);
    if (name === undefined) return undefined;
    const out: tar.Header = { ...h, name, pax: undefined };
    if (h.type === 'link' && h.linkname) out.linkname = rebase(h.linkname.replace(/\/+$/, ''), from, to) ?? h.linkname;
    if (owner) {
      out.uid = owner.uid;
      out.gid = owner.gid;
      out.uname = '';
      out.gname = '';
    }
    return out;
  };
}

/** A tar of hostPath named `name` at its top. */
function packPath(hostPath: string, name: string): Readable {
  const base = path.basename(hostPath);
  const packed = tarFs.pack(path.dirname(hostPath), { entries: [base] }) as unknown as Readable;
  return rewriteTar(packed, rebaseHeaders(base, name, undefined));
}

function statOrUndefined(p: string): fs.Stats | undefined {
  return fs.statSync(p, { throwIfNoEntry: false });
}

/** Where a copy lands: an existing directory to extract into, and the name the source's top gets there ('' = its contents). */
interface Destination {
  dir: string;
  name: string;
}

/** Docker's rules (archive.CopyInfoDestinationPath), for a source that is a directory or not. */
function destinationFor(dstHost: string, dstArg: string, srcIsDir: boolean, srcArg: string, srcBase: string): Destination {
  const st = statOrUndefined(dstHost);
  const contentsOnly = /(^|\/)\.$/.test(srcArg) || splitPath(srcArg).length === 0;
  if (st?.isDirectory()) {
    if (srcIsDir && contentsOnly) return { dir: dstHost, name: '' };
    return { dir: dstHost, name: srcBase };
  }
  if (st) {
    if (srcIsDir) throw new InvalidArgumentError(`cannot copy a directory to a file: ${dstArg}`);
    return { dir: path.dirname(dstHost), name: path.basename(dstHost) };
  }
  if (dstArg.endsWith('/') && !srcIsDir) throw new InvalidArgumentError(`${dstArg}: no such directory`);
  const parent = path.dirname(dstHost);
  if (!statOrUndefined(parent)?.isDirectory()) throw new InvalidArgumentError(`${path.dirname(dstArg) || '.'}: no such file or directory`);
  return { dir: parent, name: path.basename(dstHost) };
}

function sourceBase(srcArg: string): string {
  const parts = splitPath(srcArg);
  const last = parts[parts.length - 1];
  return last === undefined || last === '..' ? '' : last;
}

export interface CopyOptions {
  /** -a: keep the source's uid/gid (into a container) */
  archive?: boolean;
  /** -L: follow a symlink given as the source */
  followLink?: boolean;
}

/** Whether the source path asks to be followed (trailing `/` or `/.`) besides -L. */
function followsSource(srcArg: string, opts: CopyOptions): boolean {
  return Boolean(opts.followLink) || srcArg.endsWith('/') || /(^|\/)\.$/.test(srcArg);
}

/** A tar of a path in a container (top entry named after the path), as `cp NAME:PATH -` writes it. */
export async function copyFromContainerStream(engine: Engine, nameOrId: string, srcArg: string, opts: CopyOptions = {}): Promise<{ stream: Readable; done: Promise<void> }> {
  const mounted = await mountContainerRoot(engine, nameOrId);
  try {
    const host = resolveInContainer(mounted.root, mounted.mounts, srcArg, followsSource(srcArg, opts));
    const st = fs.lstatSync(host, { throwIfNoEntry: false });
    if (!st) throw new NotFoundError(`could not find "${srcArg}" in container ${mounted.container.name}: no such file or directory`);
    if (srcArg.endsWith('/') && !st.isDirectory()) throw new InvalidArgumentError(`"${srcArg}" in container ${mounted.container.name}: not a directory`);
    const stream = packPath(host, sourceBase(srcArg) || (host === mounted.root ? '.' : path.basename(host)));
    const done = new Promise<void>((resolve) => stream.on('close', resolve)).finally(() => mounted.release());
    return { stream, done };
  } catch (err) {
    await mounted.release();
    throw err;
  }
}

async function applyCopy(stream: Readable, dir: string, what: string): Promise<void> {
  try {
    await applyTar(stream, dir, NO_WHITEOUTS);
  } catch (err) {
    if (err instanceof TspodError) throw new TspodError(`copying to ${what}: ${err.message}`, err.exitCode);
    throw err;
  }
}

/** `cp NAME:SRC HOSTDST`; HOSTDST `-` is handled by the caller with copyFromContainerStream. */
export async function copyFromContainer(engine: Engine, nameOrId: string, srcArg: string, dstArg: string, opts: CopyOptions = {}): Promise<void> {
  const mounted = await mountContainerRoot(engine, nameOrId);
  try {
    const host = resolveInContainer(mounted.root, mounted.mounts, srcArg, followsSource(srcArg, opts));
    const st = fs.lstatSync(host, { throwIfNoEntry: false });
    if (!st) throw new NotFoundError(`could not find "${srcArg}" in container ${mounted.container.name}: no such file or directory`);
    if (srcArg.endsWith('/') && !st.isDirectory()) throw new InvalidArgumentError(`"${srcArg}" in container ${mounted.container.name}: not a directory`);
    const dstHost = path.resolve(dstArg);
    const base = sourceBase(srcArg) || path.basename(host);
    const dest = destinationFor(dstHost, dstArg, st.isDirectory(), srcArg, base);
    // the host side is the caller's own: a symlinked destination directory is followed
    dest.dir = fs.realpathSync(dest.dir);
    const caller = { uid: process.geteuid?.() ?? 0, gid: process.getegid?.() ?? 0 };
    const tarFrom = base;
    const packed = packPath(host, tarFrom);
    await applyCopy(rewriteTar(packed, rebaseHeaders(tarFrom, dest.name, caller)), dest.dir, dstArg);
  } finally {
    await mounted.release();
  }
}

/** `cp HOSTSRC NAME:DST`, or `cp - NAME:DST` with a tar on input (DST must be a directory). */
export async function copyToContainer(engine: Engine, nameOrId: string, srcArg: string, dstArg: string, opts: CopyOptions & { stdin?: Readable } = {}): Promise<void> {
  const owner = opts.archive ? undefined : { uid: 0, gid: 0 };
  let srcHost: string | undefined;
  let srcSt: fs.Stats | undefined;
  if (srcArg !== '-') {
    srcHost = path.resolve(srcArg);
    if (followsSource(srcArg, opts)) srcHost = fs.existsSync(srcHost) ? fs.realpathSync(srcHost) : srcHost;
    srcSt = fs.lstatSync(srcHost, { throwIfNoEntry: false });
    if (!srcSt) throw new NotFoundError(`"${srcArg}" could not be found on the host: no such file or directory`);
  }
  const mounted = await mountContainerRoot(engine, nameOrId);
  try {
    const dstHost = resolveInContainer(mounted.root, mounted.mounts, dstArg, true);
    const what = `${mounted.container.name}:${dstArg}`;
    if (srcHost === undefined || srcSt === undefined) {
      const st = statOrUndefined(dstHost);
      if (!st) throw new NotFoundError(`${dstArg}: no such file or directory in container ${mounted.container.name}`);
      if (!st.isDirectory()) throw new InvalidArgumentError(`destination "${dstArg}" must be a directory when copying from stdin`);
      const input = opts.stdin ?? process.stdin;
      await applyCopy(rewriteTar(input, (h) => (owner ? { ...h, uid: owner.uid, gid: owner.gid, uname: '', gname: '', pax: undefined } : { ...h, pax: undefined })), dstHost, what);
      return;
    }
    // -L copies the target under the name of the link, as Docker does
    const base = path.basename(path.resolve(srcArg)) || path.basename(srcHost);
    const dest = destinationFor(dstHost, dstArg, srcSt.isDirectory(), srcArg, base);
    const dirSt = fs.lstatSync(dest.dir);
    if (!dirSt.isDirectory()) throw new InvalidArgumentError(`${dstArg}: not a directory`);
    await applyCopy(rewriteTar(packPath(srcHost, base), rebaseHeaders(base, dest.name, owner)), dest.dir, what);
    log.debug(`copied ${srcArg} to ${what}`);
  } finally {
    await mounted.release();
  }
}

/** `export`: the container's whole filesystem as a tar. */
export async function exportContainer(engine: Engine, nameOrId: string): Promise<{ stream: Readable; done: Promise<void> }> {
  const mounted = await mountContainerRoot(engine, nameOrId);
  try {
    const out = new PassThrough();
    const stream = tarLayerDir(mounted.root, { name: 'vfs' });
    stream.on('error', (err) => out.destroy(err));
    stream.pipe(out);
    const done = new Promise<void>((resolve) => out.on('close', resolve)).finally(() => mounted.release());
    return { stream: out, done };
  } catch (err) {
    await mounted.release();
    throw err;
  }
}
