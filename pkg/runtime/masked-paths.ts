// Paths of /proc and /sys a container must not read (masked: an empty tmpfs over a directory,
// /dev/null over a file) or must not write (read-only bind over themselves). Podman's lists, with
// the later additions both Docker and Podman made for hardware side channels
// (/sys/devices/virtual/powercap: CVE-2020-8694, /proc/interrupts). --privileged drops both lists,
// --security-opt unmask=PATH|ALL removes entries, mask=PATH adds them.
import { InvalidArgumentError } from '../errors';

export const DEFAULT_MASKED_PATHS: readonly string[] = [
  '/proc/acpi',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/proc/interrupts',
  '/sys/firmware',
  '/sys/fs/selinux',
  '/sys/dev/block',
  '/sys/devices/virtual/powercap',
];

export const DEFAULT_READONLY_PATHS: readonly string[] = [
  '/proc/asound',
  '/proc/bus',
  '/proc/fs',
  '/proc/irq',
  '/proc/sys',
  '/proc/sysrq-trigger',
];

export interface MaskOptions {
  privileged?: boolean;
  /** --security-opt unmask=: paths, or "ALL" */
  unmask?: string[];
  /** --security-opt mask=: extra paths to mask */
  mask?: string[];
}

function checkAbsolute(paths: string[], flag: string): void {
  for (const p of paths) if (p !== 'ALL' && !p.startsWith('/')) throw new InvalidArgumentError(`--security-opt ${flag}=${p}: the path must be absolute`);
}

export function maskedAndReadonlyPaths(opts: MaskOptions = {}): { maskedPaths: string[]; readonlyPaths: string[] } {
  const unmask = (opts.unmask ?? []).flatMap((u) => u.split(':')).filter(Boolean);
  const mask = (opts.mask ?? []).flatMap((m) => m.split(':')).filter(Boolean);
  checkAbsolute(unmask, 'unmask');
  checkAbsolute(mask, 'mask');
  const all = opts.privileged || unmask.includes('ALL');
  const keep = (p: string): boolean => !all && !unmask.includes(p);
  return {
    maskedPaths: [...new Set([...DEFAULT_MASKED_PATHS.filter(keep), ...mask])],
    readonlyPaths: DEFAULT_READONLY_PATHS.filter(keep),
  };
}
