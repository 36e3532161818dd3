// The instructions that only edit the image config (ENV, LABEL, MAINTAINER, EXPOSE, VOLUME,
// USER, WORKDIR's path, HEALTHCHECK, STOPSIGNAL, SHELL, CMD, ENTRYPOINT, ONBUILD), applied to
// an already expanded Instruction, and the `created_by` text each step gets in the image
// history, as Podman writes it (`/bin/sh -c #(nop) ENV A=1` for config-only steps). Pure.
import * as path from 'node:path';
import { InvalidArgumentError } from '../errors';
import { exposedPorts } from '../image/config-changes';
import type { ContainerConfig, HealthConfig } from '../image/manifest';
import { onbuildTriggerText } from './dockerfile-parser';
import type { Instruction } from './dockerfile-types';
import { goDurationNs } from '../format/go-duration';

export const DEFAULT_SHELL = ['/bin/sh', '-c'];

/** What a config step changes besides the container config. */
export interface ConfigStepResult {
  config: ContainerConfig;
  author?: string;
}

/** The stage-level facts a config step needs. */
export interface ConfigStepContext {
  /** CMD was set by this stage already (ENTRYPOINT then keeps it, else it clears the base's) */
  cmdSetInStage: boolean;
}

export function flagValue(ins: Instruction, name: string): string | undefined {
  const found = ins.flags.filter((f) => f.name.replace(/^--/, '') === name);
  return found.length ? found[found.length - 1].value : undefined;
}

export function flagValues(ins: Instruction, name: string): string[] {
  return ins.flags.filter((f) => f.name.replace(/^--/, '') === name).map((f) => f.value);
}

/** `key=value` words (ENV, LABEL, ARG after the parser). */
function pairs(ins: Instruction): [string, string][] {
  return ins.args.map((w) => {
    const eq = w.indexOf('=');
    if (eq <= 0) throw new InvalidArgumentError(`${ins.keyword} ${JSON.stringify(w)}: expected KEY=VALUE`);
    return [w.slice(0, eq), w.slice(eq + 1)];
  });
}

function setEnv(env: readonly string[], key: string, value: string): string[] {
  return [...env.filter((kv) => kv !== key && !kv.startsWith(`${key}=`)), `${key}=${value}`];
}

/** CMD/ENTRYPOINT/RUN: exec form as given, shell form through the stage's SHELL. */
export function commandArgs(ins: Instruction, shell: readonly string[] | undefined): string[] {
  if (ins.form === 'exec') return [...ins.args];
  const text = ins.args.join(' ');
  return [...(shell && shell.length ? shell : DEFAULT_SHELL), text];
}

/** Go's time.ParseDuration for what HEALTHCHECK takes (`30s`, `1m30s`, `500ms`) in ns. */
export function parseDuration(flag: string, text: string): number {
  const ns = goDurationNs(text);
  if (ns === undefined) throw new InvalidArgumentError(`HEALTHCHECK --${flag}: invalid duration ${JSON.stringify(text)}`);
  return ns;
}

function healthcheck(ins: Instruction): HealthConfig {
  const [kind, ...rest] = ins.args;
  if ((kind ?? '').toUpperCase() === 'NONE') return { Test: ['NONE'] };
  if ((kind ?? '').toUpperCase() !== 'CMD') throw new InvalidArgumentError('HEALTHCHECK: expected CMD or NONE');
  if (rest.length === 0) throw new InvalidArgumentError('HEALTHCHECK CMD: missing command');
  const out: HealthConfig = { Test: ins.form === 'exec' ? ['CMD', ...rest] : ['CMD-SHELL', rest.join(' ')] };
  const durations: [string, keyof HealthConfig][] = [
    ['interval', 'Interval'],
    ['timeout', 'Timeout'],
    ['start-period', 'StartPeriod'],
    ['start-interval', 'StartInterval'],
  ];
  for (const [flag, key] of durations) {
    const v = flagValue(ins, flag);
    if (v !== undefined) (out as Record<string, number>)[key] = parseDuration(flag, v);
  }
  const retries = flagValue(ins, 'retries');
  if (retries !== undefined) {
    if (!/^\d+$/.test(retries)) throw new InvalidArgumentError(`HEALTHCHECK --retries: invalid number ${JSON.stringify(retries)}`);
    out.Retries = Number(retries);
  }
  return out;
}

