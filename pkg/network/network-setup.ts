// The one entry point container start, exit and cleanup use for networking, dispatching on
// the container's --network mode (network-mode.ts). Three steps, in this order:
//
//   planNetwork(engine, container)             before the OCI bundle is written. Decides the
//       → NetworkPlan                           spec's network namespace (private, host, or a
//                                               path to join) and what /etc/hosts and
//                                               resolv.conf say (the container's address, the
//                                               host's address, the network's resolvers), and
//                                               which ports to publish. May reserve things
//                                               (an IP lease); must not start processes.
//   setUpNetwork(engine, container, plan, pid)  after `runtime create` (the namespace exists,
//       → NetworkStatus                         `pid` is the container's init, not yet running
//                                               the command) and before `runtime start`.
//                                               Starts helpers (slirp4netns, pasta, veths,
//                                               tspod-portfwd), publishes ports. On failure it
//                                               undoes what it did itself and throws
//                                               (PortInUseError for a taken port).
//   beginNetwork(engine, container, plan, netns) what start calls instead of setUpNetwork: with
//       → NetworkStart                          a namespace made before create (early-netns.ts,
//                                               slirp4netns and pasta) launch() starts the helpers
//                                               as create runs, complete(pid) after it waits for
//                                               them; otherwise complete(pid) is setUpNetwork.
//   tearDownNetwork(engine, container)         at cleanup (exit, stop, rm -f, a refresh after
//                                               the monitor was killed). Reads only what
//                                               setUpNetwork stored in container.state.network,
//                                               never the config, and must be safe to run twice.
//
// The start code stores the NetworkStatus in the container's state column; inspect, port and
// ps read it from there. Backends: slirp4netns (rootless default), pasta, none, host,
// container:NAME, ns:PATH here; user-defined networks (`kind: 'networks'`, and root's default
// `bridge`) are the bridge branch in user-networks.ts, which publishes ports into the bridges'
// namespace with startPortForwarder() and the container's address on the bridge as targetIp.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Engine } from '../engine/engine';
import { ConflictError, InvalidArgumentError } from '../errors';
import type { Container, ContainerConfig, ContainerRuntimeState } from '../container/container-config';
import { ContainerStore } from '../container/container-store';
import type { NamespaceMode } from '../runtime/oci-spec';
import { HelperProcess, killHelper } from './helper-process';
import { awaitGone } from '../host/processes';
import { DEFAULT_SLIRP_OPTIONS, NetworkMode, SlirpModeOptions, canPublish, parseNetworkMode } from './network-mode';
import { defaultRoute, startPasta } from './pasta-network';
import { PortMapping, PublishedPort, publishAllMappings } from './port-mappings';
import { startPortForwarder } from './port-forwarder';
import { slirpAddresses, slirpPublish, startSlirp } from './slirp-network';
import { bindMount, unmountAll } from '../storage/mounts';
import { EarlyNetns, discardEarlyNetns } from './early-netns';
import { planUserNetworks, setUpUserNetworks, tearDownUserNetworks } from './user-networks';
import { DEFAULT_NETWORK } from './network-store';
import { hostIdentity } from '../config/host-identity';

/** One network the container is attached to, as inspect's NetworkSettings.Networks shows it. */
export interface NetworkEndpoint {
  ipAddress: string;
  prefixLen: number;
  gateway: string;
  macAddress: string;
  ipv6Address?: string;
  ipv6PrefixLen?: number;
  ipv6Gateway?: string;
  aliases?: string[];
  networkId?: string;
}

/** What setUpNetwork did, stored in the container's state (state.network). */
export interface NetworkStatus {
  mode: NetworkMode['kind'];
  /** processes that belong to the container's network: ended at teardown */
  helpers: HelperProcess[];
  ports: PublishedPort[];
  /** by network name: `bridge` (the default), `slirp4netns`, `pasta`, user networks */
  networks: Record<string, NetworkEndpoint>;
  /** the namespace the container uses, for inspect's SandboxKey */
  netnsPath?: string;
  /** slirp4netns's API socket, with port_handler=slirp4netns */
  apiSocket?: string;
  /** a bind mount of the namespace (pasta needs one): unmounted and removed at teardown */
  netnsFile?: string;
  /** whatever a backend needs at teardown (veth names, leases, ...) */
  extra?: Record<string, unknown>;
}

