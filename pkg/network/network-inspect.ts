// What `network inspect` and `network ls` show: Docker's network document (so scripts that
// read .IPAM.Config or .Containers work), the ls row with both Docker's and Podman's field
// names, and the ls/prune filters.
import { InvalidArgumentError } from '../errors';
import { labelMatches, localRfc3339, parseVolumeFilters, untilMs } from '../volume/volume-inspect';
import { DEFAULT_NETWORK, EndpointRow, NetworkRecord, ipv4Subnet, ipv6Subnet } from './network-store';

export interface NetworkDocument {
  Name: string;
  Id: string;
  Created: string;
  Scope: 'local';
  Driver: string;
  EnableIPv4: boolean;
  EnableIPv6: boolean;
  IPAM: { Driver: 'default'; Options: Record<string, string>; Config: { Subnet: string; Gateway: string; IPRange?: string }[] };
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ConfigFrom: { Network: string };
  ConfigOnly: boolean;
  Containers: Record<string, { Name: string; EndpointID: string; MacAddress: string; IPv4Address: string; IPv6Address: string }>;
  Options: Record<string, string>;
  Labels: Record<string, string>;
  /** Podman's: the bridge (or parent) interface and whether names resolve on it */
  NetworkInterface: string;
  DNSEnabled: boolean;
}

export interface AttachedContainer {
  id: string;
  name: string;
  endpoint: EndpointRow;
}

function prefixLength(subnet: string): string {
  return subnet.slice(subnet.indexOf('/'));
}

export function networkDocument(net: NetworkRecord, attached: readonly AttachedContainer[]): NetworkDocument {
  const containers: NetworkDocument['Containers'] = {};
  const v4 = ipv4Subnet(net);
  const v6 = ipv6Subnet(net);
  for (const c of attached) {
    containers[c.id] = {
      Name: c.name,
      EndpointID: `${c.id.slice(0, 32)}${net.id.slice(0, 32)}`,
      MacAddress: c.endpoint.mac,
      IPv4Address: c.endpoint.ip && v4 ? `${c.endpoint.ip}${prefixLength(v4.subnet)}` : '',
      IPv6Address: c.endpoint.ip6 && v6 ? `${c.endpoint.ip6}${prefixLength(v6.subnet)}` : '',
    };
  }
  return {
    Name: net.name,
    Id: net.id,
    Created: localRfc3339(net.created),
    Scope: 'local',
    Driver: net.driver,
    EnableIPv4: v4 !== undefined,
    EnableIPv6: net.ipv6,
    IPAM: {
      Driver: 'default',
      Options: {},
      Config: net.subnets.map((s) => ({ Subnet: s.subnet, Gateway: s.gateway, ...(s.ipRange ? { IPRange: s.ipRange } : {}) })),
    },
    Internal: net.internal,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: containers,
    Options: net.options,
    Labels: net.labels,
    NetworkInterface: net.interface,
    DNSEnabled: net.dnsEnabled,
  };
}

/** A `network ls` row: Docker's template fields and Podman's. */
export function networkRow(net: NetworkRecord): Record<string, unknown> {
  const labels = Object.entries(net.labels).map(([k, v]) => `${k}=${v}`).join(',');
  return {
    ID: net.id.slice(0, 12),
    Id: net.id,
    Name: net.name,
    Driver: net.driver,
    Scope: 'local',
    IPv6: net.ipv6,
    Internal: net.internal,
    Labels: labels,
    CreatedAt: localRfc3339(net.created),
    Created: localRfc3339(net.created),
    NetworkInterface: net.interface,
    Subnets: net.subnets.map((s) => s.subnet).join(','),
    DNSEnabled: net.dnsEnabled,
  };
}

export const NETWORK_FILTER_KEYS = ['name', 'id', 'label', 'label!', 'driver', 'type', 'dangling', 'until'];
export const NETWORK_PRUNE_FILTER_KEYS = ['label', 'label!', 'until'];

export type NetworkFilters = Map<string, string[]>;

export function parseNetworkFilters(filters: readonly string[], keys = NETWORK_FILTER_KEYS): NetworkFilters {
  const parsed = parseVolumeFilters(filters, keys);
  for (const t of parsed.get('type') ?? []) {
    if (t !== 'custom' && t !== 'builtin') throw new InvalidArgumentError(`invalid filter "type=${t}": use type=custom or type=builtin`);
  }
  return parsed;
}

function nameMatches(name: string, want: string): boolean {
  if (name.includes(want)) return true;
  try {
    return new RegExp(want).test(name);
  } catch {
    return false;
  }
}

/** Values of one key are ORed, keys are ANDed (labels: every one must match), as Docker does. */
export function matchesNetwork(net: NetworkRecord, filters: NetworkFilters, inUse: ReadonlySet<string>, now = Date.now()): boolean {
  for (const [key, values] of filters) {
    const ok = ((): boolean => {
      switch (key) {
        case 'name':
          return values.some((n) => nameMatches(net.name, n));
        case 'id':
          return values.some((i) => net.id.startsWith(i));
        case 'label':
          return values.every((l) => labelMatches(net.labels, l));
        case 'label!':
          return values.every((l) => !labelMatches(net.labels, l));
        case 'driver':
          return values.includes(net.driver);
        case 'type':
          return values.some((t) => (t === 'builtin') === (net.name === DEFAULT_NETWORK));
        case 'dangling':
          return values.some((d) => (d === 'true' || d === '1') === !inUse.has(net.name));
        case 'until':
          return values.every((u) => net.created < untilMs(u, now));
        default:
          return true;
      }
    })();
    if (!ok) return false;
  }
  return true;
}
