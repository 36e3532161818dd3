// Where the bridges of user-defined networks live. As root: the host's own network namespace,
// like Docker's docker0. Rootless: one network namespace shared by all of the user's networks,
// created inside the user's namespace on first use and kept by a bind mount of its namespace
// file under the runtime dir (so no process has to hold it), with slirp4netns as its single
// uplink to the outside (tap0, 10.0.2.100 and fd00::100, NAT by slirp). It goes away with its
// last network.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HostError } from '../errors';
import { findExecutable } from '../host/executables';
import { processAlive } from '../host/processes';
import { NetnsPath, ipBatch, netnsSysctl, sysctlFile } from './netns-exec';
import { stopHelper } from './helper-process';
import { DEFAULT_SLIRP_OPTIONS } from './network-mode';
import { startSlirp } from './slirp-network';

export interface BridgeHost {
  rootless: boolean;
  /** tspod's files for networks: lock, shared namespace, resolvers */
  dir: string;
  /** the namespace holding the bridges (undefined: the host's) */
  netns: NetnsPath;
  /** the interface to the outside inside the shared namespace (rootless) */
  uplink?: string;
  /** where containers reach the host (host.containers.internal), and their upstream DNS */
  hostAddress?: string;
  upstreamDns: string[];
}

/** slirp4netns's fixed addresses inside the namespace it serves. */
const SLIRP_HOST = '10.0.2.2';
const SLIRP_DNS = '10.0.2.3';
const SLIRP_HOST6 = 'fd00::2';
const SLIRP_UPLINK6 = 'fd00::100';
const IPV6_FORWARDING = 'net.ipv6.conf.all.forwarding';

/** A kernel booted with ipv6.disable=1 has no IPv6 sysctls: the uplink then stays IPv4-only. */
function kernelHasIpv6(): boolean {
  return fs.existsSync(sysctlFile(IPV6_FORWARDING));
}

/** As root, once an IPv6 network is active: the host routes IPv6 between bridge and uplink. */
export function enableIpv6Forwarding(): void {
  if (!kernelHasIpv6()) throw new HostError('the kernel has IPv6 disabled (ipv6.disable=1): use networks without --ipv6 or an IPv6 --subnet');
  netnsSysctl(undefined, { [IPV6_FORWARDING]: '1' });
}

export function bridgeDir(runRoot: string): string {
  return path.join(runRoot, 'networks');
}

const netnsFile = (dir: string): string => path.join(dir, 'netns');
const slirpPidFile = (dir: string): string => path.join(dir, 'slirp.pid');
export const apiSocketFile = (dir: string): string => path.join(dir, 'slirp.sock');

/** A namespace file is bind-mounted over the plain file: it then sits on another device. */
function netnsMounted(dir: string): boolean {
  const file = fs.statSync(netnsFile(dir), { throwIfNoEntry: false });
  const parent = fs.statSync(dir, { throwIfNoEntry: false });
  return file !== undefined && parent !== undefined && file.dev !== parent.dev;
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** The host's nameservers that make sense from another namespace (not loopback ones). */
export function hostNameservers(text?: string): string[] {
  let conf = text;
  if (conf === undefined) {
    try {
      conf = fs.readFileSync('/etc/resolv.conf', 'utf8');
    } catch {
      conf = '';
    }
  }
  return conf
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[0] === 'nameserver' && f[1] && !f[1].startsWith('127.') && f[1] !== '::1' && !f[1].includes(':'))
    .map((f) => f[1]);
}

export function describeBridgeHost(runRoot: string, rootless: boolean): BridgeHost {
  const dir = bridgeDir(runRoot);
  if (!rootless) return { rootless, dir, netns: undefined, upstreamDns: hostNameservers() };
  return { rootless, dir, netns: netnsFile(dir), uplink: 'tap0', hostAddress: SLIRP_HOST, upstreamDns: [SLIRP_DNS] };
}

/**
 * Rootless: the shared namespace and its uplink, made (or repaired) when missing. Gives back
 * the `ip` lines still to run in the namespace (the caller batches them with its own).
 */
export async function ensureBridgeHost(host: BridgeHost): Promise<string[]> {
  fs.mkdirSync(host.dir, { recursive: true, mode: 0o700 });
  if (!host.rootless) {
    netnsSysctl(undefined, { 'net.ipv4.ip_forward': '1' });
    return [];
  }
  const file = netnsFile(host.dir);
  if (!netnsMounted(host.dir)) {
    fs.writeFileSync(file, '', { mode: 0o600 });
    const unshare = findExecutable('unshare');
    if (!unshare) throw new HostError('unshare is not installed: install util-linux');
    try {
      execFileSync(unshare, [`--net=${file}`, 'true'], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      throw new HostError(`creating the network namespace of user-defined networks failed: ${String((err as { stderr?: string }).stderr ?? (err as Error).message).trim()}`);
    }
    ipBatch(file, ['link set lo up']);
    netnsSysctl(file, { 'net.ipv4.ip_forward': '1', ...(kernelHasIpv6() ? { [IPV6_FORWARDING]: '1' } : {}) });
  }
  const pid = readPid(slirpPidFile(host.dir));
  if (pid !== undefined && processAlive(pid)) return [];
  fs.rmSync(apiSocketFile(host.dir), { force: true });
  const ipv6 = kernelHasIpv6();
  const slirp = await startSlirp({ netnsPath: file }, { ...DEFAULT_SLIRP_OPTIONS, enableIpv6: ipv6 }, { apiSocket: apiSocketFile(host.dir) });
  fs.writeFileSync(slirpPidFile(host.dir), `${slirp.helper.pid}\n`);
  if (!ipv6) return [];
  // With forwarding on, the namespace ignores slirp's router advertisements: its IPv6 address
  // and route are set by hand (slirp answers as fd00::2), for the NAT66 of IPv6 networks.
  return [`addr replace ${SLIRP_UPLINK6}/64 dev tap0 nodad`, `route replace default via ${SLIRP_HOST6} dev tap0`];
}

/** Rootless: ends the uplink and lets the shared namespace go (its bridges go with it). */
export function removeBridgeHost(host: BridgeHost): void {
  if (!host.rootless) return;
  const pid = readPid(slirpPidFile(host.dir));
  if (pid !== undefined) stopHelper({ pid, comm: 'slirp4netns' });
  fs.rmSync(slirpPidFile(host.dir), { force: true });
  fs.rmSync(apiSocketFile(host.dir), { force: true });
  if (netnsMounted(host.dir)) {
    const umount = findExecutable('umount');
    if (umount) execFileSync(umount, [netnsFile(host.dir)], { stdio: 'ignore' });
  }
  fs.rmSync(netnsFile(host.dir), { force: true });
}

/** The shared namespace exists (rootless); as root the host's always does. */
export function bridgeHostExists(host: BridgeHost): boolean {
  return !host.rootless || netnsMounted(host.dir);
}
