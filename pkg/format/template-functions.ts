/**
 * The functions a template can call: Go's builtins (`and`, `or`, `not`,
 * `len`, `index`, `slice`, `print*`, comparisons, `html`/`js`/`urlquery`),
 * Docker's extras (`json`, `join`, `split`, `lower`, `upper`, `title`,
 * `truncate`, `pad`) and Podman's `replace`.
 */
import {
  formatValue, goType, isArrayLike, isMapLike, isPlainObject, isPrintable, sprint, sprintf, toArray,
} from './go-printf';
import { runeLength } from './runes';

/** Go's truth: false, 0, "", nil and empty collections are false. */
export function isTrue(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  switch (typeof v) {
    case 'boolean': return v;
    case 'number': return v !== 0 && !Number.isNaN(v);
    case 'bigint': return v !== 0n;
    case 'string': return v.length > 0;
    case 'function': return true;
  }
  if (isArrayLike(v)) return (v instanceof Set ? v.size : v.length) > 0;
  if (v instanceof Map) return v.size > 0;
  if (isPlainObject(v as object)) return Object.keys(v as object).length > 0;
  return true; // a struct
}

// ---------------------------------------------------------------------------
// Escaping for html, js and urlquery

const HTML_ESCAPES: Record<string, string> = { '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&#39;', '"': '&#34;', '\0': '\uFFFD' };

