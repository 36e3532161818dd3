/**
 * Go `text/template` rendering for `--format` flags, compatible with how
 * Docker and Podman use it: Go's builtin functions plus Docker's extras
 * (`json`, `join`, `split`, `lower`, `upper`, `title`, `truncate`, `pad`) and
 * Podman's `replace`.
 *
 * Data is plain JS values. How they map to Go:
 *   - objects and `Map`s behave like Go maps (`map[k:v]` printing, ranged in
 *     sorted key order, empty ones are false);
 *   - `.Field` looks the key up exactly, then falls back to a case-insensitive
 *     match. Go is case-sensitive, but our JS objects sometimes use camelCase
 *     where Docker's Go structs use PascalCase (`.Id` vs `.ID`), and a lenient
 *     lookup keeps user templates working;
 *   - a function-valued field is a Go method: `{{.Label "k"}}` calls it;
 *   - `undefined` is Go's "no value" (a missing map key, prints `<no value>`),
 *     `null` is nil (prints `<nil>`). Fields of either are leniently missing.
 */
import {
  ArgNode, BranchNode, CommandNode, IdentifierNode, ListNode, Node, PipeNode,
  TemplateError, lineOf, nodeString, parse,
} from './template-parser';
import { alignColumns, isTableFormat, tableBody, tableHeaderRow } from './table';

export { TemplateError } from './template-parser';
export { isTableFormat } from './table';

export interface Template {
  execute(data: unknown): string;
}

// ---------------------------------------------------------------------------
// Go-style value printing (fmt's %v)

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function isArrayLike(v: unknown): v is ArrayLike<unknown> {
  return Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView)) || v instanceof Set;
}

function toArray(v: ArrayLike<unknown> | Set<unknown>): unknown[] {
  return Array.from(v as ArrayLike<unknown>);
}

/** Entries of a map-like value, sorted by key as Go's fmt and range do. */
function mapEntries(v: object): [unknown, unknown][] {
  const entries: [unknown, unknown][] = v instanceof Map ? [...v.entries()] : Object.entries(v);
  const numeric = entries.every(([k]) => typeof k === 'number');
  return entries.sort(([a], [b]) => {
    if (numeric) return (a as number) - (b as number);
    const sa = String(a);
    const sb = String(b);
    return sa < sb ? -1 : sa > sb ? 1 : 0;
  });
}

function isMapLike(v: unknown): v is object {
  return typeof v === 'object' && v !== null && !isArrayLike(v) && !(v instanceof Date);
}

/** A user-defined toString (Go's Stringer) on a class instance, if any. */
function stringer(v: object): string | undefined {
  if (v instanceof Error) return v.message;
  if (isPlainObject(v) || v instanceof Map) return undefined;
  const fn = (v as { toString?: unknown }).toString;
  return typeof fn === 'function' && fn !== Object.prototype.toString ? String(v) : undefined;
}

/** Go type name of a value, for error messages and `%T`. */
function goType(v: unknown): string {
  if (v === undefined || v === null) return '<nil>';
  switch (typeof v) {
    case 'string': return 'string';
    case 'boolean': return 'bool';
    case 'bigint': return 'int64';
    case 'number': return Number.isInteger(v) ? 'int' : 'float64';
    case 'function': return 'func';
  }
  if (v instanceof Date) return 'time.Time';
  if (isArrayLike(v)) return '[]interface {}';
  if (isPlainObject(v as object) || v instanceof Map) return 'map[string]interface {}';
  return (v as object).constructor?.name ?? 'struct';
}

/** Formats a number like Go's %v: integers plainly, floats in shortest %g form. */
function goNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? '+Inf' : '-Inf';
  // Integral values print as Go ints; beyond int64/uint64 range they can only be float64s.
  if (Number.isInteger(n) && Math.abs(n) < 2 ** 64) return n === 0 ? '0' : n.toFixed(0);
  return formatFloat(n, 'g', undefined);
}

/**
 * Go's fmt %v of any value. `top` distinguishes a missing value printed by an
 * action (`<no value>`) from a nil inside a container or argument (`<nil>`).
 */
