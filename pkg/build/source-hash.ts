// COPY/ADD sources in the build context: each source argument resolved to the files it
// names (globs with Go filepath.Match rules per path element, a directory standing for its
// content), nothing outside the context (by `..` or through a symlink), nothing the ignore
// rules exclude; and the content hash that is those files' part of the step's cache key.

import { createHash } from 'node:crypto';
import { closeSync, lstatSync, openSync, readSync, readdirSync, readlinkSync, realpathSync, Stats } from 'node:fs';
import { join, posix, sep } from 'node:path';
import { InvalidArgumentError } from '../errors';
import type { BuildContext } from './build-context';

export interface SourceFile {
  /** The source argument this entry was found by. */
  source: string;
  /** Slash-separated path relative to the context ('.' for the context itself). */
  path: string;
  abs: string;
  /**
   * Where it lands relative to the destination: a file source's base name; for a directory
   * source, the path inside that directory ('' for the directory itself, whose content is copied).
   */
  name: string;
  type: 'file' | 'directory' | 'symlink';
  /** Full st_mode (type and permission bits). */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeMs: number;
  linkTarget?: string;
}

/** A source that cannot be used: missing, outside the context, or matching nothing. */
export class SourceError extends InvalidArgumentError {}

const GLOB_META = /[*?[\\]/;

function typeOf(st: Stats): SourceFile['type'] | undefined {
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isDirectory()) return 'directory';
  if (st.isFile()) return 'file';
  return undefined; // sockets, fifos, devices are not copied (as Docker skips them)
}

/** The context-relative, cleaned path of a source argument; refuses one that climbs out. */
function contextPath(source: string): string {
  const rel = posix.normalize(source.replace(/^\/+/, '') || '.');
  const cleaned = rel.endsWith('/') && rel.length > 1 ? rel.slice(0, -1) : rel;
  if (cleaned === '..' || cleaned.startsWith('../')) {
    throw new SourceError(`forbidden path outside the build context: ${source}: sources must be inside the context directory`);
  }
  return cleaned;
}

/** Go's filepath.Match for one path element (no `/` in either). */
function segmentRegex(segment: string): RegExp {
  let re = '';
  for (let i = 0; i < segment.length; i++) {
    const ch = segment[i];
    if (ch === '*') re += '.*';
    else if (ch === '?') re += '.';
    else if (ch === '\\' && i + 1 < segment.length) re += '\\' + segment[++i];
    else if (ch === '[') {
      const end = segment.indexOf(']', i + 2);
      if (end < 0) throw new SourceError(`syntax error in pattern ${segment}`);
      re += '[' + segment.slice(i + 1, end).replace(/^!/, '^') + ']';
      i = end;
    } else re += ch.replace(/[.+()|{}$^]/, '\\$&');
  }
  return new RegExp(`^${re}$`, 's');
}

class SourceWalker {
  private readonly root: string;

  constructor(private readonly ctx: BuildContext) {
    this.root = realpathSync(ctx.dir);
  }

  private ignored(path: string): boolean {
    return path !== '.' && this.ctx.ignore.ignores(path);
  }

  /** Follows the named path's symlinks, refusing one that leads out of the context. */
  private resolveNamed(source: string, path: string): { path: string; abs: string } {
    const abs = path === '.' ? this.root : join(this.root, path);
    let real: string;
    try {
      real = realpathSync(abs);
    } catch {
      throw this.notFound(source, path);
    }
    if (real !== this.root && !real.startsWith(this.root + sep)) {
      throw new SourceError(`forbidden path outside the build context: ${source} resolves to ${real}`);
    }
    const relReal = real === this.root ? '.' : real.slice(this.root.length + 1).split(sep).join('/');
    if (relReal !== path && this.ignored(path)) throw this.notFound(source, path); // an ignored symlink is not in the context
    return { path: relReal, abs: real };
  }

  private notFound(source: string, path: string): SourceError {
    const why = path !== '.' && this.ctx.ignore.ignores(path) ? ` (excluded by ${this.ctx.ignore.source ?? '.dockerignore'})` : '';
    return new SourceError(`"${source}": not found in the build context${why}`);
  }

  private entry(source: string, path: string, abs: string, name: string, st: Stats): SourceFile | undefined {
    const type = typeOf(st);
    if (!type) return undefined;
    return {
      source, path, abs, name, type, mode: st.mode, uid: st.uid, gid: st.gid, size: type === 'file' ? st.size : 0, mtimeMs: st.mtimeMs,
      ...(type === 'symlink' ? { linkTarget: readlinkSync(abs) } : {}),
    };
  }

  /** The named item and, for a directory, everything under it that is not ignored. */
  collect(source: string, path: string, abs: string, name: string, out: SourceFile[]): void {
    if (!this.collectEntry(source, path, abs, name, out)) throw this.notFound(source, path);
  }

