// Docker's variable substitution in Dockerfile words: $VAR, ${VAR}, ${VAR:-word},
// ${VAR-word}, ${VAR:+word}, ${VAR+word}, ${VAR:?msg}, ${VAR?msg}, ${VAR#pat},
// ${VAR##pat}, ${VAR%pat}, ${VAR%%pat}, ${VAR/pat/repl}, ${VAR//pat/repl}, with single
// and double quotes processed the way the Dockerfile front end does it (quotes removed,
// the escape character escaping the next character). Only the instructions Docker expands
// go through here (see expandInstruction); RUN/CMD/ENTRYPOINT text is left to the shell.

import { InvalidArgumentError } from '../errors';
import type { Instruction } from './dockerfile-types';

export type VariableLookup = (name: string) => string | undefined;

/**
 * A word that cannot be expanded (unterminated quote, bad ${...}). From expandInstruction it
 * carries the instruction's line and keyword (the message then reads `line 3: WORKDIR: ...`),
 * so a caller that knows the file can say `Dockerfile:3: WORKDIR: <reason>`.
 */
export class ExpansionError extends InvalidArgumentError {
  constructor(
    readonly reason: string,
    readonly line?: number,
    readonly instruction?: string,
  ) {
    super(line === undefined ? reason : `line ${line}: ${instruction}: ${reason}`);
  }
}

interface ScanOptions {
  /** Quotes are ordinary characters (here-document bodies). */
  literalQuotes?: boolean;
}

const SPECIAL_PARAMS = new Set(['@', '*', '#', '?', '-', '$', '!', '0']);

class WordScanner {
  private pos = 0;
  private rawEscapes = false;

  constructor(
    private readonly text: string,
    private readonly vars: VariableLookup,
    private readonly escape: string,
    private readonly options: ScanOptions = {},
  ) {}

  expandAll(): string {
    return this.until(undefined, false);
  }

  private peek(): string | undefined {
    return this.pos < this.text.length ? this.text[this.pos] : undefined;
  }

  private next(): string | undefined {
    return this.pos < this.text.length ? this.text[this.pos++] : undefined;
  }

  /** Reads up to (and consumes) `stop`, or to the end when stop is undefined. */
  private until(stop: string | undefined, rawEscapes: boolean): string {
    const saved = this.rawEscapes;
    this.rawEscapes = rawEscapes;
    try {
      let out = '';
      for (let ch = this.peek(); ch !== undefined; ch = this.peek()) {
        if (stop !== undefined && ch === stop) {
          this.pos++;
          return out;
        }
        if (ch === '$') out += this.dollar();
        else if (ch === "'" && !this.options.literalQuotes) out += this.singleQuoted();
        else if (ch === '"' && !this.options.literalQuotes) out += this.doubleQuoted();
        else {
          this.pos++;
          if (ch === this.escape) {
            if (this.options.literalQuotes) {
              // Here-document rules: only $ and the escape itself are escapable.
              const n = this.peek();
              if (n === '$' || n === this.escape) out += this.next();
              else out += ch;
              continue;
            }
            if (this.rawEscapes) out += ch;
            const escaped = this.next();
            if (escaped === undefined) break;
            out += escaped;
          } else {
            out += ch;
          }
        }
      }
      if (stop !== undefined) throw new ExpansionError(`unexpected end of statement while looking for matching ${stop}`);
      return out;
    } finally {
      this.rawEscapes = saved;
    }
  }

  private singleQuoted(): string {
    // Nothing is special between single quotes, not even the escape character.
    this.pos++;
    let out = '';
    for (;;) {
      const ch = this.next();
      if (ch === undefined) throw new ExpansionError('unexpected end of statement while looking for matching single-quote');
      if (ch === "'") return out;
      out += ch;
    }
  }

  private doubleQuoted(): string {
    this.pos++;
    let out = '';
    for (;;) {
      const ch = this.peek();
      if (ch === undefined) throw new ExpansionError('unexpected end of statement while looking for matching double-quote');
      if (ch === '"') {
        this.pos++;
        return out;
      }
      if (ch === '$') {
        out += this.dollar();
        continue;
      }
      this.pos++;
      if (ch === this.escape) {
        const n = this.peek();
        if (n === undefined) continue;
        if (n === '"' || n === '$' || n === this.escape) {
          if (this.rawEscapes) out += ch;
          out += this.next();
          continue;
        }
      }
      out += ch;
    }
  }