export function formatValue(v: unknown, top = false): string {
  if (v === undefined) return top ? '<no value>' : '<nil>';
  if (v === null) return '<nil>';
  switch (typeof v) {
    case 'string': return v;
    case 'number': return goNumber(v);
    case 'bigint': return v.toString();
    case 'boolean': return String(v);
    case 'function': return '<func>'; // Go would print an address
    case 'symbol': return v.toString();
  }
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? 'Invalid Date' : v.toISOString();
  if (isArrayLike(v)) return `[${toArray(v).map((e) => formatValue(e)).join(' ')}]`;
  const s = stringer(v as object);
  if (s !== undefined) return s;
  return `map[${mapEntries(v as object).map(([k, e]) => `${formatValue(k)}:${formatValue(e)}`).join(' ')}]`;
}

/** Go's truth: false, 0, "", nil and empty collections are false. */
function isTrue(v: unknown): boolean {
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
// Go float formatting (strconv 'e', 'f', 'g')

/** Decimal digits and point position: value = 0.digits × 10^dp. Zero is {'0', 1}. */
interface Decimal { digits: string; dp: number }

const ZERO: Decimal = { digits: '0', dp: 1 };

function trimZeros(digits: string, dp: number): Decimal {
  const d = digits.replace(/0+$/, '');
  return d === '' ? ZERO : { digits: d, dp };
}

/** The shortest digits that round-trip, as Go's strconv and JS both produce. */
function shortestDecimal(ax: number): Decimal {
  if (ax === 0) return ZERO;
  const [mant, e] = ax.toExponential().split('e');
  return trimZeros(mant.replace('.', ''), Number(e) + 1);
}

/** The exact decimal expansion of a double (every double is m·2^e = m·5^-e / 10^-e). */
function exactDecimal(ax: number): Decimal {
  if (ax === 0) return ZERO;
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, ax);
  const bits = view.getBigUint64(0);
  const biased = Number((bits >> 52n) & 0x7ffn);
  let mant = bits & ((1n << 52n) - 1n);
  if (biased !== 0) mant |= 1n << 52n;
  const exp = (biased === 0 ? 1 : biased) - 1075;
  if (exp >= 0) {
    const digits = (mant << BigInt(exp)).toString();
    return trimZeros(digits, digits.length);
  }
  const digits = (mant * 5n ** BigInt(-exp)).toString();
  return trimZeros(digits, digits.length + exp);
}

/** Keeps `nd` digits, rounding half to even like strconv (exact ties only). */
function roundDecimal(d: Decimal, nd: number): Decimal {
  if (nd >= d.digits.length) return d;
  if (nd < 0) return ZERO;
  const next = d.digits[nd];
  const tie = next === '5' && nd + 1 === d.digits.length;
  const up = tie ? nd > 0 && Number(d.digits[nd - 1]) % 2 === 1 : next >= '5';
  const kept = d.digits.slice(0, nd);
  if (!up) return trimZeros(kept, d.dp);
  const bumped = (BigInt(kept || '0') + 1n).toString().padStart(nd, '0');
  return trimZeros(bumped, d.dp + (bumped.length > nd ? 1 : 0));
}

