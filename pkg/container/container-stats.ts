// `stats`: samples of a container's resource use and the row `docker stats` prints for them.
// A sample comes from the container's own cgroup where it has one this user can read (root;
// cgroup v2 with delegation), else from its processes in /proc (rootless on cgroup v1). CPU %
// is the CPU time used between two samples over the wall time between them (100% = one CPU,
// as Docker counts); the first sample of a container is compared with its start, so
// `--no-stream` answers at once with the average since start (Podman's choice).
import { cgroupUsage } from '../host/cgroup-usage';
import { Usage, networkUsage, processTreeUsage } from '../host/process-usage';
import { binarySize, humanSize } from '../format/human-units';
import { Container } from './container-config';
import { descendants, processParents } from './container-top';

export interface StatsSample {
  id: string;
  name: string;
  running: boolean;
  /** ms since the epoch */
  at: number;
  startedAt: number;
  usage?: Usage;
  net: { rx: number; tx: number };
  source?: 'cgroup' | 'proc';
}

/** Docker's placeholders (.Container .ID .Name .CPUPerc .MemUsage .MemPerc .NetIO .BlockIO .PIDs), plus Podman's .PIDS and .AVGCPU. */
export interface StatsRow {
  Container: string;
  ID: string;
  Name: string;
  CPUPerc: string;
  MemUsage: string;
  MemPerc: string;
  NetIO: string;
  BlockIO: string;
  PIDs: string;
  PIDS: string;
  AVGCPU: string;
}

/** The fields `--format json` prints: Docker's, in its order. */
export const DOCKER_STATS_FIELDS = ['BlockIO', 'CPUPerc', 'Container', 'ID', 'MemPerc', 'MemUsage', 'Name', 'NetIO', 'PIDs'] as const;

export function sampleContainer(c: Container, now = Date.now()): StatsSample {
  const base = { id: c.id, name: c.name, at: now, startedAt: c.startedAt, net: { rx: 0, tx: 0 } };
  const running = (c.status === 'running' || c.status === 'paused') && c.pid > 0;
  if (!running) return { ...base, running: false };
  let usage = cgroupUsage(c.pid, c.id);
  const source = usage ? 'cgroup' : 'proc';
  usage ??= processTreeUsage(descendants(c.pid, processParents()));
  // --network host: the interfaces are the host's, not the container's (Docker shows nothing).
  const net = c.config.network === 'host' ? base.net : networkUsage(c.pid);
  return { ...base, running: true, usage, net, source };
}

const percent = (n: number): string => `${(Number.isFinite(n) ? n : 0).toFixed(2)}%`;
const pair = (a: string, b: string): string => `${a} / ${b}`;

function cpuPercent(cpuNs: number, wallMs: number): number {
  return wallMs > 0 ? (cpuNs / (wallMs * 1e6)) * 100 : 0;
}

/**
 * The row for the latest sample. `prev` is the container's previous sample (undefined on the
 * first); `asked` is how the user named it (Docker's .Container), else its short ID.
 */
export function statsRow(cur: StatsSample, prev: StatsSample | undefined, opts: { noTrunc?: boolean; asked?: string } = {}): StatsRow {
  const id = opts.noTrunc ? cur.id : cur.id.slice(0, 12);
  const u = cur.usage;
  const since = prev?.usage && prev.running ? prev : undefined;
  const cpu = u ? cpuPercent(u.cpuNs - (since?.usage?.cpuNs ?? 0), cur.at - (since?.at ?? cur.startedAt)) : 0;
  const avg = u ? cpuPercent(u.cpuNs, cur.at - cur.startedAt) : 0;
  const pids = String(u?.pids ?? 0);
  return {
    Container: opts.asked ?? id,
    ID: id,
    Name: cur.name,
    CPUPerc: percent(cpu),
    MemUsage: pair(binarySize(u?.memoryBytes ?? 0), binarySize(u?.memoryLimit ?? 0)),
    MemPerc: percent(u && u.memoryLimit > 0 ? (u.memoryBytes / u.memoryLimit) * 100 : 0),
    NetIO: pair(humanSize(cur.net.rx, ''), humanSize(cur.net.tx, '')),
    BlockIO: pair(humanSize(u?.blockRead ?? 0, ''), humanSize(u?.blockWrite ?? 0, '')),
    PIDs: pids,
    PIDS: pids,
    AVGCPU: percent(avg),
  };
}

/** `{{json .}}` / `--format json`: one object per container with Docker's fields only. */
export function dockerStatsJson(row: StatsRow): string {
  const out: Record<string, string> = {};
  for (const k of DOCKER_STATS_FIELDS) out[k] = row[k];
  return JSON.stringify(out);
}