  private name(): string {
    let name = '';
    for (let ch = this.peek(); ch !== undefined; ch = this.peek()) {
      if (name === '' && /[0-9]/.test(ch)) {
        while (this.peek() !== undefined && /[0-9]/.test(this.peek() as string)) name += this.next();
        return name;
      }
      if (name === '' && SPECIAL_PARAMS.has(ch)) return this.next() as string;
      if (!/[\p{L}\p{N}_]/u.test(ch)) break;
      name += this.next();
    }
    return name;
  }

  private lookup(name: string): string | undefined {
    return this.vars(name);
  }

  private dollar(): string {
    this.pos++; // the $
    if (this.peek() !== '{') {
      const name = this.name();
      if (name === '') return '$';
      return this.lookup(name) ?? '';
    }
    this.pos++; // the {
    const first = this.peek();
    if (first === undefined) throw new ExpansionError("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') throw new ExpansionError('syntax error: bad substitution');
    const name = this.name();
    let op = this.next();
    if (op === undefined) throw new ExpansionError("syntax error: missing '}'");
    if (op === '}') return this.lookup(name) ?? '';
    if (op === '/') return this.replace(name);
    let nullIsUnset = false;
    let opText = op;
    if (op === ':') {
      nullIsUnset = true;
      op = this.next();
      if (op === undefined) throw new ExpansionError("syntax error: missing '}'");
      opText += op;
    }
    if (!['+', '-', '?', '#', '%'].includes(op)) {
      throw new ExpansionError(`unsupported modifier (${opText}) in substitution`);
    }
    const word = this.substitutionWord('}', op === '#' || op === '%');
    const value = this.lookup(name);
    const unset = value === undefined || (nullIsUnset && value === '');
    switch (op) {
      case '-':
        return unset ? word : (value as string);
      case '+':
        return unset ? '' : word;
      case '?':
        if (value === undefined) throw new ExpansionError(`${name}: ${word || 'is not allowed to be unset'}`);
        if (unset) throw new ExpansionError(`${name}: ${word || 'is not allowed to be empty'}`);
        return value;
      default: {
        const greedy = word.startsWith(op);
        const pattern = patternRegex(greedy ? word.slice(1) : word);
        return op === '#' ? trimPrefix(value ?? '', pattern, greedy) : trimSuffix(value ?? '', pattern, greedy);
      }
    }
  }

  private substitutionWord(stop: string, rawEscapes: boolean): string {
    try {
      return this.until(stop, rawEscapes);
    } catch (err) {
      if (this.peek() === undefined && err instanceof ExpansionError && err.message.startsWith('unexpected end')) {
        throw new ExpansionError(stop === '}' ? "syntax error: missing '}'" : "syntax error: missing '/' in ${}");
      }
      throw err;
    }
  }

  private replace(name: string): string {
    const all = this.peek() === '/';
    if (all) this.pos++;
    const pattern = this.substitutionWord('/', true);
    const replacement = this.substitutionWord('}', true);
    const value = this.lookup(name) ?? '';
    const re = new RegExp(globToRegex(pattern), all ? 'gs' : 's');
    return value.replace(re, () => replacement);
  }
}

/**
 * Translates a ${VAR#pattern} / ${VAR/pattern/...} pattern to a regular expression source:
 * `*` and `?` are wildcards; `\*`, `\?`, `\\` are literal; `\}` and `\/` are the plain
 * characters; brackets are literal (Docker has no bracket expressions here).
 */
function globToRegex(pattern: string): string {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '*') out += '.*';
    else if (ch === '?') out += '.';
    else if (ch === '\\') {
      const n = pattern[++i];
      if (n === '}' || n === '/') out += escapeRegex(n);
      else if (n === '*' || n === '?' || n === '\\') out += escapeRegex(n);
      else throw new ExpansionError(`invalid pattern (${pattern}) in substitution: invalid escape '\\${n ?? ''}'`);
    } else out += escapeRegex(ch);
  }
  return out;
}

