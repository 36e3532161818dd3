// A container's place on a network: its addresses (asked for with --ip / --ip6, else the lowest free one
// of the network's range, never the gateway), its MAC (--mac-address, else a random locally
// administered one), its aliases and its interface name. Pure, so unit-tested.
import * as crypto from 'node:crypto';
import { ConflictError, InvalidArgumentError } from '../errors';
import { IPV4, IPV6, IpFamily } from './ip-family';
import { Endpoint, EndpointRow, NetworkRecord, NetworkSubnet, ipv4Subnet, ipv6Subnet } from './network-store';

export interface NetworkRequest {
  aliases: string[];
  ip?: string;
  ip6?: string;
  mac?: string;
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

export function checkMac(mac: string): string {
  if (!MAC.test(mac)) throw new InvalidArgumentError(`invalid MAC address "${mac}": use six hex pairs such as 02:42:ac:11:00:02`);
  if (parseInt(mac.slice(0, 2), 16) & 1) throw new InvalidArgumentError(`invalid MAC address "${mac}": it is a multicast address`);
  return mac.toLowerCase();
}

export function randomMac(): string {
  const b = crypto.randomBytes(6);
  b[0] = (b[0] & 0xfe) | 0x02; // unicast, locally administered
  return [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/**
 * The container's address of one family on `net`: the one asked for (inside the subnet, not
 * taken), else the lowest free one of the range; the gateway is never handed out.
 */
function pickAddress<S, A>(family: IpFamily<S, A>, net: NetworkRecord, s: NetworkSubnet, requested: string | undefined, taken: readonly (string | undefined)[]): string {
  const subnet = family.parseSubnet(s.subnet);
  const used = new Set<A>([family.parseIp(s.gateway) as A, ...taken.map((t) => (t ? family.parseIp(t) : undefined)).filter((a): a is A => a !== undefined)]);
  if (requested === undefined) {
    const ip = family.nextFreeAddress(subnet, s.ipRange ? family.parseSubnet(s.ipRange) : subnet, used);
    if (ip === undefined) throw new ConflictError(`network ${net.name} has no free addresses left in ${s.ipRange ?? s.subnet}`);
    return family.formatIp(ip);
  }
  const ip = family.parseIp(requested);
  if (ip === undefined) throw new InvalidArgumentError(`invalid IP address "${requested}": ${family.ipFlag} takes an ${family.name} address`);
  if (!family.isHostAddress(subnet, ip)) throw new InvalidArgumentError(`IP address ${requested} is not a host address of network ${net.name} (${s.subnet})`);
  if (used.has(ip)) throw new ConflictError(`IP address ${requested} is already in use on network ${net.name}: choose another ${family.ipFlag}`);
  return family.formatIp(ip);
}

/** The endpoint a container gets on `net`, given the endpoints others already hold there. */
export function leaseEndpoint(net: NetworkRecord, req: NetworkRequest, taken: readonly EndpointRow[], interfaceName: string): Endpoint {
  const v4 = ipv4Subnet(net);
  const v6 = ipv6Subnet(net);
  if (req.ip !== undefined && !v4) throw new InvalidArgumentError(`network ${net.name} has no IPv4 subnet: use --ip6`);
  if (req.ip6 !== undefined && !v6) throw new InvalidArgumentError(`network ${net.name} has no IPv6 subnet: use --ip, or create the network with --ipv6`);
  const ip = v4 ? pickAddress(IPV4, net, v4, req.ip, taken.map((e) => e.ip)) : '';
  const ip6 = v6 ? pickAddress(IPV6, net, v6, req.ip6, taken.map((e) => e.ip6)) : undefined;
  const mac = req.mac !== undefined ? checkMac(req.mac) : randomMac();
  if (taken.some((e) => e.mac === mac)) throw new ConflictError(`MAC address ${mac} is already in use on network ${net.name}`);
  return { ip, ...(ip6 !== undefined ? { ip6 } : {}), mac, aliases: [...new Set(req.aliases)], interfaceName };
}

/** eth0, eth1, ...: the lowest one the container does not use yet. */
export function nextInterfaceName(own: readonly Endpoint[]): string {
  const used = new Set(own.map((e) => e.interfaceName));
  for (let i = 0; ; i++) if (!used.has(`eth${i}`)) return `eth${i}`;
}

/** The host side of the container's veth on `network` (at most 15 characters). */
export function vethName(containerId: string, network: string): string {
  return `veth${crypto.createHash('sha256').update(`${containerId}/${network}`).digest('hex').slice(0, 10)}`;
}
