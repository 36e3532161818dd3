// `top`: the container's processes are its init process and everything descended from it,
// found in /proc from the host side; the host's `ps` prints them. tspod runs inside its user
// namespace, so ps shows the users as the container knows them (root, not the host user).
// Podman's format descriptors (`pid`, `user`, `args`, `etime`, ...) become ps -o columns;
// arguments that start with '-' are passed to ps as they are.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { InvalidArgumentError, TspodError } from '../errors';

/** Podman's descriptors and the ps column (with Podman's header) each stands for. */
const DESCRIPTORS: Record<string, string> = {
  args: 'args=COMMAND',
  capamb: 'cap_amb=AMBIENT CAPS',
  comm: 'comm=COMMAND',
  etime: 'etime=ELAPSED',
  group: 'group=GROUP',
  hgroup: 'group=HGROUP',
  hpid: 'pid=HPID',
  huser: 'user=HUSER',
  label: 'label=LABEL',
  nice: 'ni=NI',
  pcpu: 'pcpu=%CPU',
  pgid: 'pgid=PGID',
  pid: 'pid=PID',
  ppid: 'ppid=PPID',
  rgroup: 'rgroup=RGROUP',
  ruser: 'ruser=RUSER',
  rss: 'rss=RSS',
  seccomp: 'seccomp=SECCOMP',
  state: 'stat=STATE',
  stime: 'stime=STIME',
  time: 'time=TIME',
  tty: 'tty=TTY',
  user: 'user=USER',
  vsz: 'vsz=VSZ',
};

export const DEFAULT_DESCRIPTORS = ['user', 'pid', 'ppid', 'pcpu', 'etime', 'tty', 'time', 'args'];

/** The parent pid of every process, from /proc/<pid>/stat. */
export function processParents(procDir = '/proc'): Map<number, number> {
  const parents = new Map<number, number>();
  for (const name of fs.readdirSync(procDir)) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`${procDir}/${name}/stat`, 'utf8');
      // the command name may hold spaces and parens: the fields start after the last ')'
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parents.set(Number(name), Number(fields[1]));
    } catch {
      // gone meanwhile
    }
  }
  return parents;
}

/** root and all its descendants, root first. */
export function descendants(root: number, parents: Map<number, number>): number[] {
  const children = new Map<number, number[]>();
  for (const [pid, ppid] of parents) {
    const list = children.get(ppid) ?? [];
    list.push(pid);
    children.set(ppid, list);
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length) {
    const pid = queue.shift() as number;
    if (out.includes(pid)) continue;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []).sort((a, b) => a - b));
  }
  return out;
}

/** The ps arguments for `top`'s trailing arguments (descriptors, or ps options). */
export function psArguments(args: string[], pids: number[]): string[] {
  const pidList = ['-p', pids.join(',')];
  if (args.some((a) => a.startsWith('-'))) return [...args, ...pidList];
  const words = args.flatMap((a) => a.split(/[\s,]+/)).filter(Boolean);
  const descriptors = words.length ? words : DEFAULT_DESCRIPTORS;
  const columns = descriptors.map((d) => {
    const column = DESCRIPTORS[d.toLowerCase()];
    if (!column) throw new InvalidArgumentError(`unknown descriptor: ${d}`);
    return column;
  });
  return [...columns.flatMap((c) => ['-o', c]), ...pidList];
}

/**
 * Keeps the header and the rows whose PID column is one of pids (a ps option such as -e
 * lists every process); output without a PID column is returned as it is.
 */
export function keepContainerRows(output: string, pids: number[]): string {
  const lines = output.split('\n').filter((l) => l.trim() !== '');
  if (!lines.length) return '';
  const header = lines[0].trim().split(/\s+/);
  const col = header.findIndex((h) => h === 'PID' || h === 'HPID');
  if (col < 0) return `${lines.join('\n')}\n`;
  const wanted = new Set(pids.map(String));
  const rows = lines.slice(1).filter((l) => wanted.has(l.trim().split(/\s+/)[col]));
  return `${[lines[0], ...rows].join('\n')}\n`;
}

export function runPs(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ps', args, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      // ps exits 1 when no process matched -p: the container ended meanwhile
      if (err && !(stdout && (err as { code?: number }).code === 1)) {
        reject(new TspodError(`ps ${args.join(' ')}: ${(stderr || err.message).trim()}`));
        return;
      }
      resolve(stdout);
    });
  });
}

/** ps's output for the processes of the container whose init process is pid. */
export async function containerTop(pid: number, args: string[]): Promise<string> {
  const pids = descendants(pid, processParents());
  return keepContainerRows(await runPs(psArguments(args, pids)), pids);
}
