// The OCI runtime spec (config.json) as tspod writes it: the subset of runtime-spec 1.0.2 that
// runc 1.1 and crun read and tspod fills in. Field names are the wire names.

/** runc 1.1.5 reports spec 1.0.2-dev; it does not check the version, but we say what we follow. */
export const OCI_VERSION = '1.0.2-dev';

export interface Spec {
  ociVersion: string;
  process: Process;
  root: Root;
  hostname?: string;
  mounts: Mount[];
  hooks?: Hooks;
  annotations?: Record<string, string>;
  linux: Linux;
}

export interface Root {
  path: string;
  readonly?: boolean;
}

export interface Process {
  terminal?: boolean;
  consoleSize?: { height: number; width: number };
  user: User;
  args: string[];
  env: string[];
  cwd: string;
  capabilities?: Capabilities;
  rlimits?: Rlimit[];
  noNewPrivileges?: boolean;
  apparmorProfile?: string;
  oomScoreAdj?: number;
  selinuxLabel?: string;
}

export interface User {
  uid: number;
  gid: number;
  umask?: number;
  additionalGids?: number[];
}

/** Each set holds names like "CAP_CHOWN". */
export interface Capabilities {
  bounding: string[];
  effective: string[];
  inheritable: string[];
  permitted: string[];
  ambient: string[];
}

export type RlimitType =
  | 'RLIMIT_AS'
  | 'RLIMIT_CORE'
  | 'RLIMIT_CPU'
  | 'RLIMIT_DATA'
  | 'RLIMIT_FSIZE'
  | 'RLIMIT_LOCKS'
  | 'RLIMIT_MEMLOCK'
  | 'RLIMIT_MSGQUEUE'
  | 'RLIMIT_NICE'
  | 'RLIMIT_NOFILE'
  | 'RLIMIT_NPROC'
  | 'RLIMIT_RSS'
  | 'RLIMIT_RTPRIO'
  | 'RLIMIT_RTTIME'
  | 'RLIMIT_SIGPENDING'
  | 'RLIMIT_STACK';

/** soft and hard are uint64 on the wire; RLIM_INFINITY (rlimits.ts) stands for "unlimited". */
export interface Rlimit {
  type: RlimitType;
  soft: number;
  hard: number;
}

export interface Mount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
}

export interface Hook {
  path: string;
  args?: string[];
  env?: string[];
  timeout?: number;
}

export interface Hooks {
  /** deprecated by the spec, still the one runc 1.1 and crun both run in the runtime namespace */
  prestart?: Hook[];
  createRuntime?: Hook[];
  createContainer?: Hook[];
  startContainer?: Hook[];
  poststart?: Hook[];
  poststop?: Hook[];
}

export type NamespaceType = 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup';

/** Without path: a new namespace; with path: join that one (/proc/PID/ns/net, a bind mount...). */
export interface Namespace {
  type: NamespaceType;
  path?: string;
}

/** Spec wording: containerID inside the new user namespace, hostID in the runtime's own. */
export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface Linux {
  namespaces: Namespace[];
  uidMappings?: IdMapping[];
  gidMappings?: IdMapping[];
  devices?: Device[];
  cgroupsPath?: string;
  resources?: Resources;
  rootfsPropagation?: string;
  seccomp?: Seccomp;
  sysctl?: Record<string, string>;
  maskedPaths?: string[];
  readonlyPaths?: string[];
  mountLabel?: string;
}

/** A device node the runtime creates (or bind-mounts, in a user namespace) in the container. */
export interface Device {
  type: 'c' | 'b' | 'u' | 'p';
  path: string;
  major?: number;
  minor?: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

/** A device cgroup rule. */
export interface DeviceRule {
  allow: boolean;
  type?: 'a' | 'c' | 'b';
  major?: number;
  minor?: number;
  access?: string;
}

export interface Resources {
  devices?: DeviceRule[];
  memory?: { limit?: number; reservation?: number; swap?: number; swappiness?: number; disableOOMKiller?: boolean };
  cpu?: { shares?: number; quota?: number; period?: number; cpus?: string; mems?: string };
  pids?: { limit: number };
  blockIO?: { weight?: number };
}

export type SeccompAction =
  | 'SCMP_ACT_KILL'
  | 'SCMP_ACT_KILL_PROCESS'
  | 'SCMP_ACT_KILL_THREAD'
  | 'SCMP_ACT_TRAP'
  | 'SCMP_ACT_ERRNO'
  | 'SCMP_ACT_TRACE'
  | 'SCMP_ACT_ALLOW'
  | 'SCMP_ACT_LOG'
  | 'SCMP_ACT_NOTIFY';

export type SeccompOperator =
  | 'SCMP_CMP_NE'
  | 'SCMP_CMP_LT'
  | 'SCMP_CMP_LE'
  | 'SCMP_CMP_EQ'
  | 'SCMP_CMP_GE'
  | 'SCMP_CMP_GT'
  | 'SCMP_CMP_MASKED_EQ';

export interface SeccompArg {
  index: number;
  value: number;
  valueTwo?: number;
  op: SeccompOperator;
}

export interface SeccompSyscall {
  names: string[];
  action: SeccompAction;
  errnoRet?: number;
  args?: SeccompArg[];
}

export interface Seccomp {
  defaultAction: SeccompAction;
  defaultErrnoRet?: number;
  /** "SCMP_ARCH_X86_64", ... */
  architectures?: string[];
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: SeccompSyscall[];
}
