// The --flags each instruction accepts, and the checks on their values that can be made
// before any variable is known (a value holding `$` is checked after expansion instead).

import { MountError, parseRunMount, parseRunNetwork } from './dockerfile-mounts';
import { goDurationNs } from '../format/go-duration';

export class FlagError extends Error {}

interface FlagSpec {
  bool?: boolean;
  repeatable?: boolean;
  check?: (value: string) => void;
}

/** Nanoseconds from a Go duration string (`30s`, `1m30s`, `1.5h`, `0`). */
export function parseGoDuration(text: string): number {
  const ns = goDurationNs(text);
  if (ns === undefined) throw new FlagError(`invalid duration "${text}": use a number with a unit, like 30s, 1m30s or 500ms`);
  return ns;
}

function healthDuration(name: string): (value: string) => void {
  return (value) => {
    const ns = parseGoDuration(value);
    if (ns !== 0 && ns < 1e6) throw new FlagError(`--${name} cannot be less than 1ms (got ${value})`);
  };
}

function checkRetries(value: string): void {
  if (!/^-?\d+$/.test(value)) throw new FlagError(`invalid --retries "${value}": a whole number is expected`);
  if (Number(value) < 0) throw new FlagError(`--retries cannot be negative (${value})`);
}

/** --chmod takes an octal mode (0755) or symbolic clauses (u+x,go-w). */
export function checkChmod(value: string): void {
  if (/^[0-7]{3,4}$/.test(value)) return;
  if (/^[ugoa]*[-+=][rwxXst]*(,[ugoa]*[-+=][rwxXst]*)*$/.test(value)) return;
  throw new FlagError(`invalid --chmod "${value}": use an octal mode like 0755 or symbolic like u+x`);
}

export function checkChecksum(value: string): void {
  const m = /^(sha256|sha384|sha512):([0-9a-f]+)$/.exec(value);
  const lengths: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };
  if (!m || m[2].length !== lengths[m[1]]) throw new FlagError(`invalid --checksum "${value}": use sha256:<64 hex digits>`);
}

/** Turns a parser's MountError into a FlagError, so the instruction's name is added to it. */
function asFlagCheck(parse: (value: string) => unknown): (value: string) => void {
  return (value) => {
    try {
      parse(value);
    } catch (err) {
      if (err instanceof MountError) throw new FlagError(err.message);
      throw err;
    }
  };
}

function securityCheck(value: string): void {
  if (value !== 'sandbox' && value !== 'insecure') throw new FlagError(`unsupported security mode "${value}": use sandbox or insecure`);
}

const COPY_FLAGS: Record<string, FlagSpec> = {
  from: {},
  chown: {},
  chmod: { check: checkChmod },
  link: { bool: true },
  parents: { bool: true },
  exclude: { repeatable: true },
};

const FLAGS: Record<string, Record<string, FlagSpec>> = {
  FROM: { platform: {} },
  RUN: { mount: { repeatable: true, check: asFlagCheck(parseRunMount) }, network: { check: asFlagCheck(parseRunNetwork) }, security: { check: securityCheck } },
  COPY: COPY_FLAGS,
  ADD: {
    chown: {},
    chmod: { check: checkChmod },
    link: { bool: true },
    exclude: { repeatable: true },
    checksum: { check: checkChecksum },
    'keep-git-dir': { bool: true },
    unpack: { bool: true },
  },
  HEALTHCHECK: {
    interval: { check: healthDuration('interval') },
    timeout: { check: healthDuration('timeout') },
    'start-period': { check: healthDuration('start-period') },
    'start-interval': { check: healthDuration('start-interval') },
    retries: { check: checkRetries },
  },
};

/** Parses the raw `--name[=value]` words of an instruction against what it accepts. */
export function parseFlags(keyword: string, words: string[]): { name: string; value: string }[] {
  const accepted = FLAGS[keyword] ?? {};
  const seen = new Set<string>();
  const flags: { name: string; value: string }[] = [];
  for (const word of words) {
    if (!word.startsWith('--')) throw new FlagError(`flag should start with --: ${word}`);
    const eq = word.indexOf('=');
    const name = eq < 0 ? word.slice(2) : word.slice(2, eq);
    const spec = accepted[name];
    if (!spec) {
      const names = Object.keys(accepted).map((n) => `--${n}`);
      throw new FlagError(`unknown flag --${name}${names.length ? ` (${keyword} accepts ${names.join(', ')})` : ` (${keyword} takes no flags)`}`);
    }
    if (seen.has(name) && !spec.repeatable) throw new FlagError(`duplicate flag specified: --${name}`);
    seen.add(name);
    let value = eq < 0 ? undefined : word.slice(eq + 1);
    if (spec.bool) {
      const v = (value ?? 'true').toLowerCase();
      if (v !== 'true' && v !== 'false') throw new FlagError(`expecting a boolean value for flag --${name}, not: ${value}`);
      value = v;
    } else if (value === undefined) {
      throw new FlagError(`missing a value on flag --${name}`);
    } else if (spec.check && !value.includes('$')) {
      spec.check(value);
    }
    flags.push({ name, value });
  }
  return flags;
}
