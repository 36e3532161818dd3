// The OCI runtime spec (config.json) of a container, as a pure function of what the caller
// resolved (image config, flags, the user) and a few facts about the host. Podman's choices,
// and the ways rootless differs:
//   - tspod runs the OCI runtime inside its per-user user namespace (as Podman does), so the
//     spec has no user namespace of its own unless --userns asks for one (keep-id, auto): then
//     the mappings are ids of tspod's namespace, computed by keepIdMappings / autoMappings.
//   - In a user namespace mknod is not allowed: the runtime bind-mounts /dev/null & co from the
//     host by itself (runc and crun both do when they run in a user namespace), and --device
//     entries become bind mounts, as Podman does rootless.
//   - sysfs can be mounted only for a network namespace our user namespace owns, procfs only for
//     such a PID namespace, mqueue only for such an IPC namespace: with the host's, the host's
//     /sys, /proc or /dev/mqueue is bind-mounted instead.
//   - /dev/pts gets gid=5 (tty) only when gid 5 is mapped (not with a single-id namespace).
//   - Resources (cgroup limits) appear only when the caller can apply them: rootless on cgroup v1
//     nothing can, and runc then leaves the container in the caller's cgroup without complaint.
//   - A bind of a host path repeats the flags the kernel locked on its source (lockedOptions).
//   - Capabilities the caller lacks are dropped (root here has no CAP_SYS_RESOURCE).
import { InvalidArgumentError } from '../errors';
import { IdMap } from '../rootless/id-mappings';
import { autoMappings, isMapped, keepIdMappings } from './container-user';
import { limitToAvailable, processCapabilities } from './capabilities';
import { maskedAndReadonlyPaths } from './masked-paths';
import { Device, DeviceRule, Hooks, IdMapping, Namespace, NamespaceType, OCI_VERSION, Resources, Rlimit, Spec } from './oci-spec-types';
import { RLIM_INFINITY } from './rlimits';
import { DEFAULT_SECCOMP_PROFILE, SeccompProfile, seccompForSpec } from './seccomp-profile';
import { MountContext, TTY_GID, deviceMount, etcMounts, orderMounts, systemMounts, userMount } from './spec-mounts';

export { DEFAULT_SHM_SIZE, lockedOptions } from './spec-mounts';
export { describeDevice, hostFacts, sourceMountOptions } from './host-facts';

export type NamespaceMode = 'private' | 'host' | { path: string };

/**
 * --userns: host (none: the container shares tspod's namespace), keep-id[:uid=,gid=], auto[:size=],
 * nomap. With a nested namespace the image's files, owned by tspod-namespace ids, would shift
 * (under keep-id root's files would show as the user's): container-start mounts such roots
 * through fuse-overlayfs with these same mappings, which shows every file with its image owner.
 */
export type UserNamespaceMode =
  | { mode: 'host' }
  | { mode: 'keep-id'; uid?: number; gid?: number }
  /** offset: where in tspod's subordinate ids this container's range starts (allocated at create) */
  | { mode: 'auto'; size?: number; offset?: number }
  | { mode: 'nomap' };

export type MountInput =
  /**
   * -v /host:/ctr[:opts], --mount type=bind; options: propagation, nosuid, noexec, ...
   * sourceOptions: the options of the mount the source lives on (sourceMountOptions()), see
   * lockedOptions.
   */
  | { type: 'bind'; source: string; destination: string; readonly?: boolean; options?: string[]; sourceOptions?: string[] }
  /** a named volume: source is its directory on the host */
  | { type: 'volume'; source: string; destination: string; readonly?: boolean; options?: string[]; sourceOptions?: string[] }
  /** --tmpfs /ctr[:opts], --mount type=tmpfs; options: size=, mode=, exec, ... */
  | { type: 'tmpfs'; destination: string; readonly?: boolean; options?: string[] };

/** --device HOST[:CONTAINER[:PERMISSIONS]], with the node's numbers from the host (describeDevice). */
export interface DeviceInput {
  hostPath: string;
  containerPath: string;
  /** "rwm" and subsets */
  permissions: string;
  type: 'c' | 'b';
  major: number;
  minor: number;
  fileMode: number;
  uid: number;
  gid: number;
}

