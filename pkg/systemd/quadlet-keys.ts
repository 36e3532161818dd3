// The keys of Quadlet's [Container], [Volume] and [Network] sections (Podman's documented
// names) and the tspod flags each becomes. Table-driven, so a key is one line; the few keys
// with rules of their own (Image, Exec, Volume=x.volume, Network=x.network, ...) are handled
// in quadlet.ts.

/**
 * value: one flag per occurrence with the value as one argument; bool: the flag when true;
 * words: the value is a space-separated list, one flag per word; assignments: systemd's
 * Environment= syntax (quoted KEY=VALUE words), one flag per assignment; fixed: a bool key
 * that adds a fixed flag and value when true; prefixed: a flag with a fixed prefix before the value.
 */
export type KeyRule =
  | { kind: 'value' | 'words' | 'assignments'; flag: string; path?: boolean }
  | { kind: 'bool'; flag: string; explicit?: boolean }
  | { kind: 'fixed'; flag: string; value: string }
  | { kind: 'prefixed'; flag: string; prefix: string }
  | { kind: 'special' };

const v = (flag: string, path = false): KeyRule => ({ kind: 'value', flag, path });
const words = (flag: string): KeyRule => ({ kind: 'words', flag });
const assignments = (flag: string): KeyRule => ({ kind: 'assignments', flag });
const bool = (flag: string, explicit = false): KeyRule => ({ kind: 'bool', flag, explicit });
const prefixed = (flag: string, prefix: string): KeyRule => ({ kind: 'prefixed', flag, prefix });
const special: KeyRule = { kind: 'special' };

/** Keys every section type shares. */
const COMMON: Record<string, KeyRule> = {
  ContainersConfModule: v('--module', true),
  GlobalArgs: special,
  PodmanArgs: special,
  /** tspod's own spelling of PodmanArgs */
  TspodArgs: special,
  Label: assignments('--label'),
};

export const CONTAINER_KEYS: Record<string, KeyRule> = {
  ...COMMON,
  AddCapability: words('--cap-add'),
  AddDevice: v('--device'),
  AddHost: v('--add-host'),
  Annotation: assignments('--annotation'),
  AutoUpdate: special,
  CgroupsMode: v('--cgroups'),
  ContainerName: special,
  DNS: v('--dns'),
  DNSOption: v('--dns-option'),
  DNSSearch: v('--dns-search'),
  DropCapability: words('--cap-drop'),
  Entrypoint: v('--entrypoint'),
  Environment: assignments('--env'),
  EnvironmentFile: v('--env-file', true),
  EnvironmentHost: bool('--env-host'),
  Exec: special,
  ExposeHostPort: v('--expose'),
  GIDMap: v('--gidmap'),
  Group: special,
  GroupAdd: v('--group-add'),
  HealthCmd: v('--health-cmd'),
  HealthInterval: v('--health-interval'),
  HealthLogDestination: v('--health-log-destination'),
  HealthMaxLogCount: v('--health-max-log-count'),
  HealthMaxLogSize: v('--health-max-log-size'),
  HealthOnFailure: v('--health-on-failure'),
  HealthRetries: v('--health-retries'),
  HealthStartPeriod: v('--health-start-period'),
  HealthStartupCmd: v('--health-startup-cmd'),
  HealthStartupInterval: v('--health-startup-interval'),
  HealthStartupRetries: v('--health-startup-retries'),
  HealthStartupSuccess: v('--health-startup-success'),
  HealthStartupTimeout: v('--health-startup-timeout'),
  HealthTimeout: v('--health-timeout'),
  HostName: v('--hostname'),
  IP: v('--ip'),
  IP6: v('--ip6'),
  Image: special,
  LogDriver: v('--log-driver'),
  LogOpt: v('--log-opt'),
  Mask: prefixed('--security-opt', 'mask='),
  Memory: v('--memory'),
  Mount: special,
  Network: special,
  NetworkAlias: v('--network-alias'),
  NoNewPrivileges: { kind: 'fixed', flag: '--security-opt', value: 'no-new-privileges' },
  Notify: special,
  PidsLimit: v('--pids-limit'),
  Pod: special,
  PublishPort: v('--publish'),
  Pull: v('--pull'),
  ReadOnly: bool('--read-only'),
  ReadOnlyTmpfs: bool('--read-only-tmpfs', true),
  ReloadCmd: special,
  ReloadSignal: special,
  Retry: v('--retry'),
  RetryDelay: v('--retry-delay'),
  Rootfs: v('--rootfs', true),
  RunInit: bool('--init'),
  SeccompProfile: prefixed('--security-opt', 'seccomp='),
  Secret: v('--secret'),
  SecurityLabelDisable: { kind: 'fixed', flag: '--security-opt', value: 'label=disable' },
  SecurityLabelFileType: prefixed('--security-opt', 'label=filetype:'),
  SecurityLabelLevel: prefixed('--security-opt', 'label=level:'),
  SecurityLabelNested: { kind: 'fixed', flag: '--security-opt', value: 'label=nested' },
  SecurityLabelType: prefixed('--security-opt', 'label=type:'),
  ShmSize: v('--shm-size'),
  StartWithPod: special,
  StopSignal: v('--stop-signal'),
  StopTimeout: v('--stop-timeout'),
  SubGIDMap: v('--subgidname'),
  SubUIDMap: v('--subuidname'),
  Sysctl: words('--sysctl'),
  Timezone: v('--tz'),
  Tmpfs: v('--tmpfs'),
  UIDMap: v('--uidmap'),
  Ulimit: v('--ulimit'),
  Unmask: prefixed('--security-opt', 'unmask='),
  User: special,
  UserNS: v('--userns'),
  Volume: special,
  WorkingDir: v('--workdir'),
};

export const VOLUME_KEYS: Record<string, KeyRule> = {
  ...COMMON,
  Copy: special,
  Device: prefixed('--opt', 'device='),
  Driver: v('--driver'),
  Group: prefixed('--opt', 'gid='),
  Image: prefixed('--opt', 'image='),
  Options: prefixed('--opt', 'o='),
  Type: prefixed('--opt', 'type='),
  User: prefixed('--opt', 'uid='),
  VolumeName: special,
};

export const NETWORK_KEYS: Record<string, KeyRule> = {
  ...COMMON,
  DisableDNS: bool('--disable-dns'),
  DNS: v('--dns'),
  Driver: v('--driver'),
  Gateway: v('--gateway'),
  Internal: bool('--internal'),
  InterfaceName: v('--interface-name'),
  IPAMDriver: v('--ipam-driver'),
  IPRange: v('--ip-range'),
  IPv6: bool('--ipv6'),
  NetworkDeleteOnStop: special,
  NetworkName: special,
  Options: v('--opt'),
  Subnet: v('--subnet'),
};

const TRUE = ['1', 'yes', 'y', 'true', 't', 'on'];
const FALSE = ['0', 'no', 'n', 'false', 'f', 'off'];

/** systemd's booleans; undefined for anything else. */
export function parseBool(value: string): boolean | undefined {
  const lower = value.toLowerCase();
  if (TRUE.includes(lower)) return true;
  if (FALSE.includes(lower)) return false;
  return undefined;
}
