// IPv4 and IPv6 behind one interface, so the checks of a network's subnet and the choice of a
// container's address are written once for both families (ipv4.ts and ipv6.ts do the maths).
import * as ipv4 from './ipv4';
import * as ipv6 from './ipv6';
import { NetworkConfig, NetworkSubnet, ipv4Subnet, ipv6Subnet } from './network-store';
import { SLIRP_SUBNET, SLIRP_SUBNET6 } from './subnet-pool';

export interface IpFamily<S, A> {
  name: 'IPv4' | 'IPv6';
  /** the option a container names its address of this family with */
  ipFlag: '--ip' | '--ip6';
  /** the longest prefix that still leaves room for containers */
  maxPrefix: number;
  /** what slirp4netns uses on the rootless uplink: never handed out to a bridge */
  slirp: S;
  /** a network's subnet of this family, if it has one */
  subnetOf(net: Pick<NetworkConfig, 'subnets'>): NetworkSubnet | undefined;
  parseSubnet(text: string, what?: string): S;
  formatSubnet(s: S): string;
  parseIp(text: string): A | undefined;
  formatIp(ip: A): string;
  firstHost(s: S): A;
  isHostAddress(s: S, ip: A): boolean;
  overlaps(a: S, b: S): boolean;
  within(inner: S, outer: S): boolean;
  nextFreeAddress(subnet: S, range: S, used: ReadonlySet<A>): A | undefined;
}

export const IPV4: IpFamily<ipv4.Subnet, number> = {
  name: 'IPv4',
  ipFlag: '--ip',
  maxPrefix: 30,
  slirp: SLIRP_SUBNET,
  subnetOf: ipv4Subnet,
  ...ipv4,
};

export const IPV6: IpFamily<ipv6.Subnet6, bigint> = {
  name: 'IPv6',
  ipFlag: '--ip6',
  maxPrefix: 126,
  slirp: SLIRP_SUBNET6,
  subnetOf: ipv6Subnet,
  parseSubnet: ipv6.parseSubnet6,
  formatSubnet: ipv6.formatSubnet6,
  parseIp: ipv6.parseIp6,
  formatIp: ipv6.formatIp6,
  firstHost: ipv6.firstHost6,
  isHostAddress: ipv6.isHostAddress6,
  overlaps: ipv6.overlaps6,
  within: ipv6.within6,
  nextFreeAddress: ipv6.nextFreeAddress6,
};
