// The physical-line layer of the Dockerfile parser: parser directives at the top of the
// file, comments, line continuations with the escape character (comment and blank lines
// inside a continuation are skipped, as Docker does), and here-document bodies following
// RUN/COPY/ADD lines. Produces one logical line per instruction.

import type { Heredoc } from './dockerfile-types';
import { splitWords } from '../image/config-changes';
import { unquoteWord } from './variable-expansion';

export interface LogicalLine {
  /** 1-based line where the instruction starts. */
  line: number;
  /** The instruction text, continuations joined (escape character and line break removed). */
  text: string;
  heredocs: Heredoc[];
}

export interface ScannedFile {
  escape: string;
  syntax?: string;
  lines: LogicalLine[];
  warnings: { line: number; message: string }[];
}

/** A problem found while reading lines: the caller adds the file name. */
export class LineError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

const DIRECTIVE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const KNOWN_DIRECTIVES = new Set(['escape', 'syntax', 'check']);
const HEREDOC_MARKER = /^(\d*)<<(-?)([^<]*)$/;

/** Reads the parser directives: only comment lines of the form `# name=value` at the very top count. */
class DirectiveReader {
  done = false;
  escape = '\\';
  syntax?: string;
  private readonly seen = new Set<string>();

  read(text: string, line: number): void {
    if (this.done) return;
    const m = DIRECTIVE.exec(text);
    const name = m?.[1].toLowerCase();
    if (!m || !name || !KNOWN_DIRECTIVES.has(name)) {
      this.done = true;
      return;
    }
    if (this.seen.has(name)) throw new LineError(`only one ${name} parser directive can be used`, line);
    this.seen.add(name);
    if (name === 'escape') {
      if (m[2] !== '\\' && m[2] !== '`') throw new LineError(`invalid escape token '${m[2]}': use \` or \\`, line);
      this.escape = m[2];
    } else if (name === 'syntax') {
      this.syntax = m[2];
    }
  }
}

function isComment(text: string): boolean {
  return text.trimStart().startsWith('#');
}

function continuationPattern(escape: string): RegExp {
  return new RegExp(`${escape === '\\' ? '\\\\' : escape}[ \\t]*$`);
}

/** The here-document markers of an instruction line (`<<EOF`, `<<-EOF`, `<<'EOF'`, `2<<EOF`). */
export function heredocMarkers(text: string): Omit<Heredoc, 'content'>[] {
  const markers: Omit<Heredoc, 'content'>[] = [];
  let words: string[];
  try {
    words = splitWords(text); // quotes kept, so "<<EOF" in quotes is no marker
  } catch {
    return []; // an unbalanced quote: the shell will complain, not the parser
  }
  for (const word of words) {
    const m = HEREDOC_MARKER.exec(word);
    if (!m || m[3] === '') continue;
    const name = unquoteWord(m[3], '\\');
    markers.push({ name, expand: name === m[3], chomp: m[2] === '-' });
  }
  return markers;
}

function stripLeadingTabs(content: string): string {
  return content.replace(/^\t+/gm, '');
}

/**
 * Splits the file into logical lines. `heredocsFor` tells, for an instruction's joined
 * text, which here-documents follow it (none for instructions that cannot have them).
 */
export function scanLines(source: string, heredocsFor: (text: string) => Omit<Heredoc, 'content'>[]): ScannedFile {
  const raw = source.replace(/^\uFEFF/, '').split('\n');
  if (raw.length > 0 && raw[raw.length - 1] === '') raw.pop(); // the final newline ends the last line
  const directives = new DirectiveReader();
  const lines: LogicalLine[] = [];
  const warnings: { line: number; message: string }[] = [];
  let i = 0;
  const chompCR = (s: string) => s.replace(/\r$/, '');

  while (i < raw.length) {
    const startLine = i + 1;
    const first = chompCR(raw[i++]).trimStart();
    directives.read(first, startLine);
    if (isComment(first)) continue;
    const continuation = continuationPattern(directives.escape);
    let text = first;
    let ended = !continuation.test(text);
    if (!ended) text = text.replace(continuation, '');
    if (ended && text.trim() === '') continue;

    let emptyContinuation = false;
    while (!ended && i < raw.length) {
      const next = chompCR(raw[i++]);
      directives.read(next, i);
      if (isComment(next)) continue;
      if (next.trim() === '') {
        emptyContinuation = true;
        continue;
      }
      ended = !continuation.test(next);
      text += ended ? next : next.replace(continuation, '');
    }
    if (emptyContinuation) warnings.push({ line: startLine, message: 'empty continuation line (a future Docker release may treat it as the end of the instruction)' });

    const heredocs: Heredoc[] = [];
    for (const marker of heredocsFor(text)) {
      let content = '';
      let terminated = false;
      while (i < raw.length) {
        const bodyLine = raw[i++];
        let candidate = chompCR(bodyLine);
        if (marker.chomp) candidate = candidate.replace(/^\t+/, '');
        if (candidate === marker.name) {
          terminated = true;
          break;
        }
        content += i < raw.length || source.endsWith('\n') ? bodyLine + '\n' : bodyLine;
      }
      if (!terminated) throw new LineError(`unterminated heredoc: no line "${marker.name}" ends the here-document`, startLine);
      heredocs.push({ ...marker, content: marker.chomp ? stripLeadingTabs(content) : content });
    }
    lines.push({ line: startLine, text, heredocs });
  }
  return { escape: directives.escape, syntax: directives.syntax, lines, warnings };
}
