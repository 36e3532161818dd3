// The network parts of `container inspect`: NetworkSettings (addresses and bound ports, from
// what the network setup stored while the container runs) and the HostConfig/Config fields
// that repeat the network flags. Docker's shapes, so `{{.NetworkSettings.IPAddress}}`,
// `{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}` and `{{.NetworkSettings.Ports}}`
// work as scripts expect.
import { parseNetworkMode } from '../network/network-mode';
import type { NetworkEndpoint } from '../network/network-setup';
import { inspectPortBindings, inspectPorts } from '../network/port-mappings';
import { Container } from './container-config';

export interface EndpointSettings {
  EndpointID: string;
  Gateway: string;
  IPAddress: string;
  IPPrefixLen: number;
  IPv6Gateway: string;
  GlobalIPv6Address: string;
  GlobalIPv6PrefixLen: number;
  MacAddress: string;
  NetworkID: string;
  Aliases: string[] | null;
}

function isActive(c: Container): boolean {
  return c.status === 'running' || c.status === 'paused' || c.status === 'stopping';
}

/** The networks a container belongs to by its config (what ps's NETWORKS shows). */
export function networkNames(network: string): string[] {
  let mode;
  try {
    mode = parseNetworkMode(network);
  } catch {
    return [];
  }
  switch (mode.kind) {
    case 'default':
      return ['bridge'];
    case 'slirp4netns':
    case 'pasta':
      return [mode.kind];
    case 'networks':
      return mode.names;
    default:
      return [];
  }
}

function endpointSettings(name: string, e: NetworkEndpoint | undefined): EndpointSettings {
  return {
    EndpointID: '',
    Gateway: e?.gateway ?? '',
    IPAddress: e?.ipAddress ?? '',
    IPPrefixLen: e?.prefixLen ?? 0,
    IPv6Gateway: e?.ipv6Gateway ?? '',
    GlobalIPv6Address: e?.ipv6Address ?? '',
    GlobalIPv6PrefixLen: e?.ipv6PrefixLen ?? 0,
    MacAddress: e?.macAddress ?? '',
    NetworkID: e?.networkId ?? name,
    Aliases: e?.aliases ?? null,
  };
}

export type NetworkSettings = Record<string, unknown> & { Networks: Record<string, EndpointSettings> };

export function networkSettings(c: Container): NetworkSettings {
  const status = isActive(c) ? c.state.network : undefined;
  const networks: Record<string, EndpointSettings> = {};
  const names = [...new Set([...networkNames(c.config.network), ...Object.keys(status?.networks ?? {})])];
  for (const name of names) networks[name] = endpointSettings(name, status?.networks[name]);
  const first = names.length ? networks[names[0]] : endpointSettings('', undefined);
  return {
    Bridge: '',
    SandboxID: '',
    HairpinMode: false,
    LinkLocalIPv6Address: '',
    LinkLocalIPv6PrefixLen: 0,
    Ports: inspectPorts(status?.ports ?? [], c.config.exposedPorts ?? []),
    SandboxKey: status?.netnsPath ?? '',
    EndpointID: '',
    Gateway: first.Gateway,
    GlobalIPv6Address: first.GlobalIPv6Address,
    GlobalIPv6PrefixLen: first.GlobalIPv6PrefixLen,
    IPAddress: first.IPAddress,
    IPPrefixLen: first.IPPrefixLen,
    IPv6Gateway: first.IPv6Gateway,
    MacAddress: first.MacAddress,
    Networks: networks,
  };
}

/** HostConfig's network fields. */
export function hostConfigNetwork(c: Container): Record<string, unknown> {
  const { config } = c;
  return {
    NetworkMode: config.network,
    PortBindings: inspectPortBindings(config.publish ?? []),
    PublishAllPorts: config.publishAll ?? false,
    Dns: config.dns ?? [],
    DnsOptions: config.dnsOptions ?? [],
    DnsSearch: config.dnsSearch ?? [],
    ExtraHosts: config.addHosts ?? [],
  };
}

/** Config.ExposedPorts: {"80/tcp": {}}, absent when nothing is exposed. */
export function exposedPortsConfig(c: Container): Record<string, Record<string, never>> | undefined {
  const ports = c.config.exposedPorts ?? [];
  if (!ports.length) return undefined;
  return Object.fromEntries(ports.map((p) => [p, {}]));
}
