// `container inspect`: Docker's ContainerJSON document (its field names and shapes, so
// `{{.State.Status}}`, `{{.NetworkSettings.IPAddress}}` and scripts written for Docker work),
// plus the few fields Podman adds (ImageName, ConmonPid, StaticDir, ...). Where Docker and
// Podman differ we follow Podman: Name has no leading slash, NetworkMode is slirp4netns.
// Pure: the caller gathers where things live on disk and what the image says.
import { inspectLogPath } from './log-config';
import { containerEnv } from '../runtime/oci-spec';
import { Container, MountRequest } from './container-config';
import { ContainerPaths } from './container-paths';
import { EndpointSettings, NetworkSettings, exposedPortsConfig, hostConfigNetwork, networkSettings } from './inspect-network';
import { stateText } from './container-list';
import { isRestarting } from './restart-policy';
import type { HealthState } from './healthcheck';

export const ZERO_TIME = '0001-01-01T00:00:00Z';
const DEFAULT_SHM_SIZE = 65536000;

export interface InspectFacts {
  paths: ContainerPaths;
  /** the storage driver's name (overlay, fuse-overlayfs, vfs) */
  driver: string;
  /** the image's layer dirs, top first (empty for vfs or a gone image) */
  lowerDirs: string[];
  /** the image config's Env, User and WorkingDir, which the container inherits */
  imageEnv?: string[];
  imageUser?: string;
  imageWorkdir?: string;
  /** where a named volume lives on disk */
  volumeMountpoint?: (name: string) => string | undefined;
  /** the OCI runtime's name (runc, crun) */
  ociRuntime?: string;
  /** the health check's state (containers with a health check) */
  health?: HealthState;
  /** with --size: bytes in the writable layer, and those plus the image's */
  sizes?: { rw: number; rootFs: number };
}

export interface InspectState {
  OciVersion: string;
  Status: string;
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ConmonPid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
  Health?: HealthState;
}

export interface InspectMount {
  Type: string;
  Name?: string;
  Source: string;
  Destination: string;
  Driver: string;
  Mode: string;
  Options: string[];
  RW: boolean;
  Propagation: string;
}

export type { EndpointSettings };

export interface ContainerInspect {
  Id: string;
  Created: string;
  Path: string;
  Args: string[];
  State: InspectState;
  Image: string;
  ImageName: string;
  Rootfs: string;
  Pod: string;
  ResolvConfPath: string;
  HostnamePath: string;
  HostsPath: string;
  LogPath: string;
  StaticDir: string;
  OCIRuntime: string;
  Name: string;
  RestartCount: number;
  Driver: string;
  Platform: string;
  MountLabel: string;
  ProcessLabel: string;
  AppArmorProfile: string;
  ExecIDs: string[];
  GraphDriver: { Name: string; Data: Record<string, string> | null };
  Mounts: InspectMount[];
  NetworkSettings: NetworkSettings;
  Config: Record<string, unknown>;
  HostConfig: Record<string, unknown>;
  SizeRw?: number;
  SizeRootFs?: number;
}

/** Milliseconds since the epoch as Go's RFC3339Nano; 0 is Go's zero time. */
export function timeText(ms: number): string {
  if (!ms) return ZERO_TIME;
  return new Date(ms).toISOString().replace(/\.?0*Z$/, 'Z');
}

function isActive(c: Container): boolean {
  return c.status === 'running' || c.status === 'paused' || c.status === 'stopping';
}

export function inspectState(c: Container, health?: HealthState): InspectState {
  const active = isActive(c);
  const state: InspectState = {
    OciVersion: '1.0.2-dev',
    Status: stateText(c),
    Running: c.status === 'running' || c.status === 'stopping',
    Paused: c.status === 'paused',
    Restarting: isRestarting(c),
    OOMKilled: c.state.oomKilled ?? false,
    Dead: false,
    Pid: active ? c.pid : 0,
    ConmonPid: active ? c.monitorPid : 0,
    ExitCode: c.exitCode,
    Error: c.state.error ?? '',
    StartedAt: timeText(c.startedAt),
    FinishedAt: timeText(c.finishedAt),
  };
  // Docker shows Health only for containers that have a health check.
  if (health) state.Health = health;
  return state;
}

function signalText(signal: string): string {
  const s = signal.trim().toUpperCase();
  if (!s || /^\d+$/.test(s)) return s;
  return s.startsWith('SIG') ? s : `SIG${s}`;
}

