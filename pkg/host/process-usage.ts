// Resource use of a tree of processes, read from /proc: what `stats` shows where the container
// has no cgroup of its own (rootless on cgroup v1, where runc leaves the container in the
// caller's cgroup). The numbers are sums over the processes alive now, plus what their exited
// children left in them: the kernel adds a reaped child's CPU time (cutime/cstime) and I/O
// (/proc/PID/io) to the parent that waited for it, so only the output of processes whose
// parent never reaped them is lost.
import * as fs from 'node:fs';

/** USER_HZ: the unit of /proc/PID/stat times; 100 on every Linux architecture tspod runs on. */
const CLOCK_TICKS_PER_SECOND = 100;
const PAGE_SIZE = 4096;

export interface Usage {
  /** CPU time, nanoseconds */
  cpuNs: number;
  /** bytes in use (cgroup: without inactive page cache; /proc: proportional set size) */
  memoryBytes: number;
  /** bytes the memory may grow to: the cgroup's limit, else the host's memory */
  memoryLimit: number;
  /** tasks (processes and threads), as the pids cgroup counts them */
  pids: number;
  /** bytes read from and written to storage */
  blockRead: number;
  blockWrite: number;
}

/** A /proc or /sys file's text; undefined when it is gone or unreadable. */
export function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Fields of /proc/PID/stat after the command name (which may hold spaces and parens). */
export function statFields(stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).trim().split(' ');
}

/** "Key:   123 kB" lines (meminfo, smaps_rollup) or "key: 123" lines (io) as numbers. */
export function keyedNumbers(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([\w()]+):\s+(\d+)(\s+kB)?/.exec(line);
    if (m) out.set(m[1], Number(m[2]) * (m[3] ? 1024 : 1));
  }
  return out;
}

/** The host's memory, the limit Docker shows for a container without one. */
export function hostMemory(): number {
  return keyedNumbers(readText('/proc/meminfo') ?? '').get('MemTotal') ?? 0;
}

/** One process's share; undefined when it is gone. */
function processUsage(pid: number): Omit<Usage, 'memoryLimit'> | undefined {
  const stat = readText(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  const f = statFields(stat);
  // after the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14) ... num_threads(17)
  const ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  const rollup = readText(`/proc/${pid}/smaps_rollup`);
  let memoryBytes = rollup === undefined ? undefined : keyedNumbers(rollup).get('Pss');
  if (memoryBytes === undefined) memoryBytes = Number((readText(`/proc/${pid}/statm`) ?? '0 0').split(' ')[1]) * PAGE_SIZE;
  const io = keyedNumbers(readText(`/proc/${pid}/io`) ?? '');
  return {
    cpuNs: (ticks * 1e9) / CLOCK_TICKS_PER_SECOND,
    memoryBytes,
    pids: Number(f[17]) || 1,
    blockRead: io.get('read_bytes') ?? 0,
    blockWrite: io.get('write_bytes') ?? 0,
  };
}

/** The sum over the given processes (a container's: its init process and descendants). */
export function processTreeUsage(pids: number[]): Usage {
  const total: Usage = { cpuNs: 0, memoryBytes: 0, memoryLimit: hostMemory(), pids: 0, blockRead: 0, blockWrite: 0 };
  for (const pid of pids) {
    const u = processUsage(pid);
    if (!u) continue;
    total.cpuNs += u.cpuNs;
    total.memoryBytes += u.memoryBytes;
    total.pids += u.pids;
    total.blockRead += u.blockRead;
    total.blockWrite += u.blockWrite;
  }
  return total;
}

/** Received and sent bytes of every interface but lo, from /proc/PID/net/dev (the process's netns). */
export function parseNetDev(text: string): { rx: number; tx: number } {
  let rx = 0;
  let tx = 0;
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0 || line.slice(0, colon).trim() === 'lo') continue;
    const f = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    rx += f[0] || 0;
    tx += f[8] || 0;
  }
  return { rx, tx };
}

export function networkUsage(pid: number): { rx: number; tx: number } {
  return parseNetDev(readText(`/proc/${pid}/net/dev`) ?? '');
}
