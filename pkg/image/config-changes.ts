// `--change` instructions (import, commit, build's config steps): a Dockerfile line that edits
// an image's container config. Accepted as Docker does (`CMD ["sh"]`, `ENV A=1 B="x y"`,
// `EXPOSE 80/tcp 8000-8002`) and as Podman also does (`CMD=/bin/sh`). Pure: the config in,
// a new config out. Quoting, escapes and `$VAR` expansion follow the Dockerfile rules for
// the instructions that have them (ENV, LABEL, EXPOSE, USER, VOLUME, WORKDIR, STOPSIGNAL);
// CMD, ENTRYPOINT and ONBUILD are taken literally, as Docker does.
import * as path from 'node:path';
import { InvalidArgumentError } from '../errors';
import type { ContainerConfig } from './manifest';

export const CHANGE_INSTRUCTIONS = ['CMD', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'LABEL', 'ONBUILD', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR'] as const;
export type ChangeInstruction = (typeof CHANGE_INSTRUCTIONS)[number];

export interface ConfigChange {
  instruction: ChangeInstruction;
  /** everything after the instruction word, leading blanks removed */
  args: string;
  /** the change as the user wrote it, for messages */
  source: string;
}

const DEFAULT_SHELL = ['/bin/sh', '-c'];

function bad(source: string, why: string): InvalidArgumentError {
  return new InvalidArgumentError(`invalid change "${source}": ${why}`);
}

function isInstruction(word: string): word is ChangeInstruction {
  return (CHANGE_INSTRUCTIONS as readonly string[]).includes(word);
}

/** Splits `INSTRUCTION args` (or Podman's `INSTRUCTION=args`) and checks the instruction. */
export function parseChange(source: string): ConfigChange {
  const text = source.trim();
  const m = /^([A-Za-z]+)(?:[ \t]+|=|$)([\s\S]*)$/.exec(text);
  if (!m) throw bad(source, `expected "INSTRUCTION arguments", one of ${CHANGE_INSTRUCTIONS.join(', ')}`);
  const instruction = m[1].toUpperCase();
  if (!isInstruction(instruction)) {
    throw bad(source, `${m[1]} is not a valid change instruction (valid: ${CHANGE_INSTRUCTIONS.join(', ')})`);
  }
  const args = m[2].trim();
  if (args === '' && instruction !== 'CMD' && instruction !== 'ENTRYPOINT') throw bad(source, `${instruction} requires an argument`);
  return { instruction, args, source };
}

// --- words, quotes and variables (the Dockerfile shell-word rules, minus command substitution) --

/** Splits at unquoted blanks; quotes and backslashes stay in the words for unquote(). */
export function splitWords(s: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (quote) {
      cur += c;
      if (c === '\\' && quote === '"' && i + 1 < s.length) cur += s[++i];
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
      continue;
    }
    inWord = true;
    cur += c;
    if (c === '\\' && i + 1 < s.length) cur += s[++i];
    else if (c === '"' || c === "'") quote = c;
  }
  if (quote) throw new InvalidArgumentError(`unterminated quote in ${JSON.stringify(s)}`);
  if (inWord) words.push(cur);
  return words;
}

/** The value of `${NAME...}` / `$NAME` given the modifier Docker supports (`:-`, `:+`, `-`, `+`). */
function expandOne(name: string, modifier: string | undefined, word: string | undefined, env: Map<string, string>): string {
  const value = env.get(name);
  switch (modifier) {
    case ':-':
      return value === undefined || value === '' ? (word ?? '') : value;
    case '-':
      return value === undefined ? (word ?? '') : value;
    case ':+':
      return value === undefined || value === '' ? '' : (word ?? '');
    case '+':
      return value === undefined ? '' : (word ?? '');
    default:
      return value ?? '';
  }
}

/**
 * Removes quotes and backslash escapes from one word and expands `$VAR`, `${VAR}`,
 * `${VAR:-default}` and `${VAR:+alt}` from env (not inside single quotes; `\$` stays `$`).
 */