function htmlEscape(s: string): string {
  return s.replace(/[<>&'"\0]/g, (c) => HTML_ESCAPES[c]);
}

const JS_ESCAPES: Record<string, string> = {
  '\\': '\\\\', "'": "\\'", '"': '\\"', '<': '\\u003C', '>': '\\u003E', '&': '\\u0026', '=': '\\u003D',
};

/** template.JSEscapeString. */
function jsEscape(s: string): string {
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (JS_ESCAPES[ch]) out += JS_ESCAPES[ch];
    else if (cp < 0x20) out += '\\u' + cp.toString(16).toUpperCase().padStart(4, '0');
    else if (cp >= 0x80 && !isPrintable(ch)) out += '\\u' + cp.toString(16).toUpperCase().padStart(4, '0');
    else out += ch;
  }
  return out;
}

/** url.QueryEscape. */
function queryEscape(s: string): string {
  let out = '';
  for (const byte of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += '%' + byte.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

// ---------------------------------------------------------------------------
// Builtin functions

export interface FuncDef {
  min: number;
  max: number;
  fn: (...args: unknown[]) => unknown;
}

function expectString(v: unknown): string {
  if (typeof v === 'string') return v;
  // Lenient: JS data may hold numbers/bools where Docker's Go types have strings.
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return formatValue(v);
  if (v === undefined || v === null) throw new Error('invalid value; expected string');
  throw new Error(`wrong type for value; expected string; got ${goType(v)}`);
}

function expectInt(v: unknown): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'bigint') return Number(v);
  if (v === undefined || v === null) throw new Error('invalid value; expected int');
  throw new Error(`wrong type for value; expected int; got ${goType(v)}`);
}

/** Go's indexArg: a non-negative integer no larger than cap. */
function indexArg(v: unknown, cap: number): number {
  if (v === undefined || v === null) throw new Error('cannot index slice/array with nil');
  if (typeof v !== 'number' && typeof v !== 'bigint') throw new Error(`cannot index slice/array with type ${goType(v)}`);
  const x = Number(v);
  if (!Number.isInteger(x)) throw new Error(`cannot index slice/array with type ${goType(v)}`);
  if (x < 0 || x > cap) throw new Error(`index out of range: ${x}`);
  return x;
}

function indexOne(item: unknown, key: unknown): unknown {
  if (item === undefined || item === null) throw new Error('index of untyped nil');
  if (typeof item === 'string') {
    const bytes = Buffer.from(item, 'utf8');
    const x = indexArg(key, bytes.length);
    if (x >= bytes.length) throw new Error(`index out of range: ${x}`);
    return bytes[x];
  }
  if (isArrayLike(item)) {
    const arr = toArray(item);
    const x = indexArg(key, arr.length);
    if (x >= arr.length) throw new Error(`index out of range: ${x}`);
    return arr[x];
  }
  if (item instanceof Map) return item.get(key);
  if (isMapLike(item)) {
    if (typeof key !== 'string') throw new Error(`value has type ${goType(key)}; should be string`);
    return Object.hasOwn(item, key) ? (item as Record<string, unknown>)[key] : undefined;
  }
  throw new Error(`can't index item of type ${goType(item)}`);
}

function sliceFn(item: unknown, ...idx: unknown[]): unknown {
  if (item === undefined || item === null) throw new Error('slice of untyped nil');
  if (idx.length > 3) throw new Error(`too many slice indexes: ${idx.length}`);
  const isStr = typeof item === 'string';
  if (isStr && idx.length === 3) throw new Error('cannot 3-index slice a string');
  if (!isStr && !isArrayLike(item)) throw new Error(`can't slice item of type ${goType(item)}`);
  // Strings slice by byte, as in Go.
  const seq: Buffer | unknown[] = isStr ? Buffer.from(item, 'utf8') : toArray(item as ArrayLike<unknown>);
  const bounds = [0, seq.length];
  idx.forEach((v, i) => { bounds[i] = indexArg(v, seq.length); });
  if (bounds[0] > bounds[1]) throw new Error(`invalid slice index: ${bounds[0]} > ${bounds[1]}`);
  if (idx.length === 3 && bounds[1] > bounds[2]) throw new Error(`invalid slice index: ${bounds[1]} > ${bounds[2]}`);
  return isStr ? (seq as Buffer).subarray(bounds[0], bounds[1]).toString('utf8') : (seq as unknown[]).slice(bounds[0], bounds[1]);
}

function lengthOf(v: unknown): number {
  if (v === undefined || v === null) throw new Error('len of nil pointer');
  if (typeof v === 'string') return Buffer.byteLength(v, 'utf8');
  if (v instanceof Set || v instanceof Map) return v.size;
  if (isArrayLike(v)) return v.length;
  if (isMapLike(v) && isPlainObject(v)) return Object.keys(v).length;
  throw new Error(`len of type ${goType(v)}`);
}

type Kind = 'nil' | 'bool' | 'number' | 'string' | 'other';

function basicKind(v: unknown): Kind {
  if (v === undefined || v === null) return 'nil';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number' || typeof v === 'bigint') return 'number';
  if (typeof v === 'string') return 'string';
  return 'other';
}

function eq(a: unknown, ...others: unknown[]): boolean {
  if (others.length === 0) throw new Error('missing argument for comparison');
  const ka = basicKind(a);
  return others.some((b) => {
    const kb = basicKind(b);
    if (ka !== kb) {
      if (ka !== 'nil' && kb !== 'nil') throw new Error('incompatible types for comparison');
      return false;
    }
    if (ka === 'nil') return true;
    if (ka === 'other') {
      if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
      throw new Error(`non-comparable type ${formatValue(a)}: ${goType(a)}`);
    }
    // Loose equality so a number and a bigint with the same value compare equal.
    return a == b;
  });
}

function less(a: unknown, b: unknown): boolean {
  const ka = basicKind(a);
  const kb = basicKind(b);
  if (ka !== 'number' && ka !== 'string') throw new Error('invalid type for comparison');
  if (kb !== 'number' && kb !== 'string') throw new Error('invalid type for comparison');
  if (ka !== kb) throw new Error('incompatible types for comparison');
  return (a as number | string) < (b as number | string);
}

/** html/js/urlquery take their operands like fmt.Sprint. */
function evalArgs(args: unknown[]): string {
  return args.length === 1 && typeof args[0] === 'string' ? args[0] : sprint(args);
}

/** Docker's `json`: compact, object key order, no HTML escaping. */
function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  if (value instanceof Map) return Object.fromEntries(value);
  if (value instanceof Set) return [...value];
  return value;
}

