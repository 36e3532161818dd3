// Subnets for new networks: Podman's pool (10.89.0.0/16 cut into /24s), skipping any /24 that
// overlaps a subnet another network holds or a route of the host (a bridge on a routed subnet
// would hide part of the host's network from the containers, and from the host as root).
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { HostError } from '../errors';
import { Subnet, overlaps, parseSubnet, subnetSize } from './ipv4';
import { Subnet6, overlaps6, parseSubnet6, ulaSubnet } from './ipv6';

export const DEFAULT_POOL = { base: parseSubnet('10.89.0.0/16'), prefix: 24 };
/** slirp4netns's own subnet, used by the default network rootless: never hand it out. */
export const SLIRP_SUBNET = parseSubnet('10.0.2.0/24');
/** slirp4netns's IPv6 subnet on the uplink of the rootless networks' namespace. */
export const SLIRP_SUBNET6 = parseSubnet6('fd00::/64');

/** The IPv4 routes of the host (/proc/net/route), as subnets; the default route is left out. */
export function parseProcRoutes(text: string): Subnet[] {
  const out: Subnet[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    // Little-endian hex words, as the kernel prints them.
    const le = (hex: string): number => Buffer.from(hex, 'hex').readUInt32LE(0);
    const dest = le(f[1]);
    const maskBits = le(f[7]);
    const prefix = maskBits.toString(2).replace(/0/g, '').length;
    if (prefix === 0) continue;
    out.push({ base: dest >>> 0, prefix });
  }
  return out;
}

/** The IPv6 routes of the host (/proc/net/ipv6_route: destination and prefix in hex). */
export function parseProcRoutes6(text: string): Subnet6[] {
  const out: Subnet6[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || !/^[0-9a-f]{32}$/i.test(f[0])) continue;
    const prefix = parseInt(f[1], 16);
    if (prefix === 0) continue;
    out.push({ base: BigInt(`0x${f[0]}`), prefix });
  }
  return out;
}

function readRoutes<T>(file: string, parse: (text: string) => T[]): T[] {
  try {
    return parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return [];
  }
}

export interface HostRoutes {
  v4: Subnet[];
  v6: Subnet6[];
}

export function hostRoutes(): HostRoutes {
  return { v4: readRoutes('/proc/net/route', parseProcRoutes), v6: readRoutes('/proc/net/ipv6_route', parseProcRoutes6) };
}

/** The first subnet of the pool that overlaps nothing in `taken`. */
export function allocateSubnet(taken: readonly Subnet[], pool = DEFAULT_POOL): Subnet {
  const step = 2 ** (32 - pool.prefix);
  const count = subnetSize(pool.base) / step;
  for (let i = 0; i < count; i++) {
    const candidate = { base: pool.base.base + i * step, prefix: pool.prefix };
    if (!taken.some((t) => overlaps(t, candidate))) return candidate;
  }
  throw new HostError(`no free subnet left in the pool ${pool.base.base >>> 24}.${(pool.base.base >>> 16) & 255}.0.0/${pool.base.prefix}: remove unused networks (tspod network prune) or pass --subnet`);
}

/**
 * A random unique local /64 that overlaps nothing in `taken`, as Podman picks one: random, so
 * two users' (or two hosts') networks are unlikely to clash when they are ever routed together.
 */
export function allocateSubnet6(taken: readonly Subnet6[], random: (n: number) => Buffer = crypto.randomBytes): Subnet6 {
  for (let i = 0; i < 32; i++) {
    const candidate = ulaSubnet(random(5));
    if (!taken.some((t) => overlaps6(t, candidate))) return candidate;
  }
  throw new HostError('no free IPv6 subnet found in fd00::/8: pass one with --subnet');
}
