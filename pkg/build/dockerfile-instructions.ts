// One logical Dockerfile line to an Instruction: the keyword, its flags, its arguments in
// the form Docker gives that instruction, and the checks Docker makes on their number and
// shape. Problems throw InstructionError (the caller adds file and line).

import type { Heredoc, Instruction } from './dockerfile-types';
import { editDistance } from '../format/edit-distance';
import { FlagError, parseFlags } from './dockerfile-flags';
import { heredocMarkers } from './dockerfile-lines';
import { NotStringArrayError, extractFlags, parseJsonArray, splitKeyword, splitQuotedWords, splitWhitespace } from './dockerfile-words';

export const INSTRUCTION_KEYWORDS = [
  'ADD', 'ARG', 'CMD', 'COPY', 'ENTRYPOINT', 'ENV', 'EXPOSE', 'FROM', 'HEALTHCHECK', 'LABEL',
  'MAINTAINER', 'ONBUILD', 'RUN', 'SHELL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR',
];

const HEREDOC_KEYWORDS = new Set(['RUN', 'COPY', 'ADD']);

export class InstructionError extends Error {
  constructor(
    message: string,
    readonly keyword: string,
  ) {
    super(message);
  }
}

/** The known instruction closest to a misspelt one, when it is close enough to be a typo. */
export function suggestKeyword(word: string): string | undefined {
  const upper = word.toUpperCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of INSTRUCTION_KEYWORDS) {
    const d = editDistance(upper, k);
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(1, Math.floor(upper.length / 3)) ? best : undefined;
}

/** Which here-documents follow a line: only shell-form RUN and words-form COPY/ADD (also under ONBUILD). */
export function heredocsForLine(text: string): Omit<Heredoc, 'content'>[] {
  if (!text.includes('<<')) return [];
  const { keyword, rest } = splitKeyword(text);
  const upper = keyword.toUpperCase();
  if (upper === 'ONBUILD') return heredocsForLine(rest);
  if (!HEREDOC_KEYWORDS.has(upper)) return [];
  try {
    if (parseJsonArray(extractFlags(rest).rest)) return [];
  } catch {
    return [];
  }
  return heredocMarkers(text);
}

type Parsed = Pick<Instruction, 'form' | 'args'>;

function maybeJson(rest: string): Parsed {
  const json = parseJsonArray(rest);
  if (json) return { form: 'exec', args: json };
  return { form: 'shell', args: rest === '' ? [] : [rest] };
}

function maybeJsonList(rest: string): Parsed {
  const json = parseJsonArray(rest);
  if (json) return { form: 'exec', args: json };
  return { form: 'words', args: splitWhitespace(rest) };
}

/** ENV and LABEL: `key=value ...`, or the legacy `key value` with everything after the key as value. */
function keyValues(keyword: string, rest: string, escape: string): Parsed {
  const words = splitQuotedWords(rest, escape);
  if (words.length === 0) throw new InstructionError(`requires at least one argument, like ${keyword} name=value`, keyword);
  if (!words[0].includes('=')) {
    const m = /^(\S+)[\t\v\f\r ]+([\s\S]*)$/.exec(rest);
    if (!m) throw new InstructionError(`must have two arguments (${keyword} name value, or ${keyword} name=value)`, keyword);
    return { form: 'words', args: [`${m[1]}=${m[2]}`] };
  }
  for (const w of words) {
    if (!w.includes('=')) throw new InstructionError(`syntax error: can't find = in "${w}"; must be of the form name=value`, keyword);
    if (w.startsWith('=')) throw new InstructionError(`names can not be blank ("${w}")`, keyword);
  }
  return { form: 'words', args: words };
}

function exactlyOne(keyword: string, args: string[]): void {
  if (args.length !== 1 || args[0] === '') throw new InstructionError('requires exactly one argument', keyword);
}

