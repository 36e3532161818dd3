// Containers on user-defined networks: their endpoints (leases) from create on, and at start
// one veth per network from the network's bridge into the container's namespace. Everything
// shared (the rootless namespace and its uplink, bridges, nft rules, resolvers) is brought in
// line with the running containers by one reconcile step under a lock, so a container that
// died with kill -9 is cleaned up by the next start, stop or connect.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Engine } from '../engine/engine';
import { HostError } from '../errors';
import { hostIdentity } from '../config/host-identity';
import { withFileLock } from '../host/file-lock';
import { processAlive } from '../host/processes';
import type { ContainerConfig, ContainerRuntimeState } from '../container/container-config';
import { ContainerStore } from '../container/container-store';
import { ActiveBridge, bridgeRuleset } from './bridge-rules';
import { BridgeHost, describeBridgeHost, enableIpv6Forwarding, ensureBridgeHost, removeBridgeHost, bridgeHostExists } from './bridge-host';
import { Records } from './dns-message';
import { NetworkRequest, leaseEndpoint, nextInterfaceName, vethName } from './endpoint-lease';
import { ipBatch, ipJson, nftApply } from './netns-exec';
import { ensureResolver, resolverNetworks, stopResolver, writeRecords } from './network-dns';
import { networkStore } from './network-remove';
import { Endpoint, EndpointRow, NetworkRecord, NetworkSubnet, ipv4Subnet, ipv6Subnet, isIpv6Subnet } from './network-store';

export function bridgeHost(engine: Engine): BridgeHost {
  return describeBridgeHost(engine.config.runRoot, hostIdentity().rootless);
}

/** Adds the container's endpoint on a network (address, MAC, aliases) to the database. */
export function leaseOn(engine: Engine, containerId: string, network: string, req: NetworkRequest): Endpoint {
  const store = networkStore(engine);
  const net = store.require(network);
  store.materialize(net);
  const own = store.endpoints({ containerId });
  return store.addEndpoint(containerId, net.name, (taken) => leaseEndpoint(net, req, taken, nextInterfaceName(own)));
}

type ContainerRow = { id: string; name: string; status: string; config: ContainerConfig; state: ContainerRuntimeState };

interface Change {
  /** a container becoming active (created, about to run) */
  starting?: string;
  /** a container going away (its row may still say running) */
  stopping?: string;
}

/**
 * Containers between their network setup and the row saying `running` (another command's
 * reconcile must not take their bridge away meanwhile): a marker naming the starting CLI.
 */
const startingDir = (host: BridgeHost): string => path.join(host.dir, 'starting');

function markStarting(host: BridgeHost, containerId: string, starting: boolean): void {
  const file = path.join(startingDir(host), containerId);
  if (!starting) return fs.rmSync(file, { force: true });
  fs.mkdirSync(startingDir(host), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, String(process.pid));
}

function startingContainers(host: BridgeHost): Set<string> {
  const ids = new Set<string>();
  for (const id of fs.existsSync(startingDir(host)) ? fs.readdirSync(startingDir(host)) : []) {
    const file = path.join(startingDir(host), id);
    if (processAlive(Number(fs.readFileSync(file, 'utf8')))) ids.add(id);
    else fs.rmSync(file, { force: true });
  }
  return ids;
}

function activeContainers(engine: Engine, host: BridgeHost, change: Change): Map<string, ContainerRow> {
  const rows = new ContainerStore(engine.db).list<ContainerConfig, ContainerRuntimeState>();
  const starting = startingContainers(host);
  if (change.starting) starting.add(change.starting);
  const running = (c: ContainerRow): boolean => c.status === 'running' || c.status === 'paused' || c.status === 'stopping';
  const active = rows.filter((c) => c.id !== change.stopping && (starting.has(c.id) || running(c)));
  return new Map(active.map((c) => [c.id, c]));
}

function recordsFor(endpoints: readonly EndpointRow[], containers: Map<string, ContainerRow>): Records {
  const names: Record<string, string> = {};
  const names6: Record<string, string> = {};
  for (const e of endpoints) {
    const c = containers.get(e.containerId);
    if (!c) continue;
    for (const n of [c.name, c.id.slice(0, 12), ...(c.config.hostname ? [c.config.hostname] : []), ...e.aliases]) {
      if (e.ip) names[n.toLowerCase()] = e.ip;
      if (e.ip6) names6[n.toLowerCase()] = e.ip6;
    }
  }
  return { names, names6 };
}

/** "addr add GATEWAY/PREFIX": IPv6 ones without duplicate address detection, usable at once. */
function addressLine(address: string, subnet: string, dev: string): string {
  return `addr add ${address}/${subnet.split('/')[1]} dev ${dev}${address.includes(':') ? ' nodad' : ''}`;
}

/** Where the network's resolver listens: the IPv4 gateway, else (IPv6-only) the IPv6 one. */
export function resolverAddress(net: NetworkRecord): string {
  return (ipv4Subnet(net) ?? net.subnets[0]).gateway;
}

