// IPv6 addresses and CIDR subnets as 128-bit BigInts: parsing, the RFC 5952 text form,
// containment, overlap and the addresses a network hands out. The IPv4 twin is ipv4.ts; pure,
// so subnet allocation and leases are unit-tested without a host.
import * as net from 'node:net';
import { InvalidArgumentError } from '../errors';

export interface Subnet6 {
  base: bigint;
  prefix: number;
}

const BITS = 128n;
const ALL = (1n << BITS) - 1n;

/** Any text form (`::`, embedded IPv4 as in ::ffff:1.2.3.4); undefined when it is none. */
export function parseIp6(text: string): bigint | undefined {
  if (!net.isIPv6(text) || text.includes('%')) return undefined;
  let body = text;
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(body);
  if (v4) {
    const n = v4.slice(1).map(Number);
    body = `${body.slice(0, v4.index)}${((n[0] << 8) | n[1]).toString(16)}:${((n[2] << 8) | n[3]).toString(16)}`;
  }
  const [head, tail] = body.includes('::') ? body.split('::') : [body, undefined];
  const words = (s: string | undefined): string[] => (s ? s.split(':') : []);
  const front = words(head);
  const back = words(tail);
  const groups = tail === undefined ? front : [...front, ...Array<string>(8 - front.length - back.length).fill('0'), ...back];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** RFC 5952: lower case, the longest run of two or more zero groups (the first on a tie) as ::. */
export function formatIp6(n: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => Number((n >> BigInt(112 - 16 * i)) & 0xffffn));
  let best = { at: -1, len: 1 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.len) best = { at: i, len: j - i };
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.at < 0) return hex.join(':');
  return `${hex.slice(0, best.at).join(':')}::${hex.slice(best.at + best.len).join(':')}`;
}

function mask6(prefix: number): bigint {
  return prefix === 0 ? 0n : (ALL << (BITS - BigInt(prefix))) & ALL;
}

/** "fd00:1::/64"; a host part that is not zero is refused, as for IPv4. */
export function parseSubnet6(text: string, what = 'subnet'): Subnet6 {
  const slash = text.indexOf('/');
  const ip = slash < 0 ? undefined : parseIp6(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
  if (ip === undefined || !(prefix >= 0 && prefix <= 128)) {
    throw new InvalidArgumentError(`invalid ${what} "${text}": use an IPv6 CIDR such as fd00:1::/64`);
  }
  if ((ip & mask6(prefix)) !== ip) {
    throw new InvalidArgumentError(`invalid ${what} "${text}": the address has bits set outside the prefix (did you mean ${formatIp6(ip & mask6(prefix))}/${prefix}?)`);
  }
  return { base: ip, prefix };
}

export function formatSubnet6(s: Subnet6): string {
  return `${formatIp6(s.base)}/${s.prefix}`;
}

export function contains6(s: Subnet6, ip: bigint): boolean {
  return (ip & mask6(s.prefix)) === s.base;
}

export function overlaps6(a: Subnet6, b: Subnet6): boolean {
  const m = mask6(Math.min(a.prefix, b.prefix));
  return (a.base & m) === (b.base & m);
}

export function within6(inner: Subnet6, outer: Subnet6): boolean {
  return inner.prefix >= outer.prefix && contains6(outer, inner.base);
}

/** The gateway by convention: the subnet's ::1. */
export function firstHost6(s: Subnet6): bigint {
  return s.prefix >= 127 ? s.base : s.base + 1n;
}

/** Any address of the subnet but its first (the subnet-router anycast address). */
export function isHostAddress6(s: Subnet6, ip: bigint): boolean {
  return contains6(s, ip) && (s.prefix >= 127 || ip !== s.base);
}

/** How far a search for a free address goes: a /64 cannot be walked, nor filled by one user. */
const SEARCH_LIMIT = 1n << 20n;

/** The lowest free host address in `range` that `used` does not hold (undefined: none near). */
export function nextFreeAddress6(subnet: Subnet6, range: Subnet6, used: ReadonlySet<bigint>): bigint | undefined {
  const size = 1n << BigInt(128 - range.prefix);
  const end = range.base + (size < SEARCH_LIMIT ? size : SEARCH_LIMIT);
  for (let ip = range.base; ip < end; ip++) {
    if (isHostAddress6(subnet, ip) && !used.has(ip)) return ip;
  }
  return undefined;
}

/**
 * A unique local /64 (RFC 4193): fd, a random 40-bit global ID, subnet ID 0. `random` gives
 * the five random bytes (tests pass their own).
 */
export function ulaSubnet(random: Buffer): Subnet6 {
  const globalId = random.subarray(0, 5).reduce((acc, b) => (acc << 8n) | BigInt(b), 0n);
  return { base: (0xfdn << 120n) | (globalId << 80n), prefix: 64 };
}
