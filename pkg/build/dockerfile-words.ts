// How the Dockerfile front end cuts an instruction's text into pieces before any
// expansion: leading --flags, quote-aware words (kept raw: quotes and escapes stay for the
// expansion step), JSON arrays, and plain whitespace-separated words. Each function follows
// the Docker parser's rules for the instructions that use it.

const SPACE = /\s/;

/** Splits `KEYWORD rest` into the keyword and the rest, ignoring surrounding whitespace. */
export function splitKeyword(line: string): { keyword: string; rest: string } {
  const trimmed = line.trim();
  const m = /[\t\v\f\r ]+/.exec(trimmed);
  if (!m) return { keyword: trimmed, rest: '' };
  return { keyword: trimmed.slice(0, m.index), rest: trimmed.slice(m.index + m[0].length) };
}

/**
 * Takes the `--name=value` words off the front of an instruction's arguments (quotes and
 * backslashes inside a flag are processed); `--` alone ends the flags.
 */
export function extractFlags(rest: string): { flags: string[]; rest: string } {
  const flags: string[] = [];
  let pos = 0;
  for (;;) {
    while (pos < rest.length && SPACE.test(rest[pos])) pos++;
    if (pos >= rest.length) return { flags, rest: '' };
    if (!rest.startsWith('--', pos)) return { flags, rest: rest.slice(pos).trim() };
    let word = '';
    let quote = '';
    let quotedEmpty = false;
    for (; pos < rest.length; pos++) {
      let ch = rest[pos];
      if (quote) {
        if (ch === quote) {
          quote = '';
          continue;
        }
      } else {
        if (SPACE.test(ch)) break;
        if (ch === '"' || ch === "'") {
          quote = ch;
          quotedEmpty = true;
          continue;
        }
      }
      if (ch === '\\') {
        if (pos + 1 === rest.length) continue;
        ch = rest[++pos];
      }
      word += ch;
    }
    if (word === '--') return { flags, rest: rest.slice(pos).trim() };
    if (word !== '' || quotedEmpty) flags.push(word);
  }
}

/**
 * Quote-aware words for ENV, LABEL and ARG: whitespace separates words except inside
 * quotes or after the escape character; quotes and escapes are kept for expansion.
 */
export function splitQuotedWords(rest: string, escape: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote = '';
  let blankOk = false;
  for (let pos = 0; pos < rest.length; pos++) {
    let ch = rest[pos];
    if (!inWord) {
      if (SPACE.test(ch)) continue;
      inWord = true;
    }
    if (quote) {
      if (ch === quote) quote = '';
      else if (ch === escape && quote !== "'") {
        if (pos + 1 === rest.length) continue;
        word += ch;
        ch = rest[++pos];
      }
      word += ch;
      continue;
    }
    if (SPACE.test(ch)) {
      if (blankOk || word !== '') words.push(word);
      word = '';
      blankOk = false;
      inWord = false;
      continue;
    }
    if (ch === '"' || ch === "'") {
      quote = ch;
      blankOk = true;
    } else if (ch === escape) {
      if (pos + 1 === rest.length) continue;
      word += ch;
      ch = rest[++pos];
    }
    word += ch;
  }
  if (inWord && (blankOk || word !== '')) words.push(word);
  return words;
}

/** Words separated by whitespace, nothing else (FROM, EXPOSE, and non-JSON COPY/ADD/VOLUME). */
export function splitWhitespace(rest: string): string[] {
  const trimmed = rest.trim();
  return trimmed === '' ? [] : trimmed.split(/[\t\v\f\r ]+/);
}

export class NotStringArrayError extends Error {
  constructor() {
    super('when using JSON array syntax, arrays must be comprised of strings only');
  }
}

/**
 * The JSON (exec) form: an array of strings, or undefined when the text is not a JSON array
 * (Docker then falls back to the shell/words form). A valid array holding anything but
 * strings is an error, as in Docker.
 */
export function parseJsonArray(rest: string): string[] | undefined {
  const trimmed = rest.trimStart();
  if (!trimmed.startsWith('[')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed)) return undefined;
  if (!parsed.every((v) => typeof v === 'string')) throw new NotStringArrayError();
  return parsed as string[];
}