/** Brings bridges, rules and resolvers in line with the containers that run. Lock held. */
async function reconcile(engine: Engine, host: BridgeHost, change: Change): Promise<void> {
  const store = networkStore(engine);
  const containers = activeContainers(engine, host, change);
  const endpoints = store.endpoints().filter((e) => containers.has(e.containerId));
  const nets = new Map<string, NetworkRecord>();
  for (const e of endpoints) if (!nets.has(e.network)) nets.set(e.network, store.require(e.network));
  const bridges = [...nets.values()].filter((n) => n.driver === 'bridge');
  const known = store.list().filter((n) => n.driver === 'bridge').map((n) => n.interface);

  if (bridges.length === 0) {
    for (const n of resolverNetworks(host)) stopResolver(host, n);
    if (host.rootless) removeBridgeHost(host);
    else if (bridgeHostExists(host)) {
      ipBatch(undefined, known.map((i) => `link del ${i}`), { force: true });
      nftApply(undefined, bridgeRuleset([]));
    }
    return;
  }
  const uplink = await ensureBridgeHost(host);
  const present = new Set(ipJson<{ ifname: string }>(host.netns, ['link', 'show', 'type', 'bridge']).map((l) => l.ifname));
  const wanted = new Set(bridges.map((b) => b.interface));
  // Rootless the namespace is ours alone: any other bridge is stale. As root only our own.
  const stale = [...present].filter((i) => !wanted.has(i) && (host.rootless || known.includes(i)));
  ipBatch(host.netns, stale.map((i) => `link del ${i}`), { force: true });
  if (!host.rootless && bridges.some((n) => ipv6Subnet(n))) enableIpv6Forwarding();
  // One `ip` for the uplink's lines and every missing bridge.
  ipBatch(host.netns, [
    ...uplink,
    ...bridges
      .filter((net) => !present.has(net.interface))
      .flatMap((net) => [
        `link add ${net.interface} ${net.mtu ? `mtu ${net.mtu} ` : ''}type bridge`,
        ...net.subnets.map((s) => addressLine(s.gateway, s.subnet, net.interface)),
        `link set ${net.interface} up`,
      ]),
  ]);
  const active: ActiveBridge[] = bridges.map((n) => ({ interface: n.interface, subnets: n.subnets, internal: n.internal }));
  nftApply(host.netns, bridgeRuleset(active));
  for (const n of resolverNetworks(host)) if (!nets.has(n)) stopResolver(host, n);
  for (const net of bridges) {
    if (!net.dnsEnabled) continue;
    writeRecords(host, net.name, recordsFor(endpoints.filter((e) => e.network === net.name), containers));
    await ensureResolver(host, net.name, resolverAddress(net), net.internal ? undefined : host.upstreamDns[0]);
  }
}

function lock(host: BridgeHost): string {
  return path.join(host.dir, 'lock');
}

/**
 * The subnets of `net` whose gateway becomes a default route of the container: per family, the
 * first network that is not internal and has a subnet of that family (`before`: the networks
 * the container joined earlier), as Docker picks the IPv4 and the IPv6 gateway apart.
 */
function defaultRoutes(net: NetworkRecord, before: readonly NetworkRecord[]): NetworkSubnet[] {
  if (net.internal) return [];
  const routed = before.filter((n) => !n.internal);
  return net.subnets.filter((s) => !routed.some((n) => n.subnets.some((o) => isIpv6Subnet(o) === isIpv6Subnet(s))));
}

/** Inside the container's namespace: the interface's MAC, addresses, state and default routes. */
function configureInside(pid: number, net: NetworkRecord, e: Endpoint, routes: readonly NetworkSubnet[], rename?: string): void {
  const v4 = ipv4Subnet(net);
  const v6 = ipv6Subnet(net);
  const dev = e.interfaceName;
  ipBatch(`/proc/${pid}/ns/net`, [
    'link set lo up',
    ...(rename ? [`link set ${rename} name ${dev}`] : []),
    // ipvlan interfaces share their parent's MAC
    ...(net.driver === 'ipvlan' ? [] : [`link set ${dev} address ${e.mac}`]),
    ...(v4 && e.ip ? [addressLine(e.ip, v4.subnet, dev)] : []),
    ...(v6 && e.ip6 ? [addressLine(e.ip6, v6.subnet, dev)] : []),
    `link set ${dev} up`,
    // the family of a route follows its gateway's
    ...routes.map((s) => `route add default via ${s.gateway} dev ${dev}`),
  ]);
}

/**
 * The container's interface on `net`: a veth whose other end joins the bridge, or (macvlan,
 * ipvlan, root only) a child of the parent interface moved into the container's namespace.
 */
