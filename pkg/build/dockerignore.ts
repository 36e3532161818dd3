// .dockerignore with Docker's exact rules: one pattern per line, `#` comments (only at the
// very start of a line), surrounding blanks trimmed, paths cleaned (`.`/`..`, doubled and
// trailing slashes) and made relative (a leading `/` is dropped), Go filepath.Match syntax
// plus `**`, `!` exceptions, the last matching pattern deciding, and a path ignored when
// it or any of its parent directories matches. `<Dockerfile>.dockerignore` next to the
// Dockerfile replaces the context's .dockerignore.

import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, posix, resolve } from 'node:path';
import { InvalidArgumentError } from '../errors';

export interface IgnoreMatcher {
  /** True when the context-relative, slash-separated path is excluded from the build context. */
  ignores(relPath: string): boolean;
  /** The cleaned patterns, in order (`!` kept on exceptions). */
  patterns: string[];
  /** Some pattern is an `!` exception: an ignored directory may still hold included files. */
  hasExclusions: boolean;
  /** The file the patterns came from, when there was one. */
  source?: string;
}

/** Go's filepath.Clean for slash paths: "" becomes ".", no trailing slash. */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  const normalized = posix.normalize(p);
  return normalized.length > 1 && normalized.endsWith('/') ? normalized.slice(0, -1) : normalized;
}

/** The patterns of a .dockerignore file, cleaned the way Docker reads them. */
export function parseDockerignore(text: string): string[] {
  const patterns: string[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (const line of lines) {
    if (line.startsWith('#')) continue;
    let pattern = line.trim();
    if (pattern === '') continue;
    const invert = pattern.startsWith('!');
    if (invert) pattern = pattern.slice(1).trim();
    if (pattern !== '') {
      pattern = cleanPath(pattern);
      if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1);
    }
    patterns.push(invert ? `!${pattern}` : pattern);
  }
  return patterns;
}

type Compiled = { exclusion: boolean; test: (path: string) => boolean };

// Regexp characters that mean nothing to filepath.Match (`^` is not among them: it negates a class).
const REGEX_SPECIALS = new Set(['.', '+', '(', ')', '|', '{', '}', '$']);

/** Compiles one pattern like moby's patternmatcher: exact, prefix (`dir/**`), suffix (`**\/x`) or regexp. */
function compilePattern(pattern: string): (path: string) => boolean {
  let re = '';
  let kind: 'exact' | 'prefix' | 'suffix' | 'regexp' = 'exact';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '*') {
      if (pattern[i + 1] === '*') {
        const start = i;
        i++;
        if (pattern[i + 1] === '/') i++;
        if (i + 1 >= pattern.length) {
          if (kind === 'exact') kind = 'prefix';
          else {
            re += '.*';
            kind = 'regexp';
          }
        } else {
          re += '(.*/)?';
          kind = 'regexp';
        }
        if (start === 0) kind = 'suffix';
      } else {
        re += '[^/]*';
        kind = 'regexp';
      }
    } else if (ch === '?') {
      re += '[^/]';
      kind = 'regexp';
    } else if (REGEX_SPECIALS.has(ch)) {
      re += `\\${ch}`;
    } else if (ch === '\\') {
      if (i + 1 < pattern.length) {
        re += `\\${pattern[++i]}`;
        kind = 'regexp';
      } else re += '\\\\';
    } else if (ch === '[' || ch === ']') {
      re += ch;
      kind = 'regexp';
    } else {
      re += ch;
    }
  }
  switch (kind) {
    case 'exact':
      return (path) => path === pattern;
    case 'prefix': {
      const prefix = pattern.slice(0, -2);
      return (path) => path.startsWith(prefix);
    }
    case 'suffix': {
      const suffix = pattern.slice(2);
      return (path) => path.endsWith(suffix) || (suffix.startsWith('/') && path === suffix.slice(1));
    }
    default: {
      const regex = new RegExp(`^${re}$`, 's');
      return (path) => regex.test(path);
    }
  }
}

/** Rejects what Go's filepath.Match rejects: an unclosed class, a class starting with `]` or `-`. */
function checkPatternSyntax(pattern: string): void {
  for (let i = 0; i < pattern.length; i++) {
    if (pattern[i] === '\\') {
      i++;
      continue;
    }
    if (pattern[i] !== '[') continue;
    let j = i + 1;
    if (pattern[j] === '^') j++;
    if (pattern[j] === ']' || pattern[j] === '-' || j >= pattern.length) throw new Error('syntax error in pattern');
    while (j < pattern.length && pattern[j] !== ']') j += pattern[j] === '\\' ? 2 : 1;
    if (j >= pattern.length) throw new Error('syntax error in pattern');
    i = j;
  }
}

/** Builds a matcher from cleaned patterns; throws InvalidArgumentError for a bad pattern. */
export function createIgnoreMatcher(patterns: string[], source?: string): IgnoreMatcher {
  const compiled: Compiled[] = [];
  for (const raw of patterns) {
    let p = raw.trim();
    if (p === '') continue;
    p = cleanPath(p);
    const exclusion = p.startsWith('!');
    if (exclusion) {
      if (p.length === 1) throw new InvalidArgumentError(`${source ?? '.dockerignore'}: illegal exclusion pattern: "!"`);
      p = p.slice(1);
    }
    try {
      checkPatternSyntax(p);
      compiled.push({ exclusion, test: compilePattern(p) });
    } catch {
      throw new InvalidArgumentError(`${source ?? '.dockerignore'}: syntax error in pattern "${raw}": fix its [...] brackets or escape them with \\`);
    }
  }
  return {
    patterns,
    source,
    hasExclusions: compiled.some((c) => c.exclusion),
    ignores(relPath: string): boolean {
      const file = cleanPath(relPath.replace(/^\/+/, ''));
      if (file === '.') return false; // the context itself is never excluded
      const parent = posix.dirname(file);
      const parentDirs = parent === '.' ? [] : parent.split('/');
      let matched = false;
      for (const pattern of compiled) {
        // An inclusion cannot change an already excluded path, nor an exception an included one.
        if (pattern.exclusion !== matched) continue;
        let match = pattern.test(file);
        for (let i = 0; !match && i < parentDirs.length; i++) match = pattern.test(parentDirs.slice(0, i + 1).join('/'));
        if (match) matched = !pattern.exclusion;
      }
      return matched;
    },
  };
}

/** The ignore file that applies: `<dockerfile>.dockerignore` beside the Dockerfile, else the context's .dockerignore. */
export function dockerignorePath(contextDir: string, dockerfilePath: string | undefined): string | undefined {
  if (dockerfilePath) {
    const specific = join(dirname(resolve(dockerfilePath)), `${basename(dockerfilePath)}.dockerignore`);
    if (existsSync(specific)) return specific;
  }
  const general = join(contextDir, '.dockerignore');
  return existsSync(general) ? general : undefined;
}

export function loadDockerignore(contextDir: string, dockerfilePath: string): IgnoreMatcher {
  const file = dockerignorePath(contextDir, dockerfilePath);
  if (!file) return createIgnoreMatcher([]);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new InvalidArgumentError(`cannot read ${file}: ${(err as Error).message}`);
  }
  return createIgnoreMatcher(parseDockerignore(text), basename(file));
}