export interface ResourceInput {
  /** bytes */
  memory?: number;
  /** memory + swap, bytes; -1 unlimited; default twice --memory */
  memorySwap?: number;
  memoryReservation?: number;
  /** --cpus 1.5 */
  cpus?: number;
  cpuShares?: number;
  cpuPeriod?: number;
  cpuQuota?: number;
  cpusetCpus?: string;
  cpusetMems?: string;
  /** -1: unlimited */
  pidsLimit?: number;
}

/** What buildSpec needs to know about where the runtime will run (hostFacts() reads it). */
export interface HostFacts {
  /** the runtime runs in tspod's user namespace (not as real root) */
  rootless: boolean;
  /** tspod's namespace as /proc/self/uid_map shows it from inside (root: the identity map) */
  uidMap: IdMap[];
  gidMap: IdMap[];
  /** the user's own ids on the host, which keep-id maps into the container */
  hostUid: number;
  hostGid: number;
  /** the caller's bounding set: the most a container can get (root here lacks CAP_SYS_RESOURCE) */
  capabilities: string[];
  /** Go architecture name and os.release(), for the seccomp profile's conditions */
  arch: string;
  kernel: string;
  /** the host has /dev/mqueue (to bind with --ipc=host rootless); default: assumed */
  devMqueue?: boolean;
}