/** What the /etc files say about the network. */
export interface EtcNetworkFacts {
  /** the container's address (its /etc/hosts line); none: 127.0.1.1 */
  ip?: string;
  /** its IPv6 address besides (a second /etc/hosts line) */
  ip6?: string;
  /** what host.containers.internal and host-gateway mean */
  hostIp?: string;
  /** resolvers put first in resolv.conf (the slirp DNS, a network's resolver) */
  nameservers?: string[];
  /** the host's own files are used (--network host) */
  hostNetwork: boolean;
}

export interface NetworkPlan {
  mode: NetworkMode;
  namespace: NamespaceMode;
  etc: EtcNetworkFacts;
  /** what to publish, -P expanded */
  ports: PortMapping[];
  /** the endpoint address facts known before setup, by network name */
  networks: Record<string, NetworkEndpoint>;
}

/** The mode a container runs in; the default resolved for this user. */
export function effectiveMode(engine: Engine, config: Pick<ContainerConfig, 'network'>): NetworkMode {
  const mode = parseNetworkMode(config.network);
  if (mode.kind !== 'default') return mode;
  // Root's default is the `bridge` network: the tspod0 bridge on the host (user-networks.ts).
  if (!hostIdentity().rootless) return { kind: 'networks', names: [DEFAULT_NETWORK] };
  if (engine.config.containers.rootlessNetworkCmd === 'pasta') return { kind: 'pasta', args: [] };
  return { kind: 'slirp4netns', options: DEFAULT_SLIRP_OPTIONS };
}

