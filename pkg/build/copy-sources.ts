// COPY --from / RUN --mount=from= sources in an image's root (another stage, or an image),
// in the shape source-hash.ts gives context sources (SourceFile), so one copy routine serves
// both. Unlike the context, a root is an image's tree: its symlinks are followed inside it
// (resolveInRoot), never out of it, a leading `/` or `..` cannot climb above it, and nothing
// is ignored. Globs follow Go's filepath.Match per path element, as in the context.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { NotFoundError } from '../errors';
import { resolveInRoot } from '../runtime/container-user';
import type { BuildContext } from './build-context';
import { resolveSources, SourceFile } from './source-hash';

const GLOB_CHARS = /[*?[]/;

/** Go's filepath.Match for one path element, as a regular expression. */
export function componentRegex(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '\\' && i + 1 < pattern.length) re += `\\${pattern[++i]}`;
    else if (c === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close < 0) throw new NotFoundError(`invalid pattern ${JSON.stringify(pattern)}: unterminated [`);
      re += `[${pattern.slice(i + 1, close).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
      i = close;
    } else re += c.replace(/[.+^${}()|\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

function entry(source: string, rel: string, abs: string, name: string): SourceFile | undefined {
  const st = fs.lstatSync(abs);
  const type = st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'directory' : st.isFile() ? 'file' : undefined;
  if (!type) return undefined; // devices, fifos and sockets are not copied
  return {
    source, path: rel, abs, name, type, mode: st.mode, uid: st.uid, gid: st.gid, size: type === 'file' ? st.size : 0, mtimeMs: st.mtimeMs,
    ...(type === 'symlink' ? { linkTarget: fs.readlinkSync(abs) } : {}),
  };
}

/** The matched item and, for a directory, everything under it (parents first). */
function collect(source: string, rel: string, abs: string, name: string, out: SourceFile[]): void {
  const e = entry(source, rel, abs, name);
  if (!e) return;
  out.push(e);
  if (e.type !== 'directory') return;
  for (const child of fs.readdirSync(abs).sort()) collect(source, `${rel}/${child}`, path.join(abs, child), name === '' ? child : `${name}/${child}`, out);
}

/** The files one source pattern names in an image root; a pattern matching nothing is an error, as in Docker. */
export function rootSources(root: string, pattern: string): SourceFile[] {
  const rel = path.posix.normalize(`/${pattern}`).replace(/^\/+/, '');
  let current = [''];
  for (const part of rel === '' ? [] : rel.split('/')) {
    const next: string[] = [];
    for (const dir of current) {
      if (!GLOB_CHARS.test(part)) {
        next.push(dir === '' ? part : `${dir}/${part}`);
        continue;
      }
      const re = componentRegex(part);
      let names: string[] = [];
      try {
        names = fs.readdirSync(resolveInRoot(root, dir));
      } catch {
        // not a directory: no matches under it
      }
      for (const name of names.sort()) if (re.test(name)) next.push(dir === '' ? name : `${dir}/${name}`);
    }
    current = next;
  }
  const out: SourceFile[] = [];
  for (const r of current) {
    const abs = resolveInRoot(root, r);
    const st = fs.statSync(abs, { throwIfNoEntry: false });
    if (!st) continue;
    collect(pattern, r === '' ? '.' : r, abs, st.isDirectory() ? '' : path.posix.basename(r), out);
  }
  if (out.length === 0) throw new NotFoundError(`"${pattern}": no such file or directory in the source image`);
  return out;
}

/** Where COPY/RUN --mount sources come from: the build context, or an image's root. */
export type SourceRoot = { kind: 'context'; ctx: BuildContext } | { kind: 'root'; root: string };

/** The files one source pattern names. */
export function resolveIn(root: SourceRoot, pattern: string): SourceFile[] {
  return root.kind === 'context' ? resolveSources(root.ctx, [pattern]) : rootSources(root.root, pattern);
}

/** How many things the sources name (a directory counts once): more than one makes the destination a directory. */
export function topLevelCount(files: readonly SourceFile[]): number {
  let count = 0;
  let dirSource: string | undefined;
  for (const f of files) {
    if (dirSource === f.source && f.name !== '') continue;
    dirSource = f.type === 'directory' && f.name === '' ? f.source : undefined;
    count++;
  }
  return count;
}
