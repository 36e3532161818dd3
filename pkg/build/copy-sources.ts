// The sources of COPY/ADD in a tree: the build context, another stage's root or an image's
// root. A pattern is a path or a glob (Go's filepath.Match per component: `*`, `?`, `[...]`),
// relative to the tree's root whatever its leading slash. In the context, a path that leaves
// it is refused and .dockerignore'd paths are invisible; in a stage or image root, symlinks on
// the way are followed inside that root, never out of it.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError, NotFoundError } from '../errors';
import { resolveInRoot } from '../runtime/container-user';

export interface SourceTree {
  root: string;
  /** the build context: paths outside are refused, ignored paths skipped */
  context: boolean;
  /** relative path (no leading slash) → ignored by .dockerignore */
  ignores?: (rel: string) => boolean;
}

/** One match of a pattern: a file, symlink or directory (whose content is copied). */
export interface SourceMatch {
  /** host path */
  abs: string;
  /** path relative to the tree's root */
  rel: string;
  st: fs.Stats;
}

const GLOB_CHARS = /[*?[]/;

/** Go's filepath.Match for one path component, as a regular expression. */
export function componentRegex(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '\\' && i + 1 < pattern.length) re += `\\${pattern[++i]}`;
    else if (c === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close < 0) throw new InvalidArgumentError(`invalid pattern ${JSON.stringify(pattern)}: unterminated [`);
      let body = pattern.slice(i + 1, close);
      if (body.startsWith('^') || body.startsWith('!')) body = `^${body.slice(1)}`;
      re += `[${body.replace(/\\/g, '\\\\')}]`;
      i = close;
    } else re += c.replace(/[.+^${}()|\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** The relative, normalized form of a pattern; null when it leaves the root. */
function normalizePattern(pattern: string): string | null {
  const n = path.posix.normalize(`/${pattern}`);
  if (n.startsWith('/..')) return null;
  return n.replace(/^\/+/, '');
}

function isIgnored(tree: SourceTree, rel: string): boolean {
  return tree.ignores !== undefined && rel !== '' && tree.ignores(rel);
}

function hostPath(tree: SourceTree, rel: string): string {
  if (tree.context) return rel === '' ? tree.root : path.join(tree.root, rel);
  return resolveInRoot(tree.root, rel);
}

/** The matches of one pattern; a pattern that matches nothing is an error, as in Docker. */
export function matchPattern(tree: SourceTree, pattern: string, what: string): SourceMatch[] {
  const rel = normalizePattern(pattern);
  const leaves = path.posix.normalize(pattern.replace(/^\/+/, '') || '.').split('/')[0] === '..';
  if (rel === null || (tree.context && leaves)) {
    throw new InvalidArgumentError(`${what}: forbidden path outside the build context: ${pattern}`);
  }
  const parts = rel === '' ? [] : rel.split('/');
  let current: string[] = [''];
  for (const part of parts) {
    const next: string[] = [];
    for (const dir of current) {
      if (!GLOB_CHARS.test(part)) {
        next.push(dir === '' ? part : `${dir}/${part}`);
        continue;
      }
      const re = componentRegex(part);
      let names: string[];
      try {
        names = fs.readdirSync(hostPath(tree, dir));
      } catch {
        continue;
      }
      for (const name of names.sort()) if (re.test(name)) next.push(dir === '' ? name : `${dir}/${name}`);
    }
    current = next;
  }
  const out: SourceMatch[] = [];
  for (const r of current) {
    if (isIgnored(tree, r)) continue;
    const abs = hostPath(tree, r);
    if (tree.context && r !== '') {
      // a symlink on the way may not lead out of the context
      const real = fs.existsSync(abs) ? fs.realpathSync(path.dirname(abs)) : undefined;
      const root = fs.realpathSync(tree.root);
      if (real !== undefined && real !== root && !real.startsWith(`${root}/`)) throw new InvalidArgumentError(`${what}: forbidden path outside the build context: ${pattern}`);
    }
    const st = fs.lstatSync(abs, { throwIfNoEntry: false });
    if (st) out.push({ abs, rel: r, st });
  }
  if (out.length === 0) {
    throw new NotFoundError(`${what}: no source files were specified${GLOB_CHARS.test(pattern) ? '' : `: "${pattern}": no such file or directory`}`);
  }
  return out;
}

/** The entries under a matched directory (relative to it), parents first, ignored ones left out. */
export function walkMatch(tree: SourceTree, match: SourceMatch): { rel: string; abs: string; st: fs.Stats }[] {
  const out: { rel: string; abs: string; st: fs.Stats }[] = [];
  const visit = (sub: string): void => {
    const dir = sub === '' ? match.abs : path.join(match.abs, sub);
    for (const name of fs.readdirSync(dir).sort()) {
      const rel = sub === '' ? name : `${sub}/${name}`;
      const treeRel = match.rel === '' ? rel : `${match.rel}/${rel}`;
      // a directory that is ignored may still hold exceptions (`!dir/keep`): walk it anyway
      const abs = path.join(match.abs, rel);
      const st = fs.lstatSync(abs);
      const ignored = isIgnored(tree, treeRel);
      if (!ignored) out.push({ rel, abs, st });
      if (st.isDirectory()) {
        const before = out.length;
        visit(rel);
        if (ignored && out.length > before) out.splice(before, 0, { rel, abs, st });
      }
    }
  };
  visit('');
  return out;
}

/**
 * The cache key part of context sources: names, modes, sizes, link targets and content. Owners
 * count only without --chown (which replaces them); mtimes never (a fresh checkout must hit).
 */
export function hashMatches(tree: SourceTree, matches: SourceMatch[], withOwners: boolean): string {
  const h = crypto.createHash('sha256');
  const add = (rel: string, abs: string, st: fs.Stats): void => {
    h.update(`${rel}\0${st.mode}\0${withOwners ? `${st.uid}:${st.gid}` : ''}\0`);
    if (st.isSymbolicLink()) h.update(fs.readlinkSync(abs));
    else if (st.isFile()) h.update(fs.readFileSync(abs));
    h.update('\0');
  };
  for (const m of matches) {
    add(m.rel, m.abs, m.st);
    if (m.st.isDirectory()) for (const e of walkMatch(tree, m)) add(`${m.rel}/${e.rel}`, e.abs, e.st);
  }
  return h.digest('hex');
}
