// What `create`/`run` were asked for, stored with the container (the config column) so
// `start`, `inspect` and restarts use exactly the same settings; and the runtime facts the
// lifecycle records (the state column).

import type { HealthConfig, HealthOnFailure } from './healthcheck-config';
import type { SdNotifyMode } from './sdnotify';

export interface MountRequest {
  type: 'bind' | 'volume' | 'tmpfs';
  /** host path (bind) or volume name (volume); absent for tmpfs and anonymous volumes */
  source?: string;
  destination: string;
  readonly: boolean;
  options: string[];
}

export interface RestartPolicy {
  name: 'no' | 'on-failure' | 'always' | 'unless-stopped';
  maxRetries: number;
}

export interface ContainerConfig {
  /** the image's ID and the name it was asked for (fully qualified) */
  imageId: string;
  imageName: string;
  /** the process: entrypoint + cmd after --entrypoint and trailing args were applied */
  entrypoint: string[];
  cmd: string[];
  /** -e / --env-file entries, NAME=value */
  env: string[];
  workdir?: string;
  user?: string;
  groupAdd: string[];
  hostname?: string;
  tty: boolean;
  stdin: boolean;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  mounts: MountRequest[];
  readOnly: boolean;
  capAdd: string[];
  capDrop: string[];
  privileged: boolean;
  securityOpt: string[];
  ulimits: string[];
  shmSize?: number;
  /** --network as given (pkg/network/network-mode.ts parses it); `bridge` is the default */
  network: string;
  /** per user-defined network: --network-alias, --ip, --mac-address and `--network NAME:alias=,ip=,mac=` */
  networkOptions?: Record<string, NetworkRequest>;
  /** -p as asked (ports are bound at each start: state.network.ports) */
  publish?: PortMapping[];
  /** -P: every exposed port to a random host port */
  publishAll?: boolean;
  /** the image's ExposedPorts and --expose, as PORT/PROTO */
  exposedPorts?: string[];
  /** --dns, --dns-search, --dns-option, --add-host NAME:IP, --mac-address */
  dns?: string[];
  dnsSearch?: string[];
  dnsOptions?: string[];
  addHosts?: string[];
  macAddress?: string;
  pid?: string;
  ipc?: string;
  uts?: string;
  /** --userns as given (host, keep-id[:uid=,gid=], auto[:size=], nomap) */
  userns?: string;
  /** --userns=auto: the subordinate ids this container holds (offset into tspod's range) */
  usernsRange?: { offset: number; size: number };
  stopSignal: string;
  stopTimeout: number;
  /** the OCI runtime it was created with (a name, or a path as --runtime gave it): every later
   * runtime call for it uses this one. Absent on containers from before it was recorded. */
  runtime?: string;
  logDriver: string;
  logOpts: Record<string, string>;
  restartPolicy: RestartPolicy;
  autoRemove: boolean;
  devices: string[];
  /** --init: tspod-init runs as pid 1 and the command as its child; --init-path another init binary */
  init?: boolean;
  initPath?: string;
  /** the health check (the image's HEALTHCHECK under the --health-* flags); absent: none */
  healthcheck?: HealthConfig;
  /** --health-on-failure: what happens when the check finds the container unhealthy */
  healthOnFailure?: HealthOnFailure;
  /** --sdnotify: who tells systemd the container is ready (absent: conmon) */
  sdNotify?: SdNotifyMode;
  /** what -m/--memory-swap/--cpus/--cpu-shares/--pids-limit asked for (applied only where the host allows) */
  resources: Record<string, number | string>;
  /**
   * The command line that created the container (Podman's CreateCommand): `generate systemd
   * --new` replays it. imageIndex: where the image stands in it (flags before, command after).
   */
  createCommand?: { argv: string[]; imageIndex: number };
  /** --conmon-pidfile: where the monitor also writes its pid (a systemd unit's PIDFile=) */
  conmonPidfile?: string;
}

export interface ContainerRuntimeState {
  /** where the root filesystem is mounted while the container runs */
  rootfs?: string;
  logPath?: string;
  /** what the network setup started and bound (pkg/network/network-setup.ts) */
  network?: NetworkStatus;
  /** rows written before `network` existed: the slirp4netns pid */
  networkPid?: number;
  /** Docker's OOMKilled */
  oomKilled?: boolean;
  /**
   * Names one run of the container. The monitor's exit hook carries it, so a hook that comes
   * late (after the container was started again) leaves the new run alone.
   */
  runToken?: string;
  /** the error of the last start that failed */
  error?: string;
  /** the restart policy's last backoff delay (restart-policy.ts) */
  restartBackoffMs?: number;
  /** an exit hook (pid) waits to restart the container at `at` (ms since the epoch) */
  restartPending?: { pid: number; at: number };
}

import type { ContainerRecord } from './container-store';
import type { NetworkStatus } from '../network/network-setup';
import type { PortMapping } from '../network/port-mappings';
import type { NetworkRequest } from '../network/endpoint-lease';

export type Container = ContainerRecord<ContainerConfig, ContainerRuntimeState>;
