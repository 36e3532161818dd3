// The rows of `ps`: what Docker and Podman show for each container, with the fields their
// --format templates use.
import { InvalidArgumentError } from '../errors';
import { humanDuration, timeAgo } from '../format/human-units';
import { portsColumn } from '../network/port-mappings';
import { Container } from './container-config';
import { networkNames } from './inspect-network';
import { isRestarting } from './restart-policy';

export interface ContainerRow {
  ID: string;
  Id: string;
  Image: string;
  ImageID: string;
  Command: string;
  CreatedAt: string;
  Created: number;
  CreatedHuman: string;
  RunningFor: string;
  Status: string;
  State: string;
  Ports: string;
  Names: string;
  Labels: Record<string, string>;
  ExitCode: number;
  Pid: number;
  Mounts: string[];
  Networks: string[];
  Size: string;
  /** the health check's status; empty without one */
  Health: string;
}

/** Docker's health suffix of a running container's status. */
function healthSuffix(health: string | undefined): string {
  if (!health) return '';
  return health === 'starting' ? ' (health: starting)' : ` (${health})`;
}

export function statusText(c: Container, now = Date.now(), health?: string): string {
  if (isRestarting(c)) return `Restarting (${c.exitCode}) ${timeAgo(c.finishedAt, now)}`;
  switch (c.status) {
    case 'running':
      return `Up ${humanDuration(now - c.startedAt)}${healthSuffix(health)}`;
    case 'paused':
      return `Up ${humanDuration(now - c.startedAt)} (Paused)`;
    case 'stopping':
      return 'Stopping';
    case 'exited':
      return `Exited (${c.exitCode}) ${timeAgo(c.finishedAt, now)}`;
    default:
      return 'Created';
  }
}

/** Docker's State column: created, running, paused, exited. */
export function stateText(c: Container): string {
  if (isRestarting(c)) return 'restarting';
  return c.status === 'stopping' ? 'running' : c.status;
}

function commandText(c: Container): string {
  const args = [...c.config.entrypoint, ...c.config.cmd];
  return args.join(' ');
}

/** HEALTH: the health check's status (starting, healthy, unhealthy), when the container has one. */
export function containerRow(c: Container, now = Date.now(), health?: string): ContainerRow {
  return {
    ID: c.id.slice(0, 12),
    Id: c.id,
    Image: c.imageName,
    ImageID: (c.imageId ?? '').replace(/^sha256:/, ''),
    Command: commandText(c),
    CreatedAt: new Date(c.created).toISOString(),
    Created: Math.floor(c.created / 1000),
    CreatedHuman: timeAgo(c.created, now),
    RunningFor: timeAgo(c.created, now),
    Status: statusText(c, now, health),
    State: stateText(c),
    Ports: c.status === 'running' || c.status === 'paused' ? portsColumn(c.state.network?.ports ?? []) : '',
    Names: c.name,
    Labels: c.config.labels,
    ExitCode: c.exitCode,
    Pid: c.pid,
    Mounts: c.config.mounts.map((m) => m.destination),
    Networks: networkNames(c.config.network),
    Size: '',
    Health: health ?? '',
  };
}

/** --filter for ps: status, name (substring/regexp), id (prefix), label, ancestor, exited. */
export function matchesFilters(c: Container, row: ContainerRow, filters: Map<string, string[]>): boolean {
  for (const [key, values] of filters) {
    const ok = values.some((v) => {
      switch (key) {
        case 'status':
          return row.State === v || (v === 'exited' && c.status === 'exited');
        case 'name':
          return new RegExp(v).test(c.name);
        case 'id':
          return c.id.startsWith(v);
        case 'label': {
          const eq = v.indexOf('=');
          return eq < 0 ? v in c.config.labels : c.config.labels[v.slice(0, eq)] === v.slice(eq + 1);
        }
        case 'ancestor':
          return c.imageName === v || c.imageName.startsWith(`${v}:`) || c.imageName.endsWith(`/${v}`) || c.imageName.includes(`/${v}:`) || (c.imageId ?? '').replace(/^sha256:/, '').startsWith(v);
        case 'exited':
          return c.status === 'exited' && String(c.exitCode) === v;
        case 'volume':
          return c.config.mounts.some((m) => m.source === v || m.destination === v);
        case 'network':
          return c.config.network === v || row.Networks.includes(v);
        case 'restart-policy':
          return c.config.restartPolicy.name === v;
        case 'health':
          return v === 'none' ? row.Health === '' : row.Health === v;
        default:
          return false;
      }
    });
    if (!ok) return false;
  }
  return true;
}

export const PS_FILTER_KEYS = ['status', 'name', 'id', 'label', 'ancestor', 'exited', 'volume', 'network', 'restart-policy', 'health'];

/** --filter KEY=VALUE flags (ps, start --all): values of one key are alternatives. */
export function parseContainerFilters(flags: string[]): Map<string, string[]> {
  const filters = new Map<string, string[]>();
  for (const f of flags) {
    const eq = f.indexOf('=');
    const key = eq < 0 ? f : f.slice(0, eq);
    if (eq < 0 || !PS_FILTER_KEYS.includes(key)) throw new InvalidArgumentError(`invalid filter "${f}": use one of ${PS_FILTER_KEYS.join(', ')} as KEY=VALUE`);
    filters.set(key, [...(filters.get(key) ?? []), f.slice(eq + 1)]);
  }
  return filters;
}