function fmtE(d: Decimal, prec: number, upper: boolean): string {
  let s = d.digits[0];
  if (prec > 0) {
    s += '.';
    for (let i = 1; i <= prec; i++) s += d.digits[i] ?? '0';
  }
  const exp = d.digits === '0' ? 0 : d.dp - 1;
  return `${s}${upper ? 'E' : 'e'}${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
}

function fmtF(d: Decimal, prec: number): string {
  let s = d.dp > 0 ? d.digits.slice(0, d.dp).padEnd(d.dp, '0') : '0';
  if (prec > 0) {
    s += '.';
    for (let i = 1; i <= prec; i++) {
      const j = d.dp + i - 1;
      s += j >= 0 && j < d.digits.length ? d.digits[j] : '0';
    }
  }
  return s;
}

/** Formats a float like Go's %e/%f/%g (prec undefined = Go's shortest, -1). */
function formatFloat(x: number, verb: string, prec: number | undefined): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? '+Inf' : '-Inf';
  const neg = x < 0 || Object.is(x, -0);
  const ax = Math.abs(x);
  const upper = verb === 'E' || verb === 'G';
  let body: string;
  if (verb === 'e' || verb === 'E') {
    const p = prec ?? 6;
    body = fmtE(roundDecimal(exactDecimal(ax), p + 1), p, upper);
  } else if (verb === 'f' || verb === 'F') {
    const p = prec ?? 6;
    const exact = exactDecimal(ax);
    body = fmtF(roundDecimal(exact, exact.dp + p), p);
  } else {
    body = formatG(ax, prec, upper);
  }
  return (neg ? '-' : '') + body;
}

/** strconv's %g: %e for large/small exponents, else %f, trailing zeros dropped. */
function formatG(ax: number, prec: number | undefined, upper: boolean): string {
  const shortest = prec === undefined;
  const d = shortest ? shortestDecimal(ax) : roundDecimal(exactDecimal(ax), Math.max(prec, 1));
  let p = shortest ? d.digits.length : Math.max(prec, 1);
  let eprec = p;
  if (eprec > d.digits.length && d.digits.length >= d.dp) eprec = d.digits.length;
  // For the shortest form Go switches to %e from exponent 6 (`1e+06`).
  if (shortest) eprec = 6;
  const exp = d.dp - 1;
  if (exp < -4 || exp >= eprec) {
    if (p > d.digits.length) p = d.digits.length;
    return fmtE(d, p - 1, upper);
  }
  if (p > d.dp) p = d.digits.length;
  return fmtF(d, Math.max(p - d.dp, 0));
}

// ---------------------------------------------------------------------------
// Go string quoting and escaping

function isPrintable(ch: string): boolean {
  return ch === ' ' || /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u.test(ch);
}

const QUOTE_ESCAPES: Record<string, string> = {
  '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v', '\\': '\\\\',
};

/** strconv.Quote (or QuoteRune with quote "'"); `ascii` is QuoteToASCII (%+q). */
function goQuote(s: string, quote = '"', ascii = false): string {
  let out = quote;
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (ch === quote) out += '\\' + ch;
    else if (QUOTE_ESCAPES[ch]) out += QUOTE_ESCAPES[ch];
    else if (isPrintable(ch) && (!ascii || cp < 0x80)) out += ch;
    else if (cp < 0x20 || cp === 0x7f) out += '\\x' + cp.toString(16).padStart(2, '0');
    else if (cp >= 0xd800 && cp < 0xe000) out += '\\ufffd';
    else if (cp < 0x10000) out += '\\u' + cp.toString(16).padStart(4, '0');
    else out += '\\U' + cp.toString(16).padStart(8, '0');
  }
  return out + quote;
}

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
// printf

interface FmtSpec { minus: boolean; plus: boolean; sharp: boolean; space: boolean; zero: boolean; width?: number; prec?: number }

function runeLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** Pads to the width; zero padding goes after the sign, as Go does for numbers. */
function pad(s: string, spec: FmtSpec, numeric = false): string {
  const w = spec.width ?? 0;
  const len = runeLength(s);
  if (len >= w) return s;
  if (spec.minus) return s + ' '.repeat(w - len);
  if (spec.zero && numeric) {
    const sign = /^[+\- ]/.test(s) ? s[0] : '';
    return sign + '0'.repeat(w - len) + s.slice(sign.length);
  }
  return ' '.repeat(w - len) + s;
}

function badVerb(verb: string, v: unknown): string {
  return v === undefined || v === null ? `%!${verb}(<nil>)` : `%!${verb}(${goType(v)}=${formatValue(v)})`;
}

function signPrefix(neg: boolean, spec: FmtSpec): string {
  return neg ? '-' : spec.plus ? '+' : spec.space ? ' ' : '';
}

function formatInteger(n: bigint, verb: string, spec: FmtSpec): string {
  const neg = n < 0n;
  const abs = neg ? -n : n;
  switch (verb) {
    case 'c': return pad(String.fromCodePoint(Number(abs)), spec);
    case 'q': return pad(goQuote(String.fromCodePoint(Number(abs)), "'", spec.plus), spec);
    case 'U': return pad('U+' + abs.toString(16).toUpperCase().padStart(4, '0'), spec);
  }
  const bases: Record<string, [number, string]> = {
    d: [10, ''], v: [10, ''], b: [2, '0b'], o: [8, '0'], O: [8, '0o'], x: [16, '0x'], X: [16, '0X'],
  };
  const [base, prefix] = bases[verb];
  let digits = abs.toString(base);
  if (verb === 'X') digits = digits.toUpperCase();
  if (spec.prec !== undefined) digits = spec.prec === 0 && abs === 0n ? '' : digits.padStart(spec.prec, '0');
  const showPrefix = verb === 'O' || (spec.sharp && prefix !== '');
  const body = signPrefix(neg, spec) + (showPrefix ? prefix : '') + digits;
  return pad(body, spec, spec.prec === undefined);
}

function formatFloatVerb(x: number, verb: string, spec: FmtSpec): string {
  const s = formatFloat(x, verb === 'v' ? 'g' : verb, spec.prec);
  const signed = s.startsWith('-') || Number.isNaN(x) ? s : signPrefix(false, spec) + s;
  return pad(signed, spec, Number.isFinite(x));
}

function formatString(s: string, verb: string, spec: FmtSpec): string | undefined {
  switch (verb) {
    case 's':
    case 'v': {
      const t = spec.prec === undefined ? s : Array.from(s).slice(0, spec.prec).join('');
      return pad(t, spec);
    }
    case 'q':
      // %#q prefers a raw `string` when strconv.CanBackquote allows it.
      if (spec.sharp && !/[`\x00-\x08\x0a-\x1f\x7f\ufeff]/.test(s)) return pad('`' + s + '`', spec);
      return pad(goQuote(s, '"', spec.plus), spec);
    case 'x':
    case 'X': {
      // `% x` separates bytes; `%#x` prefixes 0x (to each byte when separated).
      const bytes = [...Buffer.from(s, 'utf8')].map((b) => b.toString(16).padStart(2, '0'));
      const prefix = spec.sharp ? '0x' : '';
      const hex = spec.space ? bytes.map((b) => prefix + b).join(' ') : prefix + bytes.join('');
      return pad(verb === 'X' ? hex.toUpperCase() : hex, spec);
    }
  }
  return undefined;
}