export function unquote(word: string, env: Map<string, string> = new Map()): string {
  let out = '';
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < word.length; i++) {
    const c = word[i];
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else out += c;
      continue;
    }
    if (c === '\\' && i + 1 < word.length) {
      const next = word[i + 1];
      // inside double quotes a backslash only escapes what the shell would treat specially
      if (quote === '"' && !'"\\$`'.includes(next)) out += c;
      out += next;
      i++;
      continue;
    }
    if (c === '"' && quote === undefined) {
      quote = '"';
      continue;
    }
    if (c === '"' && quote === '"') {
      quote = undefined;
      continue;
    }
    if (c === "'" && quote === undefined) {
      quote = "'";
      continue;
    }
    if (c === '$') {
      if (word[i + 1] === '{') {
        const close = word.indexOf('}', i + 2);
        if (close < 0) throw new InvalidArgumentError(`missing "}" in ${JSON.stringify(word)}`);
        const inner = word.slice(i + 2, close);
        const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])([\s\S]*))?$/.exec(inner);
        if (!m) throw new InvalidArgumentError(`unsupported variable substitution \${${inner}}`);
        out += expandOne(m[1], m[2], m[3] === undefined ? undefined : unquote(m[3], env), env);
        i = close;
        continue;
      }
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(word.slice(i + 1));
      if (m) {
        out += expandOne(m[0], undefined, undefined, env);
        i += m[0].length;
        continue;
      }
    }
    out += c;
  }
  return out;
}

function envMap(env: readonly string[] | undefined): Map<string, string> {
  const map = new Map<string, string>();
  for (const kv of env ?? []) {
    const eq = kv.indexOf('=');
    if (eq > 0) map.set(kv.slice(0, eq), kv.slice(eq + 1));
    else map.set(kv, '');
  }
  return map;
}

/**
 * `key=value ...` pairs, or the legacy `key value with blanks` form (one pair, the rest of
 * the line its value), as ENV and LABEL take them.
 */
function keyValuePairs(change: ConfigChange, env: Map<string, string>): [string, string][] {
  const words = splitWords(change.args);
  if (words.length === 0) throw bad(change.source, `${change.instruction} requires an argument`);
  if (!words[0].includes('=')) {
    // legacy form: the first word is the key, the rest of the line the value
    const key = unquote(words[0], env);
    const rest = change.args.slice(change.args.indexOf(words[0]) + words[0].length).trim();
    if (rest === '') throw bad(change.source, `${change.instruction} ${key} needs a value (use ${key}=VALUE)`);
    return [[key, unquote(rest, env)]];
  }
  return words.map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0) throw bad(change.source, `${JSON.stringify(w)} is not KEY=VALUE`);
    return [unquote(w.slice(0, eq), env), unquote(w.slice(eq + 1), env)];
  });
}

/** A JSON array of strings (exec form), or undefined when the text is not one. */
function jsonStrings(text: string): string[] | undefined {
  if (!text.startsWith('[')) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  } catch {
    // not JSON: Docker then takes the line as shell form
  }
  return undefined;
}

/** CMD / ENTRYPOINT: exec form as given, shell form wrapped in the image's shell. */
function commandOf(args: string, shell: string[] | undefined): string[] {
  const exec = jsonStrings(args);
  if (exec) return exec;
  if (args === '') return [];
  return [...(shell && shell.length ? shell : DEFAULT_SHELL), args];
}

const PROTOCOLS = ['tcp', 'udp', 'sctp'];

/** `80`, `80/udp`, `8000-8002/tcp` → ["80/tcp"], ["80/udp"], ["8000/tcp", "8001/tcp", "8002/tcp"]. */
export function exposedPorts(spec: string): string[] {
  const m = /^(\d+)(?:-(\d+))?(?:\/([A-Za-z]+))?$/.exec(spec);
  if (!m) throw new InvalidArgumentError(`invalid port ${JSON.stringify(spec)}: expected PORT[-PORT][/PROTOCOL]`);
  const proto = (m[3] ?? 'tcp').toLowerCase();
  if (!PROTOCOLS.includes(proto)) throw new InvalidArgumentError(`invalid protocol ${JSON.stringify(m[3])} in port ${JSON.stringify(spec)}: use tcp, udp or sctp`);
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  if (start > 65535 || end > 65535) throw new InvalidArgumentError(`invalid port ${JSON.stringify(spec)}: ports go up to 65535`);
  if (end < start) throw new InvalidArgumentError(`invalid port range ${JSON.stringify(spec)}: the end is below the start`);
  const out: string[] = [];
  for (let p = start; p <= end; p++) out.push(`${p}/${proto}`);
  return out;
}