export interface SpecInput {
  rootfs: string;
  readonlyRootfs?: boolean;
  /** with a read-only rootfs, tmpfs on /tmp, /var/tmp and /run (Podman's --read-only-tmpfs); default true */
  readOnlyTmpfs?: boolean;
  process: {
    /** entrypoint + cmd, already combined */
    args: string[];
    /** already merged (containerEnv) */
    env: string[];
    cwd: string;
    /** resolved (resolveContainerUser); keep-id callers default it to the user's own ids */
    user: { uid: number; gid: number; additionalGids?: number[]; umask?: number };
    terminal?: boolean;
    consoleSize?: { height: number; width: number };
    /** the container's set (capabilitySet) */
    capabilities: string[];
    /** what --cap-add named: a non-root user gets these (explicitlyAddedCapabilities) */
    userCapabilities?: string[];
    noNewPrivileges?: boolean;
    /** resolveRlimits */
    rlimits?: Rlimit[];
    oomScoreAdj?: number;
  };
  hostname?: string;
  mounts?: MountInput[];
  /** host paths of the container's own files, bind-mounted over the image's */
  etcFiles?: { hosts?: string; hostname?: string; resolvConf?: string };
  devices?: DeviceInput[];
  namespaces?: {
    /** 'private' also serves --network none (a namespace with only lo) */
    network?: NamespaceMode;
    pid?: NamespaceMode;
    ipc?: NamespaceMode;
    uts?: NamespaceMode;
    /** default private: runc 1.1.5 handles it on this cgroup v1 host too (Podman uses host on v1) */
    cgroup?: NamespaceMode;
    user?: UserNamespaceMode;
  };
  /** bytes; default 64 MiB */
  shmSize?: number;
  /** only when the caller can apply them (never rootless on cgroup v1) */
  resources?: ResourceInput;
  /** default DEFAULT_SECCOMP_PROFILE; --privileged means unconfined */
  seccomp?: SeccompProfile | 'unconfined';
  privileged?: boolean;
  /** --security-opt unmask= / mask= */
  unmask?: string[];
  mask?: string[];
  sysctls?: Record<string, string>;
  annotations?: Record<string, string>;
  hooks?: Hooks;
  /**
   * Leave it out rootless on cgroup v1: runc then tries <its own cgroup>/<id>, and ignores the
   * EACCES; with a path set it fails ("mkdir /sys/fs/cgroup/cpuset/...: permission denied").
   */
  cgroupsPath?: string;
  host: HostFacts;
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const DEFAULT_UMASK = 0o022;
const CPU_PERIOD = 100000;

/**
 * The process environment, in Podman's order: containers.conf defaults (PATH, TERM), the image's
 * Env, then -e; then, when still unset, container=podman, HOSTNAME and HOME.
 * container=podman, not "tspod": systemd-detect-virt, systemd itself and toolbox-style scripts
 * recognise a fixed list of values ("podman", "docker", "oci", ...) and treat anything else as an
 * unknown container. tspod is a drop-in for Podman, so it says what Podman says.
 */
export function containerEnv(opts: { imageEnv?: string[]; env?: string[]; hostname?: string; home: string }): string[] {
  const vars = new Map<string, string>([
    ['PATH', DEFAULT_PATH],
    ['TERM', 'xterm'],
  ]);
  for (const entry of [...(opts.imageEnv ?? []), ...(opts.env ?? [])]) {
    const eq = entry.indexOf('=');
    if (eq === 0) throw new InvalidArgumentError(`invalid environment variable: ${entry}`);
    if (eq < 0) continue; // a bare NAME from -e with nothing to take it from: the CLI resolves those
    vars.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  const fallback: [string, string | undefined][] = [['container', 'podman'], ['HOSTNAME', opts.hostname], ['HOME', opts.home]];
  for (const [k, v] of fallback) if (v !== undefined && !vars.has(k)) vars.set(k, v);
  return [...vars].map(([k, v]) => `${k}=${v}`);
}

const asSpecMaps = (maps: IdMap[]): IdMapping[] => maps.map((m) => ({ containerID: m.container_id, hostID: m.host_id, size: m.size }));

// ------------------------------------------------------------ namespaces -----------------------

function namespaceEntry(type: NamespaceType, mode: NamespaceMode | undefined, fallback: 'private' | 'host'): Namespace | undefined {
  const m = mode ?? fallback;
  if (m === 'host') return undefined;
  if (m === 'private') return { type };
  if (!m.path.startsWith('/')) throw new InvalidArgumentError(`${type} namespace path ${m.path} is not absolute`);
  return { type, path: m.path };
}

// Which sysctls a container may set: those of namespaces it owns (Podman's list).
const IPC_SYSCTLS = new Set(['kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced']);

function checkSysctls(sysctls: Record<string, string>, ns: Required<Pick<NonNullable<SpecInput['namespaces']>, 'network' | 'ipc' | 'uts'>>): void {
  for (const key of Object.keys(sysctls)) {
    const needsOwn = (what: 'network' | 'ipc' | 'uts'): void => {
      if (ns[what] === 'host') throw new InvalidArgumentError(`sysctl "${key}" is not allowed in the host's ${what} namespace`);
    };
    if (IPC_SYSCTLS.has(key) || key.startsWith('fs.mqueue.')) needsOwn('ipc');
    else if (key.startsWith('net.')) needsOwn('network');
    else if (key === 'kernel.domainname' || key === 'kernel.hostname') needsOwn('uts');
    else throw new InvalidArgumentError(`sysctl "${key}" is not allowed`);
  }
}

// ------------------------------------------------------------ resources ------------------------

function resources(r: ResourceInput): Resources {
  const out: Resources = {};
  if (r.memorySwap !== undefined && r.memorySwap !== -1) {
    if (r.memory === undefined) throw new InvalidArgumentError('you must provide --memory when using --memory-swap');
    if (r.memorySwap < r.memory) throw new InvalidArgumentError('minimum memoryswap limit should be larger than memory limit, see usage');
  }
  if (r.memory !== undefined || r.memoryReservation !== undefined) {
    out.memory = {};
    if (r.memory !== undefined) {
      out.memory.limit = r.memory;
      out.memory.swap = r.memorySwap ?? 2 * r.memory;
    }
    if (r.memoryReservation !== undefined) out.memory.reservation = r.memoryReservation;
  }
  if (r.cpus !== undefined && (r.cpuQuota !== undefined || r.cpuPeriod !== undefined)) {
    throw new InvalidArgumentError('--cpus conflicts with --cpu-period and --cpu-quota: give one or the other');
  }
  const cpu: NonNullable<Resources['cpu']> = {};
  if (r.cpus !== undefined) {
    if (!(r.cpus > 0)) throw new InvalidArgumentError(`--cpus must be positive: ${r.cpus}`);
    cpu.period = CPU_PERIOD;
    cpu.quota = Math.round(r.cpus * CPU_PERIOD);
  }
  if (r.cpuPeriod !== undefined) cpu.period = r.cpuPeriod;
  if (r.cpuQuota !== undefined) cpu.quota = r.cpuQuota;
  if (r.cpuShares !== undefined) cpu.shares = r.cpuShares;
  if (r.cpusetCpus !== undefined) cpu.cpus = r.cpusetCpus;
  if (r.cpusetMems !== undefined) cpu.mems = r.cpusetMems;
  if (Object.keys(cpu).length) out.cpu = cpu;
  if (r.pidsLimit !== undefined && r.pidsLimit !== 0) out.pids = { limit: r.pidsLimit };
  return out;
}

// ------------------------------------------------------------ the spec -------------------------

export interface ContainerMappings {
  /** set when the container gets a user namespace of its own (keep-id, auto) */
  nested: boolean;
  /** the ids that exist in the container, mapped to ids of the namespace the runtime runs in */
  uid: IdMapping[];
  gid: IdMapping[];
}

/** Which ids exist in the container: tspod's namespace's, or the nested one --userns asks for. */
export function containerMappings(input: Pick<SpecInput, 'host' | 'namespaces'>): ContainerMappings {
  const { host } = input;
  const userns = input.namespaces?.user ?? { mode: 'host' };
  if (userns.mode === 'host') return { nested: false, uid: asSpecMaps(host.uidMap), gid: asSpecMaps(host.gidMap) };
  if (!host.rootless) throw new InvalidArgumentError(`--userns=${userns.mode} is only supported in rootless mode`);
  if (userns.mode === 'keep-id') {
    return { nested: true, uid: keepIdMappings(host.uidMap, host.hostUid, userns.uid), gid: keepIdMappings(host.gidMap, host.hostGid, userns.gid) };
  }
  const size = userns.mode === 'auto' ? userns.size : Infinity;
  const offset = userns.mode === 'auto' ? userns.offset : 0;
  return { nested: true, uid: autoMappings(host.uidMap, host.hostUid, size, offset), gid: autoMappings(host.gidMap, host.hostGid, size, offset) };
}

/** Supplementary groups buildSpec leaves out because the container has no such gid (for a warning). */
export function unmappedGroups(input: SpecInput): number[] {
  const { gid } = containerMappings(input);
  return (input.process.user.additionalGids ?? []).filter((g) => !isMapped(gid, g));
}

function checkProcess(p: SpecInput['process'], maps: ContainerMappings): void {
  if (!p.args.length) throw new InvalidArgumentError('no command specified: the image has no entrypoint or cmd, and none was given');
  if (p.cwd && !p.cwd.startsWith('/')) throw new InvalidArgumentError(`working directory ${p.cwd} is not absolute`);
  const shown = (m: IdMapping[]): string => m.map((r) => `${r.containerID}-${r.containerID + r.size - 1}`).join(', ');
  if (!isMapped(maps.uid, p.user.uid)) throw new InvalidArgumentError(`uid ${p.user.uid} is not mapped in the container's user namespace (mapped: ${shown(maps.uid)})`);
  if (!isMapped(maps.gid, p.user.gid)) throw new InvalidArgumentError(`gid ${p.user.gid} is not mapped in the container's user namespace (mapped: ${shown(maps.gid)})`);
}

export function buildSpec(input: SpecInput): Spec {
  const { host } = input;
  const ns = input.namespaces ?? {};
  const network = ns.network ?? 'private';
  const maps = containerMappings(input);
  const p = input.process;
  checkProcess(p, maps);
  const rootless = host.rootless || maps.nested;
  const caps = limitToAvailable(p.capabilities, host.capabilities).caps;

  const spec: Spec = {
    ociVersion: OCI_VERSION,
    process: {
      terminal: !!p.terminal,
      user: {
        uid: p.user.uid,
        gid: p.user.gid,
        umask: p.user.umask ?? DEFAULT_UMASK,
        // An unmapped one would make setgroups() fail: Podman skips those (unmappedGroups() warns).
        additionalGids: (p.user.additionalGids ?? []).filter((g) => isMapped(maps.gid, g)),
      },
      args: [...p.args],
      env: [...p.env],
      cwd: p.cwd || '/',
      capabilities: processCapabilities(caps, p.user.uid !== 0, p.userCapabilities ?? []),
      noNewPrivileges: !!p.noNewPrivileges,
    },
    root: { path: input.rootfs, readonly: !!input.readonlyRootfs },
    mounts: [],
    linux: {
      namespaces: [
        namespaceEntry('pid', ns.pid, 'private'),
        namespaceEntry('network', network, 'private'),
        namespaceEntry('ipc', ns.ipc, 'private'),
        namespaceEntry('uts', ns.uts, 'private'),
        { type: 'mount' as const },
        namespaceEntry('cgroup', ns.cgroup, 'private'),
        maps.nested ? { type: 'user' as const } : undefined,
      ].filter((n): n is Namespace => n !== undefined),
    },
  };
  if (p.consoleSize) spec.process.consoleSize = { ...p.consoleSize };
  if (p.rlimits?.length) spec.process.rlimits = p.rlimits.map((r) => ({ ...r }));
  if (p.oomScoreAdj !== undefined) spec.process.oomScoreAdj = p.oomScoreAdj;
  if (input.hostname) {
    if (ns.uts === 'host') throw new InvalidArgumentError('cannot set hostname when running in the host UTS namespace');
    spec.hostname = input.hostname;
  }

  const ctx: MountContext = { input, newUserns: maps.nested, netns: network, pidns: ns.pid ?? 'private', ipcns: ns.ipc ?? 'private', ttyGid: isMapped(maps.gid, TTY_GID) };
  const tmpfsForReadonly: MountInput[] =
    input.readonlyRootfs && input.readOnlyTmpfs !== false
      ? ['/tmp', '/var/tmp', '/run'].map((destination) => ({ type: 'tmpfs' as const, destination, options: ['exec'] }))
      : [];
  spec.mounts = orderMounts([
    ...systemMounts(ctx),
    ...tmpfsForReadonly.map(userMount),
    ...etcMounts(input.etcFiles ?? {}),
    ...(rootless ? (input.devices ?? []).map(deviceMount) : []),
    ...(input.mounts ?? []).map(userMount),
  ]);

  if (maps.nested) {
    spec.linux.uidMappings = maps.uid;
    spec.linux.gidMappings = maps.gid;
  }
  if (!rootless) {
    // Root: the runtime creates the nodes, and the device cgroup allows exactly these (runc
    // appends its defaults for /dev/null & co after our deny-all).
    spec.linux.devices = (input.devices ?? []).map((d): Device => ({ path: d.containerPath, type: d.type, major: d.major, minor: d.minor, fileMode: d.fileMode, uid: d.uid, gid: d.gid }));
    const rules: DeviceRule[] = [{ allow: false, access: 'rwm' }];
    for (const d of input.devices ?? []) rules.push({ allow: true, type: d.type, major: d.major, minor: d.minor, access: d.permissions });
    spec.linux.resources = { devices: rules };
  }
  if (input.resources) spec.linux.resources = { ...spec.linux.resources, ...resources(input.resources) };
  if (input.cgroupsPath) spec.linux.cgroupsPath = input.cgroupsPath;

  checkSysctls(input.sysctls ?? {}, { network, ipc: ctx.ipcns, uts: ns.uts ?? 'private' });
  // Podman's default_sysctls: ping without CAP_NET_RAW, in a network namespace of our own.
  const sysctls = { ...(network === 'private' ? { 'net.ipv4.ping_group_range': '0 0' } : {}), ...(input.sysctls ?? {}) };
  if (Object.keys(sysctls).length) spec.linux.sysctl = sysctls;

  const seccomp = input.privileged ? 'unconfined' : (input.seccomp ?? DEFAULT_SECCOMP_PROFILE);
  if (seccomp !== 'unconfined') spec.linux.seccomp = seccompForSpec(seccomp, { arch: host.arch, capabilities: caps, kernel: host.kernel });
  const paths = maskedAndReadonlyPaths({ privileged: input.privileged, unmask: input.unmask, mask: input.mask });
  spec.linux.maskedPaths = paths.maskedPaths;
  spec.linux.readonlyPaths = paths.readonlyPaths;

  if (input.annotations && Object.keys(input.annotations).length) spec.annotations = { ...input.annotations };
  if (input.hooks) spec.hooks = input.hooks;
  return spec;
}

/** config.json text. RLIM_INFINITY goes out as the exact uint64 runc expects (see rlimits.ts).
 * Compact, as Podman writes it: indenting the ~30 KB (the seccomp rules, the compiled filter)
 * took twice as long, ~0.5 ms of every start. */
export function serializeSpec(spec: Spec): string {
  const infinity = JSON.stringify(RLIM_INFINITY);
  return JSON.stringify(spec).replace(new RegExp(`(?<=[:\\s])${infinity}(?=[,\\s}])`, 'g'), '18446744073709551615');
}
