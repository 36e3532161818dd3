/**
 * Go's fmt for templates: how a value prints (`%v`, `formatValue`) and
 * `printf`'s verbs (`sprintf`), with the strconv float formatting and string
 * quoting they rest on. Also the Go view of JS values (maps, slices, type
 * names) that the template functions and the executor share.
 */

import { runeLength } from './runes';

// ---------------------------------------------------------------------------
// Go-style value printing (fmt's %v)

export function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

export function isArrayLike(v: unknown): v is ArrayLike<unknown> {
  return Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView)) || v instanceof Set;
}

export function toArray(v: ArrayLike<unknown> | Set<unknown>): unknown[] {
  return Array.from(v as ArrayLike<unknown>);
}

/** Entries of a map-like value, sorted by key as Go's fmt and range do. */
export function mapEntries(v: object): [unknown, unknown][] {
  const entries: [unknown, unknown][] = v instanceof Map ? [...v.entries()] : Object.entries(v);
  const numeric = entries.every(([k]) => typeof k === 'number');
  return entries.sort(([a], [b]) => {
    if (numeric) return (a as number) - (b as number);
    const sa = String(a);
    const sb = String(b);
    return sa < sb ? -1 : sa > sb ? 1 : 0;
  });
}

export function isMapLike(v: unknown): v is object {
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
export function goType(v: unknown): string {
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

export function isPrintable(ch: string): boolean {
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

// ---------------------------------------------------------------------------
// printf

interface FmtSpec { minus: boolean; plus: boolean; sharp: boolean; space: boolean; zero: boolean; width?: number; prec?: number }

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
export function sprint(args: unknown[]): string {
  let out = '';
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' ';
    out += formatValue(a);
  });
  return out;
}