/** Formats one printf operand. Numbers and bools accept %s/%v leniently. */
function formatOperand(v: unknown, verb: string, spec: FmtSpec): string {
  if (verb === 'T') return pad(goType(v), spec);
  if (v === undefined || v === null) return verb === 'v' ? pad('<nil>', spec) : badVerb(verb, v);
  if (typeof v === 'boolean') return verb === 't' || verb === 'v' || verb === 's' ? pad(String(v), spec) : badVerb(verb, v);
  if (typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v))) {
    if ('bcdoOqxXUv'.includes(verb)) return formatInteger(BigInt(v), verb, spec);
    if ('eEfFgG'.includes(verb)) return formatFloatVerb(Number(v), verb, spec);
    if (verb === 's') return pad(formatValue(v), spec);
    return badVerb(verb, v);
  }
  if (typeof v === 'number') {
    if ('eEfFgGv'.includes(verb)) return formatFloatVerb(v, verb, spec);
    if (verb === 's') return pad(formatValue(v), spec);
    return badVerb(verb, v);
  }
  if (typeof v === 'string') return formatString(v, verb, spec) ?? badVerb(verb, v);
  if (isArrayLike(v)) return `[${toArray(v).map((e) => formatOperand(e, verb, spec)).join(' ')}]`;
  if (v instanceof Date || typeof v === 'function' || stringer(v as object) !== undefined) {
    return formatString(formatValue(v), verb, spec) ?? badVerb(verb, v);
  }
  const entries = mapEntries(v as object).map(([k, e]) => `${formatOperand(k, verb, spec)}:${formatOperand(e, verb, spec)}`);
  return `map[${entries.join(' ')}]`;
}