/** The environment the process gets: the image's, then -e, then the defaults. */
function effectiveEnv(c: Container, facts: InspectFacts, hostname: string): string[] {
  const user = c.config.user ?? facts.imageUser ?? '';
  const root = user === '' || /^(root|0)(:.*)?$/.test(user);
  try {
    const env = containerEnv({ imageEnv: facts.imageEnv, env: c.config.env, hostname, home: '/root' });
    // HOME of another user comes from the container's /etc/passwd at start: unknown here.
    return root ? env : env.filter((e) => !e.startsWith('HOME=') || c.config.env.includes(e) || (facts.imageEnv ?? []).includes(e));
  } catch {
    return [...(facts.imageEnv ?? []), ...c.config.env];
  }
}

function mountOptions(m: MountRequest): string[] {
  return m.options.filter((o) => o !== 'ro' && o !== 'rw');
}

export function inspectMounts(c: Container, facts: InspectFacts): InspectMount[] {
  return c.config.mounts
    .filter((m) => m.type !== 'tmpfs')
    .map((m): InspectMount => {
      const opts = mountOptions(m);
      const propagation = opts.find((o) => /^r?(private|shared|slave)$/.test(o)) ?? (m.type === 'bind' ? 'rprivate' : '');
      const mode = opts.filter((o) => o === 'z' || o === 'Z').join(',');
      if (m.type === 'volume') {
        return {
          Type: 'volume',
          Name: m.source,
          Source: (m.source && facts.volumeMountpoint?.(m.source)) ?? '',
          Destination: m.destination,
          Driver: 'local',
          Mode: mode,
          Options: opts.length ? opts : ['nosuid', 'nodev', 'rbind'],
          RW: !m.readonly,
          Propagation: propagation,
        };
      }
      return {
        Type: 'bind',
        Source: m.source ?? '',
        Destination: m.destination,
        Driver: '',
        Mode: mode,
        Options: opts.length ? opts : ['rbind'],
        RW: !m.readonly,
        Propagation: propagation,
      };
    });
}

/** Docker's HostConfig.Binds: SRC:DEST[:OPTIONS] of the bind mounts and named volumes. */
export function binds(c: Container): string[] {
  return c.config.mounts
    .filter((m) => m.type !== 'tmpfs' && m.source)
    .map((m) => {
      const opts = [...(m.readonly ? ['ro'] : []), ...mountOptions(m)];
      return `${m.source}:${m.destination}${opts.length ? `:${opts.join(',')}` : ''}`;
    });
}

/** --ulimit NAME=SOFT[:HARD] as Docker's {Name, Soft, Hard}. */
export function ulimitEntries(ulimits: string[]): { Name: string; Soft: number; Hard: number }[] {
  const out: { Name: string; Soft: number; Hard: number }[] = [];
  for (const u of ulimits) {
    const m = /^([a-z_]+)=(-?\d+)(?::(-?\d+))?$/i.exec(u.trim());
    if (!m) continue;
    const soft = Number(m[2]);
    out.push({ Name: m[1].toLowerCase().startsWith('rlimit_') ? m[1].toUpperCase() : `RLIMIT_${m[1].toUpperCase()}`, Soft: soft, Hard: m[3] === undefined ? soft : Number(m[3]) });
  }
  return out;
}

function devicesOf(devices: string[]): { PathOnHost: string; PathInContainer: string; CgroupPermissions: string }[] {
  return devices.map((d) => {
    const [host, inner, perms] = d.split(':');
    const permsGiven = inner !== undefined && /^[rwm]+$/.test(inner) && perms === undefined;
    return { PathOnHost: host, PathInContainer: permsGiven || inner === undefined ? host : inner, CgroupPermissions: permsGiven ? inner : perms ?? 'rwm' };
  });
}