function randomMac(): string {
  const b = crypto.randomBytes(6);
  b[0] = (b[0] & 0xfe) | 0x02; // unicast, locally administered
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

function runningContainer(engine: Engine, nameOrId: string, self: Container): Container {
  const target = new ContainerStore(engine.db).find<ContainerConfig, ContainerRuntimeState>(nameOrId);
  if (!target) throw new InvalidArgumentError(`--network container:${nameOrId}: no container with that name or ID`);
  if (target.id === self.id) throw new InvalidArgumentError('a container cannot join its own network namespace');
  if (target.status !== 'running' && target.status !== 'paused') throw new ConflictError(`cannot join the network of container ${target.name}: it is not running: start it first`);
  return target;
}

export async function planNetwork(engine: Engine, container: Container, exposed: string[] = container.config.exposedPorts ?? []): Promise<NetworkPlan> {
  const mode = effectiveMode(engine, container.config);
  const requested = container.config.publish ?? [];
  const ports = canPublish(mode) ? [...requested, ...(container.config.publishAll ? publishAllMappings(exposed, requested) : [])] : [];
  const base = { mode, ports, networks: {} };
  switch (mode.kind) {
    case 'slirp4netns': {
      const mac = container.config.macAddress ?? randomMac();
      const a = slirpAddresses(mode.options, mac);
      const name = parseNetworkMode(container.config.network).kind === 'default' ? 'bridge' : 'slirp4netns';
      const endpoint: NetworkEndpoint = { ipAddress: a.guest, prefixLen: a.prefixLen, gateway: a.gateway, macAddress: mac, ...(a.guest6 ? { ipv6Address: a.guest6, ipv6PrefixLen: 64, ipv6Gateway: a.gateway6 } : {}) };
      return { ...base, namespace: 'private', etc: { ip: a.guest, hostIp: a.gateway, nameservers: [a.dns], hostNetwork: false }, networks: { [name]: endpoint } };
    }
    case 'pasta': {
      const route = defaultRoute();
      const endpoint: NetworkEndpoint = { ipAddress: route?.address ?? '', prefixLen: route?.prefixLen ?? 0, gateway: route?.gateway ?? '', macAddress: container.config.macAddress ?? randomMac() };
      return { ...base, namespace: 'private', etc: { ip: route?.address, hostIp: route?.gateway, hostNetwork: false }, networks: { pasta: endpoint } };
    }
    case 'none':
      return { ...base, namespace: 'private', etc: { hostNetwork: false } };
    case 'host':
      return { ...base, namespace: 'host', etc: { hostNetwork: true } };
    case 'ns':
      return { ...base, namespace: { path: mode.path }, etc: { hostNetwork: false } };
    case 'container': {
      const target = runningContainer(engine, mode.container, container);
      const first = Object.values(target.state.network?.networks ?? {})[0];
      return { ...base, namespace: { path: `/proc/${target.pid}/ns/net` }, etc: { ip: first?.ipAddress, hostIp: first?.gateway, hostNetwork: target.config.network === 'host' } };
    }
    case 'networks':
      return planUserNetworks(engine, container, mode.names, base);
    default:
      throw new InvalidArgumentError(`unsupported network mode ${container.config.network}`);
  }
}

/** Per-container network files (slirp's API socket, a netns bind mount): short paths, as
 * sun_path holds 108 bytes. */
export function netRunFile(engine: Engine, container: Container, suffix: string): string {
  return path.join(engine.config.runRoot, 'net', `${container.id.slice(0, 16)}.${suffix}`);
}

/** netRunFile, with its directory made for the caller to create the file. */
export function netRunPath(engine: Engine, container: Container, suffix: string): string {
  const file = netRunFile(engine, container, suffix);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  return file;
}

/** The container's network namespace: its init's (set up after create), or a file made before. */
type NetnsTarget = { pid: number } | { file: string };
/** Hands the container's pid to a port forwarder started before it existed (undefined: the
 * start failed, the forwarder may go). */
type HandOver = (pid?: number) => void;

/**
 * slirp4netns, and the port forwarder started alongside (it needs only the namespace, not
 * slirp's interface: it connects when the first client comes), which saves a start-up's wait.
 */
async function setUpSlirp(engine: Engine, container: Container, opts: SlirpModeOptions, plan: NetworkPlan, target: NetnsTarget, status: NetworkStatus): Promise<HandOver | undefined> {
  const viaApi = opts.portHandler === 'slirp4netns' && plan.ports.length > 0;
  const endpoint = Object.values(plan.networks)[0];
  const guest = endpoint?.ipAddress ?? slirpAddresses(opts).guest;
  const byPid = 'pid' in target;
  const slirp = startSlirp(byPid ? target.pid : { netnsPath: target.file }, opts, { apiSocket: viaApi ? netRunPath(engine, container, 'sock') : undefined, macAddress: endpoint?.macAddress });
  const forwarder = !viaApi && plan.ports.length
    ? startPortForwarder({ netnsPath: byPid ? `/proc/${target.pid}/ns/net` : target.file, watchPid: byPid ? target.pid : 'later', targetIp: guest, mappings: plan.ports })
    : undefined;
  const [s, f] = await Promise.allSettled([slirp, forwarder]);
  if (s.status === 'fulfilled') {
    status.helpers.push(s.value.helper);
    status.apiSocket = s.value.apiSocket;
  }
  const handOver = f.status === 'fulfilled' ? f.value?.watch : undefined;
  if (f.status === 'fulfilled' && f.value) {
    status.helpers.push(f.value.helper);
    status.ports = f.value.ports;
  }
  if (s.status === 'rejected') {
    handOver?.();
    throw s.reason;
  }
  if (f.status === 'rejected') throw f.reason;
  if (viaApi) status.ports = await slirpPublish(s.value.apiSocket as string, guest, plan.ports);
  return handOver;
}

async function setUpPasta(args: string[], plan: NetworkPlan, netnsFile: string, status: NetworkStatus): Promise<void> {
  status.netnsFile = netnsFile;
  const pasta = await startPasta(netnsFile, args, plan.ports);
  status.helpers.push(pasta.helper);
  status.ports = pasta.ports;
}

/** Undoes a set-up that failed part-way: its helpers go, with the ports they hold. */
async function undoSetUp(status: NetworkStatus): Promise<void> {
  const dying: number[] = [];
  await releaseHelpers(status, dying);
  awaitGone(dying);
}

export async function setUpNetwork(engine: Engine, container: Container, plan: NetworkPlan, pid: number): Promise<NetworkStatus> {
  const netnsPath = `/proc/${pid}/ns/net`;
  const status: NetworkStatus = { mode: plan.mode.kind, helpers: [], ports: [], networks: plan.networks, netnsPath };
  try {
    switch (plan.mode.kind) {
      case 'slirp4netns':
        await setUpSlirp(engine, container, plan.mode.options, plan, { pid }, status);
        break;
      case 'pasta': {
        const file = netRunPath(engine, container, 'netns');
        fs.writeFileSync(file, '');
        status.netnsFile = file;
        await bindMount(netnsPath, file);
        await setUpPasta(plan.mode.args, plan, file, status);
        break;
      }
      case 'networks':
        return await setUpUserNetworks(engine, container, plan, pid, status);
      case 'container':
      case 'ns':
        status.netnsPath = typeof plan.namespace === 'object' ? plan.namespace.path : undefined;
        break;
      case 'host':
        status.netnsPath = undefined;
        break;
      default:
        break;
    }
    return status;
  } catch (err) {
    await undoSetUp(status);
    throw err;
  }
}

/** A set-up begun before `runtime create` (beginNetwork) and finished after it. */
export interface NetworkStart {
  /** what to write the spec from: with an early namespace, its file is the one to join */
  plan: NetworkPlan;
  /** starts the helpers of an early namespace; meant for right after the runtime's create was
   * set going, so that their spawns do not delay it (complete() calls it if nobody did) */
  launch(): void;
  /** after `runtime create`, `pid` the container's init: the helpers are ready, here is what to
   * store. On failure it has undone its work, as setUpNetwork does. */
  complete(pid: number): Promise<NetworkStatus>;
  /** the start failed before complete(): ends what was started */
  abandon(): Promise<void>;
}

/**
 * Starts the network set-up as early as it can. With an early namespace (early-netns.ts) the
 * helpers (slirp4netns and the port forwarder, or pasta) start at launch(), beside `runtime
 * create`, and complete() only waits for them; without one, complete() does all the work
 * (setUpNetwork). Throws, with the namespace removed, when the namespace could not be made.
 */
export async function beginNetwork(engine: Engine, container: Container, plan: NetworkPlan, netns: EarlyNetns | undefined): Promise<NetworkStart> {
  if (!netns) return { plan, launch: () => undefined, complete: (pid) => setUpNetwork(engine, container, plan, pid), abandon: async () => undefined };
  try {
    await netns.created;
  } catch (err) {
    await discardEarlyNetns(netns);
    throw err;
  }
  const early: NetworkPlan = { ...plan, namespace: { path: netns.file } };
  const status: NetworkStatus = { mode: plan.mode.kind, helpers: [], ports: [], networks: plan.networks, netnsPath: netns.file, netnsFile: netns.file };
  const mode = plan.mode;
  let work: Promise<HandOver | undefined> | undefined;
  const launch = (): Promise<HandOver | undefined> => {
    if (work) return work;
    work = mode.kind === 'slirp4netns' ? setUpSlirp(engine, container, mode.options, early, { file: netns.file }, status) : setUpPasta(mode.kind === 'pasta' ? mode.args : [], early, netns.file, status).then(() => undefined);
    // Its failure is reported by complete() or swallowed by abandon(), whichever comes.
    work.catch(() => undefined);
    return work;
  };
  const abandon = async (): Promise<void> => {
    if (work) (await work.catch(() => undefined))?.();
    await undoSetUp(status);
  };
  return {
    plan: early,
    launch: () => void launch(),
    async complete(pid: number): Promise<NetworkStatus> {
      let handOver: HandOver | undefined;
      try {
        handOver = await launch();
      } catch (err) {
        await abandon();
        throw err;
      }
      handOver?.(pid);
      return status;
    },
    abandon,
  };
}

/**
 * Kills the container's helpers. Those holding host ports go into DYING, to be waited for: the
 * ports must be free when the command returns. A container's own slirp4netns or pasta without
 * published ports holds nothing anyone could trip over, and its end takes 10-20 ms (closing its
 * tap device waits for an RCU grace period): it is left to finish on its own.
 */
async function releaseHelpers(status: Pick<NetworkStatus, 'helpers' | 'apiSocket' | 'netnsFile' | 'ports'>, dying: number[]): Promise<void> {
  const holdPorts = status.ports.length > 0;
  for (const h of status.helpers) {
    const pid = killHelper(h);
    if (pid !== undefined && holdPorts) dying.push(pid);
  }
  if (status.apiSocket) fs.rmSync(status.apiSocket, { force: true });
  if (status.netnsFile) {
    await unmountAll(status.netnsFile).catch(() => undefined);
    fs.rmSync(status.netnsFile, { force: true });
  }
}

/**
 * Releases what the container's network holds. The helpers are killed; with DYING their pids
 * are handed back for the caller to awaitGone() after its other work (they take a while to
 * die), else this waits for them.
 */
export async function tearDownNetwork(engine: Engine, container: Container, dying?: number[]): Promise<void> {
  const killed: number[] = dying ?? [];
  // Rows from before state.network existed kept the slirp4netns pid alone.
  const legacy = killHelper(container.state.networkPid ? { pid: container.state.networkPid, comm: 'slirp4netns' } : undefined);
  if (legacy !== undefined) killed.push(legacy);
  const status = container.state.network;
  if (status) {
    if (status.mode === 'networks') await tearDownUserNetworks(engine, container);
    await releaseHelpers(status, killed);
  }
  if (!dying) awaitGone(killed);
}
