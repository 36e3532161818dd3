// A container's place on a network: its address (asked for with --ip, else the lowest free one
// of the network's range, never the gateway), its MAC (--mac-address, else a random locally
// administered one), its aliases and its interface name. Pure, so unit-tested.
import * as crypto from 'node:crypto';
import { ConflictError, InvalidArgumentError } from '../errors';
import { formatIp, isHostAddress, nextFreeAddress, parseIp, parseSubnet } from './ipv4';
import { Endpoint, EndpointRow, NetworkRecord } from './network-store';

export interface NetworkRequest {
  aliases: string[];
  ip?: string;
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

/** The endpoint a container gets on `net`, given the endpoints others already hold there. */
export function leaseEndpoint(net: NetworkRecord, req: NetworkRequest, taken: readonly EndpointRow[], interfaceName: string): Endpoint {
  const s = net.subnets[0];
  const subnet = parseSubnet(s.subnet);
  const gateway = parseIp(s.gateway) as number;
  const used = new Set<number>([gateway, ...taken.map((e) => parseIp(e.ip)).filter((n): n is number => n !== undefined)]);
  let ip: number | undefined;
  if (req.ip !== undefined) {
    ip = parseIp(req.ip);
    if (ip === undefined) throw new InvalidArgumentError(`invalid IP address "${req.ip}": use an IPv4 address`);
    if (!isHostAddress(subnet, ip)) throw new InvalidArgumentError(`IP address ${req.ip} is not a host address of network ${net.name} (${s.subnet})`);
    if (used.has(ip)) throw new ConflictError(`IP address ${req.ip} is already in use on network ${net.name}: choose another --ip`);
  } else {
    ip = nextFreeAddress(subnet, s.ipRange ? parseSubnet(s.ipRange) : subnet, used);
    if (ip === undefined) throw new ConflictError(`network ${net.name} has no free addresses left in ${s.ipRange ?? s.subnet}`);
  }
  const mac = req.mac !== undefined ? checkMac(req.mac) : randomMac();
  if (taken.some((e) => e.mac === mac)) throw new ConflictError(`MAC address ${mac} is already in use on network ${net.name}`);
  return { ip: formatIp(ip), mac, aliases: [...new Set(req.aliases)], interfaceName };
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