const SIGNAL = /^(?:(?:SIG)?[A-Z][A-Z0-9]*(?:[+-]\d+)?|\d+)$/i;
const ONBUILD_FORBIDDEN = ['ONBUILD', 'FROM', 'MAINTAINER'];

function setEnv(env: string[], key: string, value: string): string[] {
  const out = env.filter((kv) => kv !== key && !kv.startsWith(`${key}=`));
  out.push(`${key}=${value}`);
  return out;
}

/** Applies one parsed change to a copy of config. */
export function applyChange(config: ContainerConfig, change: ConfigChange): ContainerConfig {
  const next: ContainerConfig = { ...config };
  const env = envMap(config.Env ?? undefined);
  const { source, args } = change;
  switch (change.instruction) {
    case 'CMD':
      next.Cmd = commandOf(args, config.Shell);
      break;
    case 'ENTRYPOINT':
      next.Entrypoint = commandOf(args, config.Shell);
      break;
    case 'ENV': {
      let list = [...(config.Env ?? [])];
      // every pair of one line expands against the config before it (`ENV a=2 b=$a` gives b
      // the old a), as Dockerfile ENV does
      for (const [key, value] of keyValuePairs(change, env)) {
        if (key === '') throw bad(source, 'ENV names an empty variable');
        list = setEnv(list, key, value);
      }
      next.Env = list;
      break;
    }
    case 'LABEL': {
      const labels = { ...(config.Labels ?? {}) };
      for (const [key, value] of keyValuePairs(change, env)) {
        if (key === '') throw bad(source, 'LABEL names an empty key');
        labels[key] = value;
      }
      next.Labels = labels;
      break;
    }
    case 'EXPOSE': {
      const ports = { ...(config.ExposedPorts ?? {}) };
      for (const word of splitWords(args)) {
        try {
          for (const p of exposedPorts(unquote(word, env))) ports[p] = {};
        } catch (err) {
          throw bad(source, (err as Error).message);
        }
      }
      next.ExposedPorts = ports;
      break;
    }
    case 'VOLUME': {
      const volumes = { ...(config.Volumes ?? {}) };
      const list = jsonStrings(args) ?? splitWords(args).map((w) => unquote(w, env));
      if (list.length === 0) throw bad(source, 'VOLUME requires at least one path');
      for (const v of list) {
        if (v.trim() === '') throw bad(source, 'VOLUME paths must not be empty');
        volumes[v] = {};
      }
      next.Volumes = volumes;
      break;
    }
    case 'USER': {
      const words = splitWords(args);
      if (words.length !== 1) throw bad(source, 'USER requires exactly one argument (USER name[:group])');
      next.User = unquote(words[0], env);
      break;
    }
    case 'WORKDIR': {
      const dir = unquote(args, env);
      next.WorkingDir = path.posix.resolve(config.WorkingDir || '/', dir);
      break;
    }
    case 'STOPSIGNAL': {
      const signal = unquote(args, env);
      if (!SIGNAL.test(signal)) throw bad(source, `invalid signal ${JSON.stringify(signal)}`);
      next.StopSignal = signal;
      break;
    }
    case 'ONBUILD': {
      const trigger = parseChangeTrigger(args, source);
      next.OnBuild = [...(config.OnBuild ?? []), trigger];
      break;
    }
  }
  return next;
}

/** ONBUILD's instruction, upper-cased as Docker stores it; chaining ONBUILD or FROM is refused. */
function parseChangeTrigger(args: string, source: string): string {
  const m = /^([A-Za-z]+)([\s\S]*)$/.exec(args);
  if (!m) throw bad(source, 'ONBUILD requires an instruction');
  const word = m[1].toUpperCase();
  if (ONBUILD_FORBIDDEN.includes(word)) throw bad(source, `${word} isn't allowed as an ONBUILD trigger`);
  return `${word}${m[2]}`;
}

/** Applies `--change` strings in order; returns a new config. */
export function applyChanges(config: ContainerConfig, changes: readonly string[]): ContainerConfig {
  let out = config;
  for (const text of changes) out = applyChange(out, parseChange(text));
  return out;
}
