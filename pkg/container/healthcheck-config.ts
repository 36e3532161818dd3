// What a container's health check is: the image's HEALTHCHECK (config.Healthcheck) with the
// --health-* flags of run/create laid over it, in Docker's shape (durations in nanoseconds),
// so inspect's Config.Healthcheck shows exactly what Docker would. Pure: parsing and merging.
import { InvalidArgumentError } from '../errors';
import type { HealthConfig } from '../image/manifest';
import { goDurationNs } from '../format/go-duration';

export type { HealthConfig };

export type HealthOnFailure = 'none' | 'kill' | 'restart' | 'stop';
export const HEALTH_ON_FAILURE: HealthOnFailure[] = ['none', 'kill', 'restart', 'stop'];

const NS_PER_MS = 1_000_000;
/** Docker's and Podman's defaults for what neither the image nor the flags set. */
export const DEFAULT_INTERVAL_NS = 30_000 * NS_PER_MS;
export const DEFAULT_TIMEOUT_NS = 30_000 * NS_PER_MS;
export const DEFAULT_RETRIES = 3;

export interface HealthFlags {
  cmd?: string;
  interval?: string;
  retries?: string;
  startPeriod?: string;
  timeout?: string;
  onFailure?: string;
  noHealthcheck?: boolean;
}

/** Go's time.ParseDuration ("30s", "1m30s", "500ms"); a bare number means seconds, as Podman takes it. */
export function parseDurationNs(flag: string, text: string): number {
  const t = text.trim();
  if (/^\d+(\.\d+)?$/.test(t)) return Math.round(Number(t) * 1e9);
  const ns = goDurationNs(t);
  if (ns === undefined) throw new InvalidArgumentError(`invalid ${flag} "${text}": use a duration such as 30s, 1m30s or 500ms`);
  return ns;
}

/** --health-cmd: a JSON array is an exec form (CMD, or CMD-SHELL if it says so), anything else a shell command. */
export function parseHealthCmd(cmd: string): string[] {
  const t = cmd.trim();
  if (t === '' || t.toLowerCase() === 'none') return ['NONE'];
  if (t.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(t);
    } catch {
      throw new InvalidArgumentError(`invalid --health-cmd ${cmd}: not a JSON array of strings`);
    }
    if (!Array.isArray(parsed) || parsed.length === 0 || !parsed.every((a) => typeof a === 'string')) throw new InvalidArgumentError(`invalid --health-cmd ${cmd}: not a JSON array of strings`);
    const args = parsed as string[];
    if (args[0] === 'CMD' || args[0] === 'CMD-SHELL' || args[0] === 'NONE') return args;
    return ['CMD', ...args];
  }
  return ['CMD-SHELL', cmd];
}

function positiveDuration(flag: string, value: string | undefined, allowZero: boolean): number | undefined {
  if (value === undefined) return undefined;
  if (flag === '--health-interval' && value === 'disable') return 0;
  const ns = parseDurationNs(flag, value);
  if (ns < 0 || (!allowZero && ns === 0)) throw new InvalidArgumentError(`invalid ${flag} "${value}": it must be more than 0`);
  return ns;
}

/**
 * The container's health check, or undefined when it has none (no HEALTHCHECK, NONE, or
 * --no-healthcheck). Fields the flags leave out come from the image, then the defaults.
 */
export function resolveHealthConfig(image: HealthConfig | undefined, flags: HealthFlags): HealthConfig | undefined {
  const tuned = flags.interval !== undefined || flags.retries !== undefined || flags.startPeriod !== undefined || flags.timeout !== undefined;
  if (flags.noHealthcheck) {
    if (flags.cmd !== undefined || tuned) throw new InvalidArgumentError('--no-healthcheck conflicts with the --health-* options');
    return undefined;
  }
  const test = flags.cmd !== undefined ? parseHealthCmd(flags.cmd) : image?.Test;
  const interval = positiveDuration('--health-interval', flags.interval, true);
  const timeout = positiveDuration('--health-timeout', flags.timeout, false);
  const startPeriod = positiveDuration('--health-start-period', flags.startPeriod, true);
  let retries: number | undefined;
  if (flags.retries !== undefined) {
    retries = Number(flags.retries);
    if (!Number.isInteger(retries) || retries < 1) throw new InvalidArgumentError(`invalid --health-retries "${flags.retries}": use a whole number of at least 1`);
  }
  if (!test || test.length === 0 || test[0] === 'NONE') {
    if (flags.cmd === undefined && tuned) throw new InvalidArgumentError('the --health-* options need a health check: give --health-cmd (the image has no HEALTHCHECK)');
    return undefined;
  }
  return {
    Test: test,
    Interval: interval ?? (image?.Interval || DEFAULT_INTERVAL_NS),
    Timeout: timeout ?? (image?.Timeout || DEFAULT_TIMEOUT_NS),
    StartPeriod: startPeriod ?? (image?.StartPeriod || 0),
    Retries: retries ?? (image?.Retries || DEFAULT_RETRIES),
  };
}

export function parseHealthOnFailure(value: string | undefined): HealthOnFailure {
  const v = (value ?? 'none') as HealthOnFailure;
  if (!HEALTH_ON_FAILURE.includes(v)) throw new InvalidArgumentError(`invalid --health-on-failure "${value}": use ${HEALTH_ON_FAILURE.join(', ')}`);
  return v;
}

/** The command a check runs in the container. */
export function healthCommand(config: HealthConfig): string[] {
  const test = config.Test ?? [];
  if (test[0] === 'CMD-SHELL') return ['/bin/sh', '-c', test.slice(1).join(' ')];
  if (test[0] === 'CMD') return test.slice(1);
  return test;
}

export function nsToMs(ns: number | undefined): number {
  return Math.round((ns ?? 0) / NS_PER_MS);
}