  /**
   * Adds an entry (and a directory's content); false when nothing was added because it is
   * ignored. An ignored directory still counts when an exception (`!dir/keep`) brings back
   * something inside it.
   */
  private collectEntry(source: string, path: string, abs: string, name: string, out: SourceFile[]): boolean {
    const st = lstatSync(abs);
    const ignored = this.ignored(path);
    if (ignored && !(st.isDirectory() && this.ctx.ignore.hasExclusions)) return false;
    const e = this.entry(source, path, abs, name, st);
    if (!e) return true;
    if (e.type !== 'directory') {
      out.push(e);
      return true;
    }
    const inner: SourceFile[] = [];
    for (const child of readdirSync(abs).sort()) {
      const childPath = path === '.' ? child : `${path}/${child}`;
      this.collectEntry(source, childPath, join(abs, child), name === '' ? child : `${name}/${child}`, inner);
    }
    if (ignored && inner.length === 0) return false;
    out.push(e, ...inner);
    return true;
  }

  /** Context paths matching a glob, one path element at a time; symlinks are matched, not followed. */
  glob(segments: string[], dir = '.', dirAbs = this.root): { path: string; abs: string }[] {
    const [first, ...rest] = segments;
    const names = GLOB_META.test(first) ? readdirSync(dirAbs).filter((n) => segmentRegex(first).test(n)) : [first.replace(/\\(.)/g, '$1')];
    const found: { path: string; abs: string }[] = [];
    for (const n of names.sort()) {
      const path = dir === '.' ? n : `${dir}/${n}`;
      const abs = join(dirAbs, n);
      let st: Stats;
      try {
        st = lstatSync(abs);
      } catch {
        continue;
      }
      if (this.ignored(path) && !(st.isDirectory() && this.ctx.ignore.hasExclusions && rest.length > 0)) continue;
      if (rest.length === 0) found.push({ path, abs });
      else if (st.isDirectory()) found.push(...this.glob(rest, path, abs));
    }
    return found;
  }

  resolve(source: string): SourceFile[] {
    const path = contextPath(source);
    const out: SourceFile[] = [];
    if (!GLOB_META.test(path)) {
      const named = this.resolveNamed(source, path);
      const isDir = lstatSync(named.abs).isDirectory();
      this.collect(source, named.path, named.abs, isDir ? '' : posix.basename(path), out);
      return out;
    }
    const matches = path === '.' ? [] : this.glob(path.split('/'));
    if (matches.length === 0) throw new SourceError(`no source files were specified: nothing in the build context matches "${source}"`);
    for (const m of matches) {
      const named = this.resolveNamed(source, m.path);
      const isDir = lstatSync(named.abs).isDirectory();
      this.collect(source, named.path, named.abs, isDir ? '' : posix.basename(m.path), out);
    }
    return out;
  }
}

/**
 * Resolves COPY/ADD source arguments (not URLs: the caller fetches those) to the files they
 * name, in a stable order. Throws SourceError for a source outside the context, missing,
 * excluded by .dockerignore, or a glob matching nothing.
 */
export function resolveSources(ctx: BuildContext, patterns: string[]): SourceFile[] {
  const walker = new SourceWalker(ctx);
  return patterns.flatMap((p) => walker.resolve(p));
}

// Content digests by file identity, so one build hashing the same file twice reads it once.
const contentDigests = new Map<string, string>();
const CHUNK = 1 << 20;

function contentDigest(file: SourceFile): string {
  const st = lstatSync(file.abs, { bigint: true });
  const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  const known = contentDigests.get(key);
  if (known) return known;
  const hash = createHash('sha256');
  const fd = openSync(file.abs, 'r');
  try {
    const buf = Buffer.allocUnsafe(Math.min(CHUNK, Math.max(1, Number(st.size))));
    for (let n = readSync(fd, buf, 0, buf.length, null); n > 0; n = readSync(fd, buf, 0, buf.length, null)) hash.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  const digest = hash.digest('hex');
  contentDigests.set(key, digest);
  return digest;
}

/**
 * The cache-key part of a COPY/ADD's sources: names (where each lands and where it came
 * from), types, permission bits, content, link targets, and the owner unless --chown
 * replaces it. Modification times are left out, as Docker leaves them out.
 */
export function hashSources(files: SourceFile[], options: { includeOwnership?: boolean } = {}): string {
  const includeOwnership = options.includeOwnership ?? true;
  const hash = createHash('sha256');
  for (const f of files) {
    const owner = includeOwnership ? `${f.uid}:${f.gid}` : '';
    const content = f.type === 'file' ? contentDigest(f) : f.type === 'symlink' ? `-> ${f.linkTarget}` : '';
    hash.update(`${f.source}\0${f.path}\0${f.name}\0${f.type}\0${(f.mode & 0o7777).toString(8)}\0${owner}\0${content}\n`);
  }
  return `sha256:${hash.digest('hex')}`;
}
