// COPY and ADD writing into a working container's root. Docker's rules: several sources, a
// glob or a destination ending in "/" make the destination a directory; a directory source
// copies its content, not itself; a relative destination is under WORKDIR; missing parents are
// created. Owners: --chown (names looked up in the destination's /etc/passwd and /etc/group;
// a user without group gets the same number as group, as Docker documents), else root for
// context files and the original owner for --from files. Modes and mtimes are kept, --chmod
// replaces the mode. Every path in the root is resolved with its symlinks followed inside the
// root (resolveInRoot), so an image's `/app -> /etc` link cannot send a file onto the host.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError } from '../errors';
import { parseGroup, parsePasswd, readContainerFile, resolveContainerUser, resolveInRoot } from '../runtime/container-user';
import type { SourceFile } from './source-hash';

export interface Ownership {
  uid: number;
  gid: number;
}

export interface CopyOptions {
  /** the root of the working container */
  rootfs: string;
  /** absolute, in the container */
  dest: string;
  /** the destination is a directory (trailing slash, several sources, a glob) */
  destIsDir: boolean;
  chown?: Ownership;
  chmod?: number;
  /** context files belong to root unless --chown says otherwise */
  resetOwner: boolean;
}

/** --chown=user[:group] against the destination's passwd and group files. */
export function resolveChown(rootfs: string, spec: string): Ownership {
  const [user, group] = spec.split(':', 2);
  const lookup = (name: string, file: string, parse: (t: string) => { name: string }[], kind: string): number => {
    if (/^\d+$/.test(name)) return Number(name);
    const entries = parse(readContainerFile(rootfs, file) ?? '') as ({ name: string; uid?: number; gid?: number })[];
    const found = entries.find((e) => e.name === name);
    if (!found) throw new InvalidArgumentError(`unable to convert ${kind} ${JSON.stringify(name)} to an id: no such ${kind} in ${file}`);
    return (kind === 'user' ? found.uid : found.gid) as number;
  };
  const uid = lookup(user, '/etc/passwd', parsePasswd, 'user');
  const gid = group === undefined || group === '' ? uid : lookup(group, '/etc/group', parseGroup, 'group');
  return { uid, gid };
}

/** --chmod=0755 (octal only, as Docker takes it). */
export function parseChmod(spec: string): number {
  if (!/^[0-7]{3,4}$/.test(spec)) throw new InvalidArgumentError(`invalid --chmod ${JSON.stringify(spec)}: use an octal mode such as 0755`);
  return parseInt(spec, 8);
}

/** The host path of an absolute container path, its parent dirs created (owned as `owner`). */
function ensureParents(rootfs: string, containerPath: string, owner: Ownership | undefined): string {
  const parent = path.posix.dirname(containerPath);
  if (parent !== containerPath) ensureDir(rootfs, parent, owner);
  return resolveInRoot(rootfs, containerPath);
}

function ensureDir(rootfs: string, containerPath: string, owner: Ownership | undefined, mode = 0o755): string {
  const host = resolveInRoot(rootfs, containerPath);
  const st = fs.statSync(host, { throwIfNoEntry: false });
  if (st?.isDirectory()) return host;
  if (st) throw new InvalidArgumentError(`cannot copy to ${containerPath}: it exists and is not a directory`);
  ensureParents(rootfs, containerPath, owner);
  fs.mkdirSync(host, { mode });
  fs.chmodSync(host, mode);
  if (owner) fs.chownSync(host, owner.uid, owner.gid);
  return host;
}

function ownerOf(opts: CopyOptions, st: fs.Stats): Ownership {
  if (opts.chown) return opts.chown;
  return opts.resetOwner ? { uid: 0, gid: 0 } : { uid: st.uid, gid: st.gid };
}

/** One file, symlink or (empty) directory at `containerPath`, replacing what was there. */
function placeEntry(opts: CopyOptions, abs: string, st: fs.Stats, containerPath: string): void {
  const owner = ownerOf(opts, st);
  if (st.isDirectory()) {
    const host = ensureDir(opts.rootfs, containerPath, opts.chown);
    fs.chmodSync(host, opts.chmod ?? st.mode & 0o7777);
    fs.chownSync(host, owner.uid, owner.gid);
    fs.utimesSync(host, st.atime, st.mtime);
    return;
  }
  const host = ensureParents(opts.rootfs, containerPath, opts.chown);
  const existing = fs.lstatSync(host, { throwIfNoEntry: false });
  if (existing?.isDirectory()) throw new InvalidArgumentError(`cannot copy ${path.basename(abs)} to ${containerPath}: a directory is there`);
  if (existing) fs.rmSync(host);
  if (st.isSymbolicLink()) {
    fs.symlinkSync(fs.readlinkSync(abs), host);
    fs.lchownSync(host, owner.uid, owner.gid);
    fs.lutimesSync(host, st.atime, st.mtime);
    return;
  }
  if (!st.isFile()) return; // devices, fifos and sockets are not copied
  fs.copyFileSync(abs, host);
  fs.chownSync(host, owner.uid, owner.gid);
  fs.chmodSync(host, opts.chmod ?? st.mode & 0o7777);
  fs.utimesSync(host, st.atime, st.mtime);
}

/**
 * Copies resolved sources (source-hash.ts's order: each source's entries together, a
 * directory first with name "") to opts.dest: a directory's content lands under dest, a file
 * at dest itself or, when dest is a directory, under its base name.
 */
export function copyFiles(files: readonly SourceFile[], opts: CopyOptions): void {
  let dirSource: string | undefined;
  for (const f of files) {
    if (f.type === 'directory' && f.name === '') {
      dirSource = f.source;
      ensureDir(opts.rootfs, opts.dest, opts.chown);
      continue;
    }
    const st = fs.lstatSync(f.abs);
    const inDir = dirSource === f.source;
    const target = inDir || opts.destIsDir ? path.posix.join(opts.dest, f.name) : opts.dest;
    placeEntry(opts, f.abs, st, target);
  }
}

/** COPY <<EOF /file: the heredoc's body as a new file (0644 unless --chmod). */
export function writeHeredocFile(opts: CopyOptions, name: string, content: string): void {
  const target = opts.destIsDir ? path.posix.join(opts.dest, name) : opts.dest;
  const host = ensureParents(opts.rootfs, target, opts.chown);
  const existing = fs.lstatSync(host, { throwIfNoEntry: false });
  if (existing && !existing.isDirectory()) fs.rmSync(host);
  fs.writeFileSync(host, content, { mode: opts.chmod ?? 0o644 });
  fs.chmodSync(host, opts.chmod ?? 0o644);
  const owner = opts.chown ?? { uid: 0, gid: 0 };
  fs.chownSync(host, owner.uid, owner.gid);
}

/** The directory WORKDIR names, created when missing (owned by root, 0755). */
/** What WORKDIR creates belongs to the USER of the moment, as BuildKit and Buildah make it
 * (a `USER app` + `WORKDIR /home/app/data` can then write there); root's without a USER. */
export function makeWorkdir(rootfs: string, dir: string, user?: string): void {
  let owner: Ownership | undefined;
  try {
    owner = user ? resolveContainerUser(rootfs, user) : undefined;
  } catch {
    owner = undefined; // a USER the image does not know yet: a RUN would say so; root's, as before
  }
  ensureDir(rootfs, dir, owner && { uid: owner.uid, gid: owner.gid });
}