/** Parses `%[flags][width][.prec]verb` at fmt[i] (just after the '%'). */
function parseSpec(fmt: string, i: number, args: unknown[], argi: { n: number }): { spec: FmtSpec; i: number } {
  const spec: FmtSpec = { minus: false, plus: false, sharp: false, space: false, zero: false };
  const flags: Record<string, keyof FmtSpec> = { '-': 'minus', '+': 'plus', '#': 'sharp', ' ': 'space', '0': 'zero' };
  while (i < fmt.length && fmt[i] in flags) (spec[flags[fmt[i++]]] as boolean) = true;
  const readNum = (): number | undefined => {
    if (fmt[i] === '*') {
      i++;
      const a = args[argi.n++];
      return typeof a === 'number' ? Math.trunc(a) : undefined;
    }
    const m = /^\d+/.exec(fmt.slice(i));
    if (!m) return undefined;
    i += m[0].length;
    return Number(m[0]);
  };
  spec.width = readNum();
  if (spec.width !== undefined && spec.width < 0) {
    spec.minus = true;
    spec.width = -spec.width;
  }
  if (fmt[i] === '.') {
    i++;
    spec.prec = readNum() ?? 0;
  }
  return { spec, i };
}

/** Go's fmt.Sprintf for the verbs templates use. */
export function sprintf(fmt: string, args: unknown[]): string {
  let out = '';
  const argi = { n: 0 };
  let i = 0;
  while (i < fmt.length) {
    if (fmt[i] !== '%') {
      out += fmt[i++];
      continue;
    }
    const parsed = parseSpec(fmt, i + 1, args, argi);
    i = parsed.i;
    const verb = String.fromCodePoint(fmt.codePointAt(i) ?? 0);
    if (i >= fmt.length) {
      out += '%!(NOVERB)';
      break;
    }
    i += verb.length;
    if (verb === '%') out += '%';
    else if (argi.n >= args.length) out += `%!${verb}(MISSING)`;
    else out += formatOperand(args[argi.n++], verb, parsed.spec);
  }
  if (argi.n < args.length) {
    out += `%!(EXTRA ${args.slice(argi.n).map((a) => (a == null ? '<nil>' : `${goType(a)}=${formatValue(a)}`)).join(', ')})`;
  }
  return out;
}

/** fmt.Sprint: spaces between operands when neither side is a string. */
function sprint(args: unknown[]): string {
  let out = '';
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += formatValue(a);
  });
  return out;
}

// ---------------------------------------------------------------------------
// Builtin functions

