// Resource use of a container from its own cgroup (cgroup v1 or v2), as Docker and Podman
// read it. Only a cgroup runc made for this container counts (its last path element is the
// container ID, which is how runc names it without a cgroupsPath): rootless on cgroup v1 the
// container stays in the caller's cgroup, shared with other processes, and the caller falls
// back to /proc (process-usage.ts).
import * as path from 'node:path';
import { cgroupVersion } from './cgroups';
import { Usage, hostMemory, keyedNumbers, readText } from './process-usage';

const CGROUP_ROOT = '/sys/fs/cgroup';

/** controller (v1) or '' (v2) → path, from /proc/PID/cgroup. */
export function parseProcCgroup(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    for (const controller of m[1].split(',')) out.set(controller.replace(/^name=/, ''), m[2]);
  }
  return out;
}

/** Docker's rule: a limit at or above the host's memory (v1's "no limit" is 2^63 rounded to pages) is the host's. */
function effectiveLimit(limit: number | undefined): number {
  const host = hostMemory();
  return limit === undefined || !Number.isFinite(limit) || limit <= 0 || limit >= host ? host : limit;
}

/** Bytes read and written, from v1's "MAJ:MIN Read N" lines or v2's "MAJ:MIN rbytes=N wbytes=N". */
export function parseBlkio(text: string): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const line of text.split('\n')) {
    const v1 = /^\d+:\d+ (Read|Write) (\d+)$/.exec(line.trim());
    if (v1) {
      if (v1[1] === 'Read') read += Number(v1[2]);
      else write += Number(v1[2]);
      continue;
    }
    read += Number(/rbytes=(\d+)/.exec(line)?.[1] ?? 0);
    write += Number(/wbytes=(\d+)/.exec(line)?.[1] ?? 0);
  }
  return { read, write };
}

function usageV1(paths: Map<string, string>): Usage | undefined {
  const dir = (controller: string): string => path.join(CGROUP_ROOT, controller, paths.get(controller) ?? '/');
  const usage = readText(path.join(dir('memory'), 'memory.usage_in_bytes'));
  const cpu = readText(path.join(dir('cpuacct'), 'cpuacct.usage'));
  if (usage === undefined || cpu === undefined) return undefined;
  const stat = keyedNumbers(readText(path.join(dir('memory'), 'memory.stat')) ?? '');
  const blkio = parseBlkio(readText(path.join(dir('blkio'), 'blkio.throttle.io_service_bytes_recursive')) ?? readText(path.join(dir('blkio'), 'blkio.throttle.io_service_bytes')) ?? '');
  return {
    cpuNs: Number(cpu),
    memoryBytes: Math.max(0, Number(usage) - (stat.get('total_inactive_file') ?? 0)),
    memoryLimit: effectiveLimit(Number(readText(path.join(dir('memory'), 'memory.limit_in_bytes')))),
    pids: Number(readText(path.join(dir('pids'), 'pids.current')) ?? 0),
    blockRead: blkio.read,
    blockWrite: blkio.write,
  };
}

function usageV2(cgroupPath: string): Usage | undefined {
  const dir = path.join(CGROUP_ROOT, cgroupPath);
  const current = readText(path.join(dir, 'memory.current'));
  const cpu = readText(path.join(dir, 'cpu.stat'));
  if (current === undefined || cpu === undefined) return undefined;
  const stat = new Map(
    (readText(path.join(dir, 'memory.stat')) ?? '')
      .split('\n')
      .map((l) => l.split(' '))
      .map(([k, v]) => [k, Number(v)] as [string, number]),
  );
  const max = readText(path.join(dir, 'memory.max'))?.trim();
  const blkio = parseBlkio(readText(path.join(dir, 'io.stat')) ?? '');
  return {
    cpuNs: Number(/usage_usec (\d+)/.exec(cpu)?.[1] ?? 0) * 1000,
    memoryBytes: Math.max(0, Number(current) - (stat.get('inactive_file') ?? 0)),
    memoryLimit: effectiveLimit(max === undefined || max === 'max' ? undefined : Number(max)),
    pids: Number(readText(path.join(dir, 'pids.current')) ?? 0),
    blockRead: blkio.read,
    blockWrite: blkio.write,
  };
}

/** The container's cgroup usage, or undefined when it has no readable cgroup of its own. */
export function cgroupUsage(pid: number, containerId: string): Usage | undefined {
  const paths = parseProcCgroup(readText(`/proc/${pid}/cgroup`) ?? '');
  const own = (p: string | undefined): p is string => p !== undefined && path.basename(p) === containerId;
  if (cgroupVersion() === 'v2') {
    const p = paths.get('');
    return own(p) ? usageV2(p) : undefined;
  }
  return own(paths.get('memory')) && own(paths.get('cpuacct')) ? usageV1(paths) : undefined;
}
