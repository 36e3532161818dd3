// systemd unit files as text: parsing (sections, keys, line numbers, continuation lines),
// systemd's command-line word splitting and quoting, and rendering. Pure functions: the
// generators (`generate systemd`, Quadlet) build on them.
import { InvalidArgumentError } from '../errors';

export interface UnitEntry {
  key: string;
  value: string;
  /** the file (a drop-in's, once merged) and 1-based line of the key, for error messages */
  file: string;
  line: number;
}

export interface UnitSection {
  name: string;
  line: number;
  entries: UnitEntry[];
}

export interface UnitFile {
  path: string;
  sections: UnitSection[];
}

/** A problem in a unit file, reported as FILE:LINE: message. */
export class UnitFileError extends InvalidArgumentError {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly detail: string,
  ) {
    super(`${file}:${line}: ${detail}`);
  }
}

/** Parses systemd's INI dialect: [Section], Key=Value, # and ; comments, trailing-\ continuations. */
export function parseUnitFile(text: string, file: string): UnitFile {
  const sections: UnitSection[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let line = lines[i].trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    if (line.startsWith('[')) {
      if (!line.endsWith(']') || line.length < 3) throw new UnitFileError(file, lineNo, `invalid section header "${line}"`);
      sections.push({ name: line.slice(1, -1), line: lineNo, entries: [] });
      continue;
    }
    // A value continues on the next line while a line ends with a backslash (comments between are skipped).
    while (line.endsWith('\\')) {
      line = `${line.slice(0, -1)} `;
      while (i + 1 < lines.length && /^\s*[#;]/.test(lines[i + 1])) i++;
      if (i + 1 >= lines.length) break;
      line += lines[++i].trim();
    }
    const eq = line.indexOf('=');
    if (eq <= 0) throw new UnitFileError(file, lineNo, `"${line}" is not KEY=VALUE`);
    const section = sections[sections.length - 1];
    if (!section) throw new UnitFileError(file, lineNo, `"${line.slice(0, eq).trim()}" is outside of any section`);
    section.entries.push({ key: line.slice(0, eq).trim(), value: line.slice(eq + 1).trim(), file, line: lineNo });
  }
  return { path: file, sections };
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", ' ': ' ', s: ' ' };

/**
 * Splits a value into words as systemd does for command lines and Environment= lists:
 * whitespace separates, single and double quotes group, backslash escapes the next character.
 */
export function splitWords(value: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: string | undefined;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (ch === '\\' && i + 1 < value.length) {
      const next = value[++i];
      word = (word ?? '') + (ESCAPES[next] ?? `\\${next}`);
    } else if (quote) {
      if (ch === quote) quote = undefined;
      else word = (word ?? '') + ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      word ??= '';
    } else if (/\s/.test(ch)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else {
      word = (word ?? '') + ch;
    }
  }
  if (quote) throw new InvalidArgumentError(`unbalanced quotes in "${value}"`);
  if (word !== undefined) words.push(word);
  return words;
}

/**
 * One argument as systemd must read it back: `%` and `$` doubled unless keepSpecifiers (Quadlet
 * passes %N, %i... on to systemd on purpose), quoted when it holds whitespace, quotes, a
 * backslash or is a lone `;` (systemd's command separator).
 */
export function quoteArg(arg: string, keepSpecifiers = false): string {
  let out = keepSpecifiers ? arg : arg.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  if (out === '' || out === ';' || /[\s"'\\]/.test(out)) {
    out = `"${out.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\t/g, '\\t')}"`;
  }
  return out;
}

/** An Exec line, one group of words per line, continued with " \" and a tab, as Podman writes them. */
export function execLine(key: string, groups: string[][]): string {
  return `${key}=${groups.map((g) => g.join(' ')).join(' \\\n\t')}`;
}

/** Renders sections back to text; entries keep their order. */
export function renderSections(sections: { name: string; lines: string[] }[]): string {
  return sections
    .filter((s) => s.lines.length)
    .map((s) => `[${s.name}]\n${s.lines.join('\n')}\n`)
    .join('\n');
}