function escapeRegex(ch: string): string {
  return ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function patternRegex(pattern: string): RegExp {
  return new RegExp(`^(?:${globToRegex(pattern)})$`, 's');
}

function trimPrefix(value: string, pattern: RegExp, greedy: boolean): string {
  for (let k = 0; k <= value.length; k++) {
    const i = greedy ? value.length - k : k;
    if (pattern.test(value.slice(0, i))) return value.slice(i);
  }
  return value;
}

function trimSuffix(value: string, pattern: RegExp, greedy: boolean): string {
  for (let k = 0; k <= value.length; k++) {
    const i = greedy ? k : value.length - k;
    if (pattern.test(value.slice(i))) return value.slice(0, i);
  }
  return value;
}

/** Expands one word: variables substituted, quotes removed, escapes applied. */
export function expandWord(word: string, vars: VariableLookup, escape: string): string {
  return new WordScanner(word, vars, escape).expandAll();
}

/** Expands a here-document body: variables only; quotes are ordinary characters. */
export function expandHeredocContent(content: string, vars: VariableLookup, escape: string): string {
  return new WordScanner(content, vars, escape, { literalQuotes: true }).expandAll();
}

/** Removes quotes and escapes without any variables: a here-document delimiter, for one. */
export function unquoteWord(word: string, escape: string): string {
  return new WordScanner(word, () => undefined, escape).expandAll();
}

// Flags whose values Docker expands, per instruction.
const EXPANDED_FLAGS: Record<string, string[]> = {
  FROM: ['platform'],
  COPY: ['from', 'chown', 'chmod', 'exclude'],
  ADD: ['chown', 'chmod', 'checksum', 'exclude'],
};

function expandKeyValue(word: string, expand: (w: string) => string, keyToo: boolean): string {
  const eq = word.indexOf('=');
  if (eq < 0) return keyToo ? expand(word) : word;
  const key = word.slice(0, eq);
  return `${keyToo ? expand(key) : key}=${expand(word.slice(eq + 1))}`;
}

/** Expands each `key=value` field of a RUN --mount value, as Docker does per field. */
function expandMountFields(value: string, expand: (w: string) => string): string {
  return value
    .split(',')
    .map((field) => expandKeyValue(field, expand, false))
    .join(',');
}

/**
 * Returns a copy of the instruction with its words expanded where Docker expands them:
 * ADD COPY ENV EXPOSE FROM LABEL STOPSIGNAL USER VOLUME WORKDIR ARG (the default value),
 * the flags that take values from variables (--chown, --chmod, --from, --platform,
 * RUN --mount fields) and the bodies of unquoted COPY/ADD here-documents. RUN, CMD,
 * ENTRYPOINT, SHELL, HEALTHCHECK, MAINTAINER and ONBUILD are returned unchanged.
 * Throws ExpansionError with the reason when a word is malformed.
 */
export function expandInstruction(ins: Instruction, vars: VariableLookup, escape: string): Instruction {
  try {
    return expandInstructionWords(ins, vars, escape);
  } catch (err) {
    if (err instanceof ExpansionError && err.line === undefined) throw new ExpansionError(err.reason, ins.line, ins.keyword);
    throw err;
  }
}

function expandInstructionWords(ins: Instruction, vars: VariableLookup, escape: string): Instruction {
  const expand = (w: string) => expandWord(w, vars, escape);
  const flagNames = EXPANDED_FLAGS[ins.keyword] ?? [];
  const flags = ins.flags.map((f) => {
    if (flagNames.includes(f.name)) return { name: f.name, value: expand(f.value) };
    if (ins.keyword === 'RUN' && f.name === 'mount') return { name: f.name, value: expandMountFields(f.value, expand) };
    return f;
  });
  let args = ins.args;
  let heredocs = ins.heredocs;
  switch (ins.keyword) {
    case 'ADD':
    case 'COPY':
      args = args.map(expand);
      heredocs = heredocs.map((h) => (h.expand ? { ...h, content: expandHeredocContent(h.content, vars, escape) } : h));
      break;
    case 'ENV':
    case 'LABEL':
      args = args.map((w) => expandKeyValue(w, expand, true));
      break;
    case 'ARG':
      args = args.map((w) => expandKeyValue(w, expand, false));
      break;
    case 'EXPOSE':
      args = args.flatMap((w) => expand(w).split(/\s+/).filter((p) => p !== ''));
      break;
    case 'FROM':
      args = args.map((w, i) => (i === 0 ? expand(w) : w));
      break;
    case 'STOPSIGNAL':
    case 'USER':
    case 'VOLUME':
    case 'WORKDIR':
      args = args.map(expand);
      break;
    default:
      if (flags.every((f, i) => f === ins.flags[i])) return ins;
  }
  return { ...ins, flags, args, heredocs };
}