function parseArguments(keyword: string, rest: string, escape: string): Parsed {
  switch (keyword) {
    case 'FROM': {
      const args = splitWhitespace(rest);
      if (args.length !== 1 && !(args.length === 3 && args[1].toUpperCase() === 'AS')) {
        throw new InstructionError('requires either one or three arguments: FROM image [AS name]', keyword);
      }
      return { form: 'words', args };
    }
    case 'RUN': {
      const p = maybeJson(rest);
      if (p.args.length === 0 && p.form === 'shell') throw new InstructionError('requires at least one argument (the command to run)', keyword);
      return p;
    }
    case 'CMD':
    case 'ENTRYPOINT':
      return maybeJson(rest);
    case 'SHELL': {
      const json = parseJsonArray(rest);
      if (!json) throw new InstructionError('requires the arguments to be in JSON form, like SHELL ["/bin/sh", "-c"]', keyword);
      if (json.length === 0) throw new InstructionError('requires at least one argument', keyword);
      return { form: 'exec', args: json };
    }
    case 'COPY':
    case 'ADD': {
      const p = maybeJsonList(rest);
      if (p.args.length < 2) {
        throw new InstructionError('requires at least two arguments, but only one was provided: the destination could not be determined', keyword);
      }
      if (p.form === 'words' && /^\d*<<-?[^<]+$/.test(p.args[p.args.length - 1])) {
        throw new InstructionError('a here-document cannot be the destination: put the path last', keyword);
      }
      return p;
    }
    case 'VOLUME': {
      const p = maybeJsonList(rest);
      if (p.args.length === 0) throw new InstructionError('requires at least one argument', keyword);
      if (p.args.some((v) => v.trim() === '')) throw new InstructionError('the volume path can not be an empty string', keyword);
      return p;
    }
    case 'ENV':
    case 'LABEL':
      return keyValues(keyword, rest, escape);
    case 'ARG': {
      const args = splitQuotedWords(rest, escape);
      if (args.length === 0) throw new InstructionError('requires at least one argument, like ARG name or ARG name=default', keyword);
      if (args.some((a) => a.startsWith('='))) throw new InstructionError('names can not be blank', keyword);
      return { form: 'words', args };
    }
    case 'EXPOSE': {
      const args = splitWhitespace(rest);
      if (args.length === 0) throw new InstructionError('requires at least one argument, like EXPOSE 80/tcp', keyword);
      return { form: 'words', args };
    }
    case 'MAINTAINER':
    case 'WORKDIR':
    case 'USER':
    case 'STOPSIGNAL': {
      const args = rest === '' ? [] : [rest];
      exactlyOne(keyword, args);
      return { form: 'words', args };
    }
    case 'HEALTHCHECK':
      return healthcheckArguments(rest);
    default:
      throw new InstructionError('unknown instruction', keyword);
  }
}

function healthcheckArguments(rest: string): Parsed {
  const m = /^(\S+)\s*([\s\S]*)$/.exec(rest);
  if (!m) throw new InstructionError('requires at least one argument: HEALTHCHECK [options] CMD command, or HEALTHCHECK NONE', 'HEALTHCHECK');
  const type = m[1].toUpperCase();
  if (type === 'NONE') {
    if (m[2] !== '') throw new InstructionError('HEALTHCHECK NONE takes no arguments', 'HEALTHCHECK');
    return { form: 'words', args: ['NONE'] };
  }
  if (type !== 'CMD') throw new InstructionError(`unknown type "${m[1]}" (use CMD or NONE)`, 'HEALTHCHECK');
  const cmd = maybeJson(m[2]);
  if (cmd.args.length === 0) throw new InstructionError('missing command after HEALTHCHECK CMD', 'HEALTHCHECK');
  return { form: cmd.form, args: ['CMD', ...cmd.args] };
}

/** Parses one logical line (continuations joined) into an Instruction. */
export function parseInstruction(text: string, line: number, heredocs: Heredoc[], escape: string): Instruction {
  const { keyword: word, rest } = splitKeyword(text);
  const keyword = word.toUpperCase();
  if (!INSTRUCTION_KEYWORDS.includes(keyword)) {
    const suggestion = suggestKeyword(word);
    throw new InstructionError(`unknown instruction${suggestion ? ` (did you mean ${suggestion}?)` : ''}`, word);
  }
  const extracted = extractFlags(rest);
  let flags: Instruction['flags'];
  try {
    flags = parseFlags(keyword, extracted.flags);
    if (keyword === 'HEALTHCHECK' && flags.length > 0 && /^NONE\b/i.test(extracted.rest)) {
      throw new FlagError('HEALTHCHECK NONE takes no flags');
    }
  } catch (err) {
    if (err instanceof FlagError) throw new InstructionError(err.message, keyword);
    throw err;
  }
  if (keyword === 'ONBUILD') return onbuild(text, extracted.rest, line, heredocs, escape);
  let parsed: Parsed;
  try {
    parsed = parseArguments(keyword, extracted.rest, escape);
  } catch (err) {
    if (err instanceof NotStringArrayError) throw new InstructionError(err.message, keyword);
    throw err;
  }
  return { keyword, line, original: text, flags, ...parsed, heredocs };
}

function onbuild(text: string, rest: string, line: number, heredocs: Heredoc[], escape: string): Instruction {
  if (rest === '') throw new InstructionError('requires at least one argument: the instruction to run in builds FROM this image', 'ONBUILD');
  const innerKeyword = splitKeyword(rest).keyword.toUpperCase();
  if (innerKeyword === 'ONBUILD') throw new InstructionError('chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed', 'ONBUILD');
  if (innerKeyword === 'FROM' || innerKeyword === 'MAINTAINER') {
    throw new InstructionError(`${innerKeyword} isn't allowed as an ONBUILD trigger`, 'ONBUILD');
  }
  const inner = parseInstruction(rest, line, heredocs, escape);
  return { keyword: 'ONBUILD', line, original: text, flags: [], form: 'words', args: [rest], heredocs: [], onbuild: inner };
}