interface FuncDef {
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

function toJSON(v: unknown, indent?: number): string {
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
const BUILTINS: Record<string, FuncDef> = {
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

// ---------------------------------------------------------------------------
// Execution

const NO_FINAL: unique symbol = Symbol('no final value');
type Final = unknown;
type Signal = 'break' | 'continue' | undefined;

interface Variable { name: string; value: unknown }

/** Finds a field on a receiver; `found` is false for a missing map key. */
function lookupField(receiver: object, name: string): { found: boolean; value: unknown } {
  if (receiver instanceof Map) {
    if (receiver.has(name)) return { found: true, value: receiver.get(name) };
    const key = [...receiver.keys()].find((k) => typeof k === 'string' && k.toLowerCase() === name.toLowerCase());
    return key === undefined ? { found: false, value: undefined } : { found: true, value: receiver.get(key) };
  }
  const rec = receiver as Record<string, unknown>;
  // Own keys, or class members (getters/methods) — but never Object.prototype's.
  if (Object.hasOwn(rec, name) || (name in rec && !(name in Object.prototype))) return { found: true, value: rec[name] };
  const lower = name.toLowerCase();
  const key = Object.keys(rec).find((k) => k.toLowerCase() === lower);
  return key === undefined ? { found: false, value: undefined } : { found: true, value: rec[key] };
}

class Executor {
  private readonly out: string[] = [];
  private readonly vars: Variable[];

  constructor(private readonly src: string, data: unknown) {
    this.vars = [{ name: '$', value: data }];
  }

  run(root: ListNode, data: unknown): string {
    this.walkList(data, root);
    return this.out.join('');
  }

  /** Go's exec error: `template: NAME:LINE:COL: executing "NAME" at <NODE>: MSG`. */
  private fail(node: ArgNode | CommandNode, msg: string): never {
    const before = this.src.slice(0, node.pos);
    const lineStart = before.lastIndexOf('\n') + 1;
    // Go reports the 0-based byte offset within the line.
    const col = Buffer.byteLength(before.slice(lineStart), 'utf8');
    const ctx = nodeString(node);
    const message = `template: :${lineOf(this.src, node.pos)}:${col}: executing "" at <${ctx}>: ${msg}`;
    throw new TemplateError(message.replace(/\r?\n/g, '\\n'));
  }

  // --- statements ---

  private walkList(dot: unknown, list: ListNode): Signal {
    for (const node of list.nodes) {
      const signal = this.walk(dot, node);
      if (signal) return signal;
    }
    return undefined;
  }

  private walk(dot: unknown, node: Node): Signal {
    switch (node.type) {
      case 'text':
        this.out.push(node.text);
        return undefined;
      case 'action': {
        const value = this.evalPipeline(dot, node.pipe, true);
        if (node.pipe.decl.length === 0) this.print(node.pipe, value);
        return undefined;
      }
      case 'if':
      case 'with':
        return this.walkIfOrWith(dot, node);
      case 'range':
        return this.walkRange(dot, node);
      case 'break':
      case 'continue':
        return node.type;
    }
  }

  private print(pipe: PipeNode, value: unknown): void {
    if (typeof value === 'function') this.fail(pipe, `can't print ${nodeString(pipe)} of type func`);
    this.out.push(formatValue(value, true));
  }

  private scoped<T>(fn: () => T): T {
    const mark = this.vars.length;
    try {
      return fn();
    } finally {
      this.vars.length = mark;
    }
  }

  private walkIfOrWith(dot: unknown, node: BranchNode): Signal {
    return this.scoped(() => {
      const value = this.evalPipeline(dot, node.pipe, true);
      if (isTrue(value)) return this.walkList(node.type === 'with' ? value : dot, node.list);
      return node.elseList ? this.walkList(dot, node.elseList) : undefined;
    });
  }

  /** Collects [key, element] pairs to range over, Go-style. */
  private rangeItems(node: BranchNode, value: unknown): [unknown, unknown][] {
    if (value === undefined || value === null) return [];
    if (isArrayLike(value)) return toArray(value).map((e, i) => [i, e]);
    if (typeof value === 'number' && Number.isInteger(value)) {
      if (node.pipe.decl.length > 1) this.fail(node.pipe, `can't use ${value} to iterate over more than one variable`);
      return Array.from({ length: Math.max(value, 0) }, (_, i) => [i, i]);
    }
    if (isMapLike(value) && (isPlainObject(value) || value instanceof Map)) return mapEntries(value);
    this.fail(node.pipe, `range can't iterate over ${formatValue(value)}`);
  }

  private walkRange(dot: unknown, node: BranchNode): Signal {
    return this.scoped(() => {
      const value = this.evalPipeline(dot, node.pipe, false);
      const items = this.rangeItems(node, value);
      if (items.length === 0) return node.elseList ? this.walkList(dot, node.elseList) : undefined;
      for (const [key, elem] of items) {
        const signal = this.scoped(() => {
          this.bindRangeVars(node.pipe, key, elem);
          return this.walkList(elem, node.list);
        });
        if (signal === 'break') break;
      }
      return undefined;
    });
  }

  /** One variable gets the element; two get index/key and element. */
  private bindRangeVars(pipe: PipeNode, key: unknown, elem: unknown): void {
    const values = pipe.decl.length > 1 ? [key, elem] : [elem];
    pipe.decl.forEach((name, i) => {
      if (pipe.isAssign) this.setVar(pipe, name, values[i]);
      else this.vars.push({ name, value: values[i] });
    });
  }

  private setVar(node: PipeNode, name: string, value: unknown): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i].name === name) {
        this.vars[i].value = value;
        return;
      }
    }
    this.fail(node, `undefined variable: ${name}`);
  }

  private varValue(node: ArgNode, name: string): unknown {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i].name === name) return this.vars[i].value;
    this.fail(node, `undefined variable: ${name}`);
  }

  // --- expressions ---

  private evalPipeline(dot: unknown, pipe: PipeNode, declare: boolean): unknown {
    let value: Final = NO_FINAL;
    for (const cmd of pipe.cmds) value = this.evalCommand(dot, cmd, value);
    if (declare) {
      for (const name of pipe.decl) {
        if (pipe.isAssign) this.setVar(pipe, name, value);
        else this.vars.push({ name, value });
      }
    }
    return value;
  }

  private notAFunction(node: ArgNode, args: ArgNode[], final: Final): void {
    if (args.length > 0 || final !== NO_FINAL) this.fail(node, `can't give argument to non-function ${nodeString(node)}`);
  }

  /** A command's first word decides: method/field call, function call, or a plain value. */
  private evalCommand(dot: unknown, cmd: CommandNode, final: Final): unknown {
    const [first, ...args] = cmd.args;
    switch (first.type) {
      case 'field': return this.evalFieldChain(dot, first, dot, first.idents, args, final);
      case 'chain': {
        if (first.node.type === 'nil') this.fail(first, `indirection through explicit nil in ${nodeString(first)}`);
        const receiver = this.evalArg(dot, first.node);
        return this.evalFieldChain(dot, first, receiver, first.fields, args, final);
      }
      case 'identifier': return this.evalFunction(dot, first, cmd, args, final);
      case 'variable': {
        const value = this.varValue(first, first.idents[0]);
        if (first.idents.length === 1) {
          this.notAFunction(first, args, final);
          return value;
        }
        return this.evalFieldChain(dot, first, value, first.idents.slice(1), args, final);
      }
      case 'nil':
        this.fail(first, 'nil is not a command');
    }
    this.notAFunction(first, args, final);
    return this.evalArg(dot, first);
  }

  /** Evaluates an argument: like a command with no arguments. */
  private evalArg(dot: unknown, node: ArgNode): unknown {
    switch (node.type) {
      case 'dot': return dot;
      case 'nil': return null;
      case 'bool': case 'number': case 'string': return node.value;
      case 'pipe': return this.evalPipeline(dot, node, true);
      default: return this.evalCommand(dot, { type: 'command', pos: node.pos, args: [node] }, NO_FINAL);
    }
  }

  private evalFieldChain(dot: unknown, node: ArgNode, receiver: unknown, idents: string[], args: ArgNode[], final: Final): unknown {
    let value = receiver;
    idents.forEach((name, i) => {
      const last = i === idents.length - 1;
      value = this.evalField(dot, node, name, value, last ? args : [], last ? final : NO_FINAL);
    });
    return value;
  }

  private evalField(dot: unknown, node: ArgNode, name: string, receiver: unknown, args: ArgNode[], final: Final): unknown {
    const hasArgs = args.length > 0 || final !== NO_FINAL;
    // Lenient: fields of nil or a missing value are missing too (Go errors on nil pointers).
    if (receiver === undefined || receiver === null) return undefined;
    if (typeof receiver !== 'object' && typeof receiver !== 'function') {
      this.fail(node, `can't evaluate field ${name} in type ${goType(receiver)}`);
    }
    if (isArrayLike(receiver)) this.fail(node, `can't evaluate field ${name} in type ${goType(receiver)}`);
    const { value } = lookupField(receiver, name);
    if (typeof value === 'function') {
      const argv = args.map((a) => this.evalArg(dot, a));
      if (final !== NO_FINAL) argv.push(final);
      try {
        return (value as (...a: unknown[]) => unknown).apply(receiver, argv);
      } catch (e) {
        if (e instanceof TemplateError) throw e;
        this.fail(node, `error calling ${name}: ${(e as Error).message}`);
      }
    }
    if (hasArgs) this.fail(node, `${name} is not a method but has arguments`);
    return value;
  }

  /** Arity errors point at the function name, call errors at the whole command (as Go does). */
  private evalFunction(dot: unknown, node: IdentifierNode, cmd: CommandNode, args: ArgNode[], final: Final): unknown {
    const def = BUILTINS[node.name];
    const count = args.length + (final === NO_FINAL ? 0 : 1);
    if (count < def.min || count > def.max) {
      const want = def.max === Infinity ? `at least ${def.min}` : def.min === def.max ? `${def.min}` : `${def.min} to ${def.max}`;
      this.fail(node, `wrong number of args for ${node.name}: want ${want} got ${count}`);
    }
    if (node.name === 'and' || node.name === 'or') return this.evalAndOr(dot, node.name, args, final);
    const argv = args.map((a) => this.evalArg(dot, a));
    if (final !== NO_FINAL) argv.push(final);
    try {
      return def.fn(...argv);
    } catch (e) {
      if (e instanceof TemplateError) throw e;
      this.fail(cmd, `error calling ${node.name}: ${(e as Error).message}`);
    }
  }

  /** and/or short-circuit, returning the deciding operand (Go 1.18+). */
  private evalAndOr(dot: unknown, name: 'and' | 'or', args: ArgNode[], final: Final): unknown {
    let value: unknown;
    for (const arg of args) {
      value = this.evalArg(dot, arg);
      if (isTrue(value) === (name === 'or')) return value;
    }
    return final === NO_FINAL ? value : final;
  }
}

