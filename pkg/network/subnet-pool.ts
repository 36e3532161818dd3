// Subnets for new networks: Podman's pool (10.89.0.0/16 cut into /24s), skipping any /24 that
// overlaps a subnet another network holds or a route of the host (a bridge on a routed subnet
// would hide part of the host's network from the containers, and from the host as root).
import * as fs from 'node:fs';
import { HostError } from '../errors';
import { Subnet, overlaps, parseSubnet, subnetSize } from './ipv4';

export const DEFAULT_POOL = { base: parseSubnet('10.89.0.0/16'), prefix: 24 };
/** slirp4netns's own subnet, used by the default network rootless: never hand it out. */
export const SLIRP_SUBNET = parseSubnet('10.0.2.0/24');

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

export function hostRoutes(): Subnet[] {
  try {
    return parseProcRoutes(fs.readFileSync('/proc/net/route', 'utf8'));
  } catch {
    return [];
  }
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