/** The trigger ONBUILD stores; chaining ONBUILD or FROM is refused (the parser refuses it too). */
function onbuildText(ins: Instruction): string {
  const inner = ins.onbuild;
  if (!inner) throw new InvalidArgumentError('ONBUILD requires an instruction');
  if (['ONBUILD', 'FROM', 'MAINTAINER'].includes(inner.keyword)) throw new InvalidArgumentError(`${inner.keyword} isn't allowed as an ONBUILD trigger`);
  return onbuildTriggerText(ins);
}

/** Applies a config-only instruction (expanded) to a copy of the config. */
export function applyConfigInstruction(config: ContainerConfig, ins: Instruction, ctx: ConfigStepContext): ConfigStepResult {
  const next: ContainerConfig = { ...config };
  const one = (): string => {
    if (ins.args.length !== 1 || ins.args[0] === '') throw new InvalidArgumentError(`${ins.keyword} requires exactly one argument`);
    return ins.args[0];
  };
  switch (ins.keyword) {
    case 'ENV': {
      let env = [...(config.Env ?? [])];
      for (const [k, v] of pairs(ins)) env = setEnv(env, k, v);
      next.Env = env;
      break;
    }
    case 'LABEL': {
      next.Labels = { ...(config.Labels ?? {}) };
      for (const [k, v] of pairs(ins)) next.Labels[k] = v;
      break;
    }
    case 'MAINTAINER':
      return { config: next, author: ins.args.join(' ') };
    case 'EXPOSE': {
      const ports = { ...(config.ExposedPorts ?? {}) };
      for (const word of ins.args) for (const p of exposedPorts(word)) ports[p] = {};
      next.ExposedPorts = ports;
      break;
    }
    case 'VOLUME': {
      const volumes = { ...(config.Volumes ?? {}) };
      if (ins.args.length === 0) throw new InvalidArgumentError('VOLUME requires at least one path');
      for (const v of ins.args) {
        if (v.trim() === '') throw new InvalidArgumentError('VOLUME paths must not be empty');
        volumes[v] = {};
      }
      next.Volumes = volumes;
      break;
    }
    case 'USER':
      next.User = one();
      break;
    case 'WORKDIR':
      next.WorkingDir = path.posix.resolve(config.WorkingDir || '/', one());
      break;
    case 'STOPSIGNAL':
      next.StopSignal = one();
      break;
    case 'HEALTHCHECK':
      next.Healthcheck = healthcheck(ins);
      break;
    case 'SHELL':
      if (ins.form !== 'exec' || ins.args.length === 0) throw new InvalidArgumentError('SHELL requires the arguments to be in JSON form, e.g. SHELL ["/bin/bash", "-c"]');
      next.Shell = [...ins.args];
      break;
    case 'CMD':
      next.Cmd = commandArgs(ins, config.Shell);
      break;
    case 'ENTRYPOINT':
      next.Entrypoint = ins.form === 'shell' && ins.args.join('') === '' ? null : commandArgs(ins, config.Shell);
      // Docker: a new ENTRYPOINT drops the CMD inherited from the base image
      if (!ctx.cmdSetInStage) next.Cmd = null;
      break;
    case 'ONBUILD':
      next.OnBuild = [...(config.OnBuild ?? []), onbuildText(ins)];
      break;
    default:
      throw new InvalidArgumentError(`${ins.keyword} is not a config instruction`);
  }
  return { config: next };
}

/** The history `created_by` of a config-only step, as Podman writes it. */
export function nopCreatedBy(ins: Instruction): string {
  let text: string;
  switch (ins.keyword) {
    case 'CMD':
    case 'ENTRYPOINT':
    case 'SHELL':
      text = ins.form === 'exec' ? JSON.stringify(ins.args) : ins.args.join(' ');
      break;
    case 'HEALTHCHECK': {
      const flags = ins.flags.map((f) => `--${f.name.replace(/^--/, '')}=${f.value} `).join('');
      const [kind, ...rest] = ins.args;
      text = `${flags}${kind}${rest.length ? ` ${ins.form === 'exec' ? JSON.stringify(rest) : rest.join(' ')}` : ''}`;
      break;
    }
    case 'ONBUILD':
      text = onbuildTriggerText(ins);
      break;
    default:
      text = ins.args.join(' ');
  }
  return `/bin/sh -c #(nop) ${ins.keyword} ${text}`;
}

/** RUN's `created_by`: the command, after Docker's `|N A=1 B=2` list of the build args in use. */
export function runCreatedBy(args: readonly string[], buildArgs: readonly [string, string][]): string {
  const prefix = buildArgs.length ? `|${buildArgs.length} ${buildArgs.map(([k, v]) => `${k}=${v}`).join(' ')} ` : '';
  return `${prefix}${args.join(' ')}`;
}