// ---------------------------------------------------------------------------
// Public API

class GoTemplate implements Template {
  constructor(readonly src: string, readonly root: ListNode) {}

  execute(data: unknown): string {
    return new Executor(this.src, data).run(this.root, data);
  }
}

/** Parses a template; throws TemplateError on bad syntax or unknown functions. */
export function parseTemplate(src: string): Template {
  return new GoTemplate(src, parse(src, (name) => Object.hasOwn(BUILTINS, name)));
}

/** Parses and executes in one step. */
export function renderTemplate(src: string, data: unknown): string {
  return parseTemplate(src).execute(data);
}

/** Docker lets shell users type `\t` and `\n` literally in --format. */
function unescapeFormat(format: string): string {
  return format.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
}

function withNewline(s: string): string {
  return s.endsWith('\n') ? s : s + '\n';
}

/**
 * Renders a list for a CLI `--format` flag:
 *   - `json`: the items as a JSON array indented by 4 spaces (as podman does);
 *   - `table <template>`: a header row, then one row per item, aligned like
 *     Docker's tabwriter. A bare `table` uses the `headers` keys as columns
 *     (or the first item's keys). `headers` maps field names to titles;
 *   - anything else: the template once per item, each ending in a newline.
 */
export function formatList(format: string, items: unknown[], headers?: Record<string, string>): string {
  if (format.trim() === 'json') return toJSON(items, 4) + '\n';
  const src = unescapeFormat(format);
  if (!isTableFormat(src)) {
    const tmpl = parseTemplate(src);
    return items.map((item) => withNewline(tmpl.execute(item))).join('');
  }
  const body = tableBody(src, Object.keys(headers ?? (isMapLike(items[0]) ? items[0] : {})));
  if (body === '') return ''; // bare `table` with nothing to describe
  const tmpl = parseTemplate(body) as GoTemplate;
  const rows = [withNewline(tableHeaderRow(tmpl.root, headers))];
  for (const item of items) rows.push(withNewline(tmpl.execute(item)));
  return alignColumns(rows.join(''));
}