export function toJSON(v: unknown, indent?: number): string {
  const s = JSON.stringify(v === undefined ? null : v, jsonReplacer, indent) ?? 'null';
  // encoding/json always escapes these two, even with HTML escaping off.
  return s.replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** strings.Title: upper-case the first letter of each word. */
function title(s: string): string {
  let out = '';
  let prev = ' ';
  for (const ch of s) {
    const isSeparator = /[\x00-\x7f]/.test(prev) ? !/[A-Za-z0-9_]/.test(prev) : /\s/u.test(prev);
    const up = ch.toUpperCase();
    out += isSeparator && runeLength(up) === 1 ? up : ch;
    prev = ch;
  }
  return out;
}

/** strings.Replace; n < 0 (the default) replaces every occurrence. */
function replace(s: string, old: string, nw: string, n = -1): string {
  if (old === nw || n === 0) return s;
  if (old === '') {
    const chars = Array.from(s);
    const count = n < 0 ? chars.length + 1 : n;
    let out = '';
    for (let i = 0; i <= chars.length; i++) out += (i < count ? nw : '') + (chars[i] ?? '');
    return out;
  }
  const parts = s.split(old);
  if (n < 0 || n >= parts.length - 1) return parts.join(nw);
  return parts.slice(0, n + 1).join(nw) + old + parts.slice(n + 1).join(old);
}

/** strings.Join; leniently, a single string is returned as is. */
function join(list: unknown, sep: unknown): string {
  if (!isArrayLike(list)) return expectString(list);
  return toArray(list).map((e) => expectString(e)).join(expectString(sep));
}

function repeatSpaces(n: number): string {
  if (n < 0) throw new Error('strings: negative Repeat count');
  return ' '.repeat(n);
}

const V = Infinity;
export const BUILTINS: Record<string, FuncDef> = {
  // and/or are evaluated lazily by the executor; these entries give their arity.
  and: { min: 1, max: V, fn: () => undefined },
  or: { min: 1, max: V, fn: () => undefined },
  not: { min: 1, max: 1, fn: (v) => !isTrue(v) },
  len: { min: 1, max: 1, fn: lengthOf },
  index: { min: 1, max: V, fn: (item, ...keys) => keys.reduce(indexOne, item) },
  slice: { min: 1, max: V, fn: sliceFn },
  print: { min: 0, max: V, fn: (...a) => sprint(a) },
  println: { min: 0, max: V, fn: (...a) => a.map((v) => formatValue(v)).join(' ') + '\n' },
  printf: { min: 1, max: V, fn: (f, ...a) => sprintf(expectString(f), a) },
  eq: { min: 1, max: V, fn: eq },
  ne: { min: 2, max: 2, fn: (a, b) => !eq(a, b) },
  lt: { min: 2, max: 2, fn: (a, b) => less(a, b) },
  le: { min: 2, max: 2, fn: (a, b) => less(a, b) || eq(a, b) },
  gt: { min: 2, max: 2, fn: (a, b) => !less(a, b) && !eq(a, b) },
  ge: { min: 2, max: 2, fn: (a, b) => !less(a, b) },
  html: { min: 0, max: V, fn: (...a) => htmlEscape(evalArgs(a)) },
  js: { min: 0, max: V, fn: (...a) => jsEscape(evalArgs(a)) },
  urlquery: { min: 0, max: V, fn: (...a) => queryEscape(evalArgs(a)) },
  // Docker / Podman extras.
  json: { min: 1, max: 1, fn: (v) => toJSON(v) },
  join: { min: 2, max: 2, fn: join },
  split: { min: 2, max: 2, fn: (s, sep) => (expectString(sep) === '' ? Array.from(expectString(s)) : expectString(s).split(expectString(sep))) },
  lower: { min: 1, max: 1, fn: (s) => expectString(s).toLowerCase() },
  upper: { min: 1, max: 1, fn: (s) => expectString(s).toUpperCase() },
  title: { min: 1, max: 1, fn: (s) => title(expectString(s)) },
  truncate: {
    min: 2, max: 2,
    fn: (s, n) => {
      const len = expectInt(n);
      if (len < 0) throw new Error(`slice bounds out of range [:${len}]`);
      return Array.from(expectString(s)).slice(0, len).join('');
    },
  },
  pad: {
    min: 3, max: 3,
    fn: (s, l, r) => {
      const str = expectString(s);
      return str === '' ? str : repeatSpaces(expectInt(l)) + str + repeatSpaces(expectInt(r));
    },
  },
  replace: {
    min: 3, max: 4,
    fn: (s, o, n, c) => replace(expectString(s), expectString(o), expectString(n), c === undefined ? -1 : expectInt(c)),
  },
};