function numberResource(c: Container, key: string): number {
  const v = c.config.resources[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

function graphDriver(facts: InspectFacts): ContainerInspect['GraphDriver'] {
  if (facts.driver === 'vfs') return { Name: 'vfs', Data: null };
  const data: Record<string, string> = {};
  if (facts.lowerDirs.length) data.LowerDir = facts.lowerDirs.join(':');
  data.UpperDir = facts.paths.upper;
  data.WorkDir = facts.paths.work;
  data.MergedDir = facts.paths.rootfs;
  return { Name: facts.driver, Data: data };
}

export function inspectConfig(c: Container, facts: InspectFacts): Record<string, unknown> {
  const { config } = c;
  const hostname = config.hostname ?? c.id.slice(0, 12);
  return {
    Hostname: hostname,
    Domainname: '',
    User: config.user ?? facts.imageUser ?? '',
    AttachStdin: config.stdin,
    AttachStdout: false,
    AttachStderr: false,
    Tty: config.tty,
    OpenStdin: config.stdin,
    StdinOnce: false,
    Env: effectiveEnv(c, facts, hostname),
    Cmd: config.cmd.length ? config.cmd : null,
    Image: config.imageName,
    ...(exposedPortsConfig(c) ? { ExposedPorts: exposedPortsConfig(c) } : {}),
    Volumes: null,
    WorkingDir: config.workdir || facts.imageWorkdir || '/',
    Entrypoint: config.entrypoint.length ? config.entrypoint : null,
    OnBuild: null,
    Labels: config.labels,
    Annotations: config.annotations,
    StopSignal: signalText(config.stopSignal || 'SIGTERM'),
    StopTimeout: config.stopTimeout,
    CreateCommand: config.createCommand?.argv ?? null,
    ...(config.healthcheck ? { Healthcheck: config.healthcheck, HealthcheckOnFailureAction: config.healthOnFailure ?? 'none' } : {}),
  };
}

export function inspectHostConfig(c: Container, facts: InspectFacts): Record<string, unknown> {
  const { config } = c;
  const tmpfs: Record<string, string> = {};
  for (const m of config.mounts) if (m.type === 'tmpfs') tmpfs[m.destination] = [...(m.readonly ? ['ro'] : []), ...mountOptions(m)].join(',');
  const cpus = numberResource(c, 'cpus');
  const logOpts = Object.fromEntries(Object.entries(config.logOpts).filter(([k]) => k !== 'max-size-bytes'));
  return {
    Binds: binds(c),
    ContainerIDFile: '',
    LogConfig: { Type: config.logDriver, Config: logOpts, Path: inspectLogPath(config.logDriver, config.logOpts, facts.paths.logPath), Tag: config.logOpts.tag ?? '' },
    ...hostConfigNetwork(c),
    RestartPolicy: { Name: config.restartPolicy.name, MaximumRetryCount: config.restartPolicy.maxRetries },
    AutoRemove: config.autoRemove,
    VolumeDriver: '',
    VolumesFrom: null,
    CapAdd: config.capAdd,
    CapDrop: config.capDrop,
    GroupAdd: config.groupAdd,
    IpcMode: config.ipc || 'private',
    Cgroup: '',
    Links: null,
    OomScoreAdj: 0,
    PidMode: config.pid || 'private',
    Privileged: config.privileged,
    ReadonlyRootfs: config.readOnly,
    SecurityOpt: config.securityOpt,
    Tmpfs: tmpfs,
    UTSMode: config.uts || 'private',
    UsernsMode: config.userns ?? '',
    ShmSize: config.shmSize ?? DEFAULT_SHM_SIZE,
    Runtime: 'oci',
    Isolation: '',
    CpuShares: 0,
    Memory: numberResource(c, 'memory'),
    NanoCpus: Math.round(cpus * 1e9),
    CgroupParent: '',
    Devices: devicesOf(config.devices),
    PidsLimit: numberResource(c, 'pidsLimit'),
    Ulimits: ulimitEntries(config.ulimits),
  };
}

export function inspectContainer(c: Container, facts: InspectFacts): ContainerInspect {
  const args = [...c.config.entrypoint, ...c.config.cmd];
  const userdata = facts.paths.userdata;
  const doc: ContainerInspect = {
    Id: c.id,
    Created: timeText(c.created),
    Path: args[0] ?? '',
    Args: args.slice(1),
    State: inspectState(c, facts.health),
    Image: c.imageId ?? c.config.imageId,
    ImageName: c.imageName,
    Rootfs: '',
    Pod: '',
    ResolvConfPath: `${userdata}/resolv.conf`,
    HostnamePath: `${userdata}/hostname`,
    HostsPath: `${userdata}/hosts`,
    LogPath: inspectLogPath(c.config.logDriver, c.config.logOpts, facts.paths.logPath),
    StaticDir: userdata,
    OCIRuntime: facts.ociRuntime ?? 'runc',
    Name: c.name,
    RestartCount: c.restartCount,
    Driver: facts.driver,
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: [],
    GraphDriver: graphDriver(facts),
    Mounts: inspectMounts(c, facts),
    NetworkSettings: networkSettings(c),
    Config: inspectConfig(c, facts),
    HostConfig: inspectHostConfig(c, facts),
  };
  if (facts.sizes) {
    doc.SizeRw = facts.sizes.rw;
    doc.SizeRootFs = facts.sizes.rootFs;
  }
  return doc;
}
