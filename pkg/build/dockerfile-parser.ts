// Dockerfile text to stages of instructions (see dockerfile-types.ts for the shape).
// Follows the Docker/BuildKit front end: directives, continuations, here-documents and
// each instruction's argument syntax; errors name the file, the line and the instruction.

import type { Dockerfile, Instruction, Stage } from './dockerfile-types';
import { InstructionError, heredocsForLine, parseInstruction } from './dockerfile-instructions';
import { LineError, scanLines } from './dockerfile-lines';

/** A Dockerfile that cannot be parsed; the message reads `Dockerfile:12: COPY: what is wrong`. */
export class DockerfileError extends Error {
  constructor(
    readonly path: string,
    readonly line: number | undefined,
    readonly instruction: string | undefined,
    readonly reason: string,
  ) {
    super(`${path}${line !== undefined ? `:${line}` : ''}: ${instruction ? `${instruction}: ` : ''}${reason}`);
    this.name = 'DockerfileError';
  }
}

const STAGE_NAME = /^[a-z][a-z0-9-_.]*$/;

function stageName(from: Instruction, path: string): string | undefined {
  if (from.args.length !== 3) return undefined;
  const name = from.args[2].toLowerCase();
  if (!STAGE_NAME.test(name)) {
    throw new DockerfileError(path, from.line, 'FROM', `invalid stage name "${from.args[2]}": it must start with a letter and contain only letters, digits, '-', '_' and '.'`);
  }
  return name;
}

export function parseDockerfile(text: string, path: string): Dockerfile {
  let scanned;
  try {
    scanned = scanLines(text, heredocsForLine);
  } catch (err) {
    if (err instanceof LineError) throw new DockerfileError(path, err.line, undefined, err.message);
    throw err;
  }
  const globalArgs: Instruction[] = [];
  const stages: Stage[] = [];
  const names = new Map<string, number>();
  for (const logical of scanned.lines) {
    let ins: Instruction;
    try {
      ins = parseInstruction(logical.text, logical.line, logical.heredocs, scanned.escape);
    } catch (err) {
      if (err instanceof InstructionError) throw new DockerfileError(path, logical.line, err.keyword, err.message);
      throw err;
    }
    if (ins.keyword === 'FROM') {
      const name = stageName(ins, path);
      if (name !== undefined) {
        const earlier = names.get(name);
        if (earlier !== undefined) throw new DockerfileError(path, ins.line, 'FROM', `duplicate stage name "${name}" (first used on line ${earlier})`);
        names.set(name, ins.line);
      }
      stages.push({ index: stages.length, name, from: ins, instructions: [] });
    } else if (stages.length > 0) {
      stages[stages.length - 1].instructions.push(ins);
    } else if (ins.keyword === 'ARG') {
      globalArgs.push(ins);
    } else {
      throw new DockerfileError(path, ins.line, ins.keyword, 'no build stage in current context: the first instruction must be FROM (only ARG may come before it)');
    }
  }
  if (stages.length === 0) throw new DockerfileError(path, undefined, undefined, 'no FROM instruction: a Dockerfile needs at least one FROM to build from');
  return { path, escape: scanned.escape, syntax: scanned.syntax, globalArgs, stages, warnings: scanned.warnings };
}

/**
 * The text an image's config keeps for an ONBUILD trigger, as Docker writes it: the inner
 * instruction as written, each here-document's body and delimiter after it.
 */
export function onbuildTriggerText(ins: Instruction): string {
  const inner = ins.onbuild ?? ins;
  return inner.original + inner.heredocs.map((h) => `\n${h.content}${h.name}`).join('');
}

/**
 * Parses one ONBUILD trigger from a base image's config (`RUN echo hi`, or a text with
 * here-documents as onbuildTriggerText writes it). `line` is the FROM line that triggered it.
 */
export function parseTrigger(text: string, path: string, line: number, escape = '\\'): Instruction {
  let scanned;
  try {
    scanned = scanLines(text, heredocsForLine);
  } catch (err) {
    if (err instanceof LineError) throw new DockerfileError(path, line, 'ONBUILD', `trigger "${text}": ${err.message}`);
    throw err;
  }
  if (scanned.lines.length !== 1) throw new DockerfileError(path, line, 'ONBUILD', `trigger "${text}" is not one instruction`);
  const [logical] = scanned.lines;
  try {
    const ins = parseInstruction(logical.text, line, logical.heredocs, escape);
    if (['ONBUILD', 'FROM', 'MAINTAINER'].includes(ins.keyword)) throw new InstructionError(`${ins.keyword} isn't allowed as an ONBUILD trigger`, 'ONBUILD');
    return ins;
  } catch (err) {
    if (err instanceof InstructionError) throw new DockerfileError(path, line, err.keyword, `in an ONBUILD trigger of the base image: ${err.message}`);
    throw err;
  }
}
