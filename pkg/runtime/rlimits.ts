// Resource limits (setrlimit) for the container's process: --ulimit parsing and Podman's
// defaults. The runtime sets them with setrlimit, which may lower any limit but raise a hard
// limit only with CAP_SYS_RESOURCE in the initial user namespace: rootless never has it, and
// root on these machines lacks it too. So every default is capped at the caller's hard limit
// (read from /proc/self/limits), and a --ulimit above it is refused with a message here instead
// of runc's "error setting rlimit type 7".
import * as fs from 'node:fs';
import { InvalidArgumentError } from '../errors';
import { Rlimit, RlimitType } from './oci-spec-types';

/**
 * RLIM_INFINITY is 2^64-1 on the wire, which a double cannot hold: this value (2^64 once rounded)
 * stands for it, and serializeSpec writes it out as 18446744073709551615.
 */
export const RLIM_INFINITY = 2 ** 64;

/** Podman's define.RLimitDefaultValue, used for both nofile and nproc. */
export const DEFAULT_RLIMIT = 1048576;

const NAMES: Record<string, RlimitType> = {
  as: 'RLIMIT_AS',
  core: 'RLIMIT_CORE',
  cpu: 'RLIMIT_CPU',
  data: 'RLIMIT_DATA',
  fsize: 'RLIMIT_FSIZE',
  locks: 'RLIMIT_LOCKS',
  memlock: 'RLIMIT_MEMLOCK',
  msgqueue: 'RLIMIT_MSGQUEUE',
  nice: 'RLIMIT_NICE',
  nofile: 'RLIMIT_NOFILE',
  nproc: 'RLIMIT_NPROC',
  rss: 'RLIMIT_RSS',
  rtprio: 'RLIMIT_RTPRIO',
  rttime: 'RLIMIT_RTTIME',
  sigpending: 'RLIMIT_SIGPENDING',
  stack: 'RLIMIT_STACK',
};

/** /proc/self/limits row titles. */
const PROC_TITLES: Record<string, RlimitType> = {
  'Max cpu time': 'RLIMIT_CPU',
  'Max file size': 'RLIMIT_FSIZE',
  'Max data size': 'RLIMIT_DATA',
  'Max stack size': 'RLIMIT_STACK',
  'Max core file size': 'RLIMIT_CORE',
  'Max resident set': 'RLIMIT_RSS',
  'Max processes': 'RLIMIT_NPROC',
  'Max open files': 'RLIMIT_NOFILE',
  'Max locked memory': 'RLIMIT_MEMLOCK',
  'Max address space': 'RLIMIT_AS',
  'Max file locks': 'RLIMIT_LOCKS',
  'Max pending signals': 'RLIMIT_SIGPENDING',
  'Max msgqueue size': 'RLIMIT_MSGQUEUE',
  'Max nice priority': 'RLIMIT_NICE',
  'Max realtime priority': 'RLIMIT_RTPRIO',
  'Max realtime timeout': 'RLIMIT_RTTIME',
};

export type HostLimits = Partial<Record<RlimitType, { soft: number; hard: number }>>;

function limitValue(text: string, arg: string): number {
  if (text === 'unlimited' || text === '-1') return RLIM_INFINITY;
  if (!/^\d+$/.test(text)) throw new InvalidArgumentError(`invalid ulimit argument: ${arg}`);
  return Number(text);
}

/** "nofile=1024:2048", "nofile=1024" (soft = hard), "core=-1" / "core=unlimited". */
export function parseUlimit(arg: string): Rlimit {
  const m = /^([a-z]+)=([^:]+)(?::([^:]+))?$/.exec(arg.trim());
  if (!m) throw new InvalidArgumentError(`invalid ulimit argument: ${arg}`);
  const type = NAMES[m[1]];
  if (!type) throw new InvalidArgumentError(`invalid ulimit type: ${m[1]}`);
  const soft = limitValue(m[2], arg);
  const hard = m[3] === undefined ? soft : limitValue(m[3], arg);
  if (soft > hard) throw new InvalidArgumentError(`ulimit soft limit must be less than or equal to hard limit: ${m[2]} > ${m[3]}`);
  return { type, soft, hard };
}

export function parseProcLimits(text: string): HostLimits {
  const limits: HostLimits = {};
  for (const line of text.split('\n')) {
    const m = /^(Max [a-z ]+?)\s{2,}(\S+)\s+(\S+)/.exec(line);
    const type = m && PROC_TITLES[m[1]];
    if (!m || !type) continue;
    const value = (s: string): number => (s === 'unlimited' ? RLIM_INFINITY : Number(s));
    limits[type] = { soft: value(m[2]), hard: value(m[3]) };
  }
  return limits;
}

export function hostLimits(): HostLimits {
  return parseProcLimits(fs.readFileSync('/proc/self/limits', 'utf8'));
}

/**
 * Whether this process may raise a hard limit: CAP_SYS_RESOURCE counts only in the initial user
 * namespace (an identity uid_map), which rootless never is.
 */
export function canRaiseHardLimits(status = fs.readFileSync('/proc/self/status', 'utf8'), uidMap = fs.readFileSync('/proc/self/uid_map', 'utf8')): boolean {
  const eff = /^CapEff:\s*([0-9a-f]+)$/m.exec(status);
  const hasCap = !!eff && ((BigInt(`0x${eff[1]}`) >> 24n) & 1n) === 1n;
  return hasCap && /^\s*0\s+0\s+4294967295\s*$/.test(uidMap.trim());
}

export interface RlimitOptions {
  /** --ulimit values; "host" copies every limit of the caller */
  ulimits?: string[];
  host: HostLimits;
  canRaise: boolean;
}

const SHORT_NAME = Object.fromEntries(Object.entries(NAMES).map(([k, v]) => [v, k])) as Record<RlimitType, string>;

/**
 * Podman's defaults (nofile and nproc 1048576, capped at the caller's hard limit), overridden by
 * --ulimit, in a stable order (nofile, nproc, then as given).
 */
export function resolveRlimits(opts: RlimitOptions): Rlimit[] {
  const out = new Map<RlimitType, Rlimit>();
  for (const type of ['RLIMIT_NOFILE', 'RLIMIT_NPROC'] as const) {
    const hard = Math.min(DEFAULT_RLIMIT, opts.host[type]?.hard ?? DEFAULT_RLIMIT);
    out.set(type, { type, soft: hard, hard });
  }
  for (const arg of opts.ulimits ?? []) {
    if (arg.trim() === 'host') {
      for (const [type, l] of Object.entries(opts.host) as [RlimitType, { soft: number; hard: number }][]) out.set(type, { type, ...l });
      continue;
    }
    const limit = parseUlimit(arg);
    const hostHard = opts.host[limit.type]?.hard;
    if (!opts.canRaise && hostHard !== undefined && limit.hard > hostHard) {
      const shown = (n: number): string => (n === RLIM_INFINITY ? 'unlimited' : String(n));
      throw new InvalidArgumentError(
        `--ulimit ${arg}: the hard limit ${shown(limit.hard)} is above this process's own (${shown(hostHard)}), and raising it needs CAP_SYS_RESOURCE on the host; ` +
          `use at most ${SHORT_NAME[limit.type]}=${shown(Math.min(limit.soft, hostHard))}:${shown(hostHard)}`,
      );
    }
    out.set(limit.type, limit);
  }
  return [...out.values()];
}
