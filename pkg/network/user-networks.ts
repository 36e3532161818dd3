// The bridge branch of network-setup.ts: containers on user-defined networks (and, as root, on
// the default `bridge` network). Leases are taken at create (reserveNetworks) so a missing
// network or a taken --ip fails before the container exists; start plugs the container into
// its networks (network-attach.ts) and publishes its ports into the namespace of the bridges.
import { Engine } from '../engine/engine';
import type { Container, ContainerConfig } from '../container/container-config';
import { ContainerStore } from '../container/container-store';
import { NetworkRequest } from './endpoint-lease';
import { attachNetworks, bridgeHost, containerEndpoints, detachNetworks, leaseOn, resolverAddress } from './network-attach';
import { networkStore } from './network-remove';
import { Endpoint, NetworkRecord, NetworkSubnet, ipv4Subnet, ipv6Subnet } from './network-store';
import type { NetworkEndpoint, NetworkPlan, NetworkStatus } from './network-setup';
import { startPortForwarder } from './port-forwarder';

/** What inspect shows of the container on `net`. */
export function endpointSettings(net: NetworkRecord, endpoint: Endpoint): NetworkEndpoint {
  const v4 = ipv4Subnet(net);
  const v6 = ipv6Subnet(net);
  const prefixLen = (s: NetworkSubnet): number => Number(s.subnet.split('/')[1]);
  return {
    ipAddress: endpoint.ip,
    prefixLen: v4 ? prefixLen(v4) : 0,
    gateway: v4?.gateway ?? '',
    ...(v6 && endpoint.ip6 ? { ipv6Address: endpoint.ip6, ipv6PrefixLen: prefixLen(v6), ipv6Gateway: v6.gateway } : {}),
    macAddress: endpoint.mac,
    aliases: endpoint.aliases,
    networkId: net.id,
  };
}

function requestFor(config: Pick<ContainerConfig, 'networkOptions'>, name: string): NetworkRequest {
  return config.networkOptions?.[name] ?? { aliases: [] };
}

/** Before the container row exists: every named network must. */
export function checkNetworks(engine: Engine, names: readonly string[]): void {
  const store = networkStore(engine);
  for (const n of names) store.require(n);
}

/** After the row exists: a lease on each network; on failure the container goes again. */
export function reserveNetworks(engine: Engine, containerId: string, names: readonly string[], config: Pick<ContainerConfig, 'networkOptions'>): void {
  try {
    for (const n of names) leaseOn(engine, containerId, n, requestFor(config, n));
  } catch (err) {
    new ContainerStore(engine.db).delete(containerId);
    throw err;
  }
}

export async function planUserNetworks(engine: Engine, container: Container, names: string[], base: Pick<NetworkPlan, 'mode' | 'ports' | 'networks'>): Promise<NetworkPlan> {
  const store = networkStore(engine);
  // Root's default network has no lease from create: the first start takes it (as does a
  // container that was disconnected from every network).
  if (store.endpoints({ containerId: container.id }).length === 0) {
    for (const n of names) leaseOn(engine, container.id, n, requestFor(container.config, n));
  }
  const endpoints = containerEndpoints(engine, container.id);
  const networks: Record<string, NetworkEndpoint> = {};
  for (const { net, endpoint } of endpoints) networks[net.name] = endpointSettings(net, endpoint);
  const host = bridgeHost(engine);
  const first = endpoints[0];
  const resolver = endpoints.find((e) => e.net.dnsEnabled);
  return {
    ...base,
    namespace: 'private',
    etc: {
      ip: first?.endpoint.ip || first?.endpoint.ip6,
      ip6: first?.endpoint.ip6,
      hostIp: host.hostAddress ?? first?.net.subnets[0].gateway,
      nameservers: resolver ? [resolverAddress(resolver.net)] : undefined,
      hostNetwork: false,
    },
    networks,
  };
}

export async function setUpUserNetworks(engine: Engine, container: Container, plan: NetworkPlan, pid: number, status: NetworkStatus): Promise<NetworkStatus> {
  await attachNetworks(engine, container.id, pid);
  const first = Object.values(plan.networks)[0];
  if (plan.ports.length === 0 || !first) return status;
  try {
    // Into the bridges' namespace (rootless: the shared one), to the container's address there.
    const fwd = await startPortForwarder({ netnsPath: bridgeHost(engine).netns ?? `/proc/${pid}/ns/net`, watchPid: pid, targetIp: first.ipAddress || (first.ipv6Address as string), mappings: plan.ports });
    status.helpers.push(fwd.helper);
    status.ports = fwd.ports;
  } catch (err) {
    await detachNetworks(engine, container.id);
    throw err;
  }
  return status;
}

export async function tearDownUserNetworks(engine: Engine, container: Container): Promise<void> {
  await detachNetworks(engine, container.id);
}