function plug(host: BridgeHost, pid: number, containerId: string, net: NetworkRecord, e: Endpoint, routes: readonly NetworkSubnet[]): void {
  const name = vethName(containerId, net.name);
  const mtu = net.mtu ? ` mtu ${net.mtu}` : '';
  if (net.driver === 'bridge') {
    ipBatch(host.netns, [`link del ${name}`], { force: true });
    ipBatch(host.netns, [`link add ${name}${mtu} type veth peer name ${e.interfaceName}${mtu} netns ${pid}`, `link set ${name} master ${net.interface} up`]);
    configureInside(pid, net, e, routes);
    return;
  }
  const mode = net.options.mode ?? net.options.macvlan_mode ?? net.options.ipvlan_mode ?? (net.driver === 'macvlan' ? 'bridge' : 'l2');
  try {
    ipBatch(undefined, [`link add link ${net.interface} name ${name}${mtu} type ${net.driver} mode ${mode}`, `link set ${name} netns ${pid}`]);
  } catch (err) {
    ipBatch(undefined, [`link del ${name}`], { force: true });
    const text = (err as Error).message;
    if (/Unknown device type/.test(text)) throw new HostError(`the kernel has no ${net.driver} support: use another network driver`);
    if (/Cannot find device/.test(text)) throw new HostError(`the parent interface ${net.interface} of network ${net.name} does not exist: recreate the network with -o parent=IFACE`);
    throw err;
  }
  configureInside(pid, net, e, routes, name);
}

/** The user-defined networks the container is on, in the order it joined them. */
export function containerEndpoints(engine: Engine, containerId: string): { net: NetworkRecord; endpoint: EndpointRow }[] {
  const store = networkStore(engine);
  return store.endpoints({ containerId }).map((endpoint) => ({ net: store.require(endpoint.network), endpoint }));
}

/** At start, once the container's namespace exists (process `pid`): its veths and routes. */
export async function attachNetworks(engine: Engine, containerId: string, pid: number): Promise<void> {
  const host = bridgeHost(engine);
  await withFileLock(lock(host), async () => {
    markStarting(host, containerId, true);
    await reconcile(engine, host, { starting: containerId });
    const routed: NetworkRecord[] = [];
    for (const { net, endpoint } of containerEndpoints(engine, containerId)) {
      plug(host, pid, containerId, net, endpoint, defaultRoutes(net, routed));
      routed.push(net);
    }
  });
}

/** When the container stops: its veths go, and whatever no running container needs. */
export async function detachNetworks(engine: Engine, containerId: string): Promise<void> {
  const host = bridgeHost(engine);
  if (!bridgeHostExists(host) && resolverNetworks(host).length === 0) return;
  await withFileLock(lock(host), async () => {
    const veths = containerEndpoints(engine, containerId).map(({ net }) => `link del ${vethName(containerId, net.name)}`);
    if (bridgeHostExists(host)) ipBatch(host.netns, veths, { force: true });
    markStarting(host, containerId, false);
    await reconcile(engine, host, { stopping: containerId });
  });
}

/** `network connect` of a running container (pid): lease, bridge, veth, DNS. */
export async function connectRunning(engine: Engine, containerId: string, pid: number, network: string, req: NetworkRequest): Promise<void> {
  const host = bridgeHost(engine);
  await withFileLock(lock(host), async () => {
    const endpoint = leaseOn(engine, containerId, network, req);
    const net = networkStore(engine).require(network);
    try {
      await reconcile(engine, host, {});
      const others = containerEndpoints(engine, containerId).filter((e) => e.endpoint.network !== net.name).map((e) => e.net);
      plug(host, pid, containerId, net, endpoint, defaultRoutes(net, others));
    } catch (err) {
      networkStore(engine).removeEndpoint(containerId, net.name);
      await reconcile(engine, host, {});
      throw err;
    }
  });
}

/** `network disconnect`: the endpoint goes; a running container (pid) loses its interface at once. */
export async function disconnectContainer(engine: Engine, containerId: string, network: string, pid?: number): Promise<void> {
  const host = bridgeHost(engine);
  await withFileLock(lock(host), async () => {
    const store = networkStore(engine);
    const net = store.require(network);
    const endpoint = store.endpoints({ containerId, network: net.name })[0];
    if (pid && endpoint) ipBatch(`/proc/${pid}/ns/net`, [`link del ${endpoint.interfaceName}`], { force: true });
    if (bridgeHostExists(host)) ipBatch(host.netns, [`link del ${vethName(containerId, net.name)}`], { force: true });
    store.removeEndpoint(containerId, net.name);
    await reconcile(engine, host, {});
  });
}

/**
 * `system reset`: ends every resolver and the rootless uplink, and as root removes the bridges
 * named (the database is about to go, so nothing would find them again) and the nft table.
 */
export function releaseAllNetworks(runRoot: string, rootless: boolean, bridges: readonly string[]): void {
  const host = describeBridgeHost(runRoot, rootless);
  for (const n of resolverNetworks(host)) stopResolver(host, n);
  if (rootless) {
    removeBridgeHost(host);
    return;
  }
  ipBatch(undefined, bridges.map((b) => `link del ${b}`), { force: true });
  try {
    nftApply(undefined, bridgeRuleset([]));
  } catch {
    // no nft, or never used: nothing to remove
  }
}
