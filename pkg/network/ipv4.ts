// IPv4 addresses and CIDR subnets as numbers: parsing, containment, overlap and the addresses
// a network hands out. Pure, so subnet allocation and IP leases are unit-tested without a host.
import { InvalidArgumentError } from '../errors';

export interface Subnet {
  /** network address as an unsigned 32-bit number */
  base: number;
  prefix: number;
}

export function parseIp(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

export function formatIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** "10.89.0.0/24"; a host part that is not zero is refused (Docker refuses it too). */
export function parseSubnet(text: string, what = 'subnet'): Subnet {
  const slash = text.indexOf('/');
  const ip = parseIp(slash < 0 ? '' : text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  const prefix = /^\d{1,2}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (ip === undefined || !(prefix >= 0 && prefix <= 32)) {
    throw new InvalidArgumentError(`invalid ${what} "${text}": use an IPv4 CIDR such as 10.89.0.0/24`);
  }
  if ((ip & mask(prefix)) >>> 0 !== ip) {
    throw new InvalidArgumentError(`invalid ${what} "${text}": the address has bits set outside the prefix (did you mean ${formatIp((ip & mask(prefix)) >>> 0)}/${prefix}?)`);
  }
  return { base: ip, prefix };
}

export function formatSubnet(s: Subnet): string {
  return `${formatIp(s.base)}/${s.prefix}`;
}

export function subnetSize(s: Subnet): number {
  return 2 ** (32 - s.prefix);
}

export function contains(s: Subnet, ip: number): boolean {
  return (ip & mask(s.prefix)) >>> 0 === s.base;
}

export function overlaps(a: Subnet, b: Subnet): boolean {
  const prefix = Math.min(a.prefix, b.prefix);
  return (a.base & mask(prefix)) >>> 0 === (b.base & mask(prefix)) >>> 0;
}

/** `inner` lies entirely within `outer`. */
export function within(inner: Subnet, outer: Subnet): boolean {
  return inner.prefix >= outer.prefix && contains(outer, inner.base);
}

/** The first usable address: the gateway by Docker's and Podman's convention. */
export function firstHost(s: Subnet): number {
  return s.prefix >= 31 ? s.base : s.base + 1;
}

/** Usable host addresses: not the network address, not the broadcast (for /30 and larger). */
export function isHostAddress(s: Subnet, ip: number): boolean {
  if (!contains(s, ip)) return false;
  if (s.prefix >= 31) return true;
  return ip !== s.base && ip !== s.base + subnetSize(s) - 1;
}

/**
 * The lowest free host address in `range` (the --ip-range, or the whole subnet) that `used`
 * does not hold, or undefined when the range is full.
 */
export function nextFreeAddress(subnet: Subnet, range: Subnet, used: ReadonlySet<number>): number | undefined {
  const end = range.base + subnetSize(range);
  for (let ip = range.base; ip < end; ip++) {
    if (isHostAddress(subnet, ip) && !used.has(ip)) return ip;
  }
  return undefined;
}
