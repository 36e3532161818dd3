// Which Linux capabilities a container's process gets: Podman's default set, tweaked by
// --cap-add / --cap-drop the way Docker does it, and all of them with --privileged.
import * as fs from 'node:fs';
import { InvalidArgumentError } from '../errors';
import { Capabilities } from './oci-spec-types';

/** Every capability, index = its number (linux/capability.h up to 6.x). */
export const ALL_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
];

/**
 * Podman's default (containers.conf default_capabilities). Docker's adds AUDIT_WRITE, MKNOD and
 * NET_RAW; Podman left those out to shrink the attack surface, and tspod follows Podman.
 */
export const DEFAULT_CAPABILITIES: readonly string[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_NET_BIND_SERVICE',
  'CAP_SETFCAP',
  'CAP_SETGID',
  'CAP_SETPCAP',
  'CAP_SETUID',
  'CAP_SYS_CHROOT',
];

const ALL = 'ALL';

/** "sys_admin", "CAP_SYS_ADMIN", "Sys_Admin" → "CAP_SYS_ADMIN"; "all" → "ALL". */
export function normalizeCapability(name: string): string {
  const upper = name.trim().toUpperCase();
  if (upper === ALL) return ALL;
  const full = upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
  if (!ALL_CAPABILITIES.includes(full)) throw new InvalidArgumentError(`unknown capability "${name}"`);
  return full;
}

function byNumber(caps: Iterable<string>): string[] {
  return [...new Set(caps)].sort((a, b) => ALL_CAPABILITIES.indexOf(a) - ALL_CAPABILITIES.indexOf(b));
}

export interface CapabilityOptions {
  capAdd?: string[];
  capDrop?: string[];
  privileged?: boolean;
  /** the starting set; default DEFAULT_CAPABILITIES (containers.conf may change it) */
  defaults?: readonly string[];
}

/**
 * The container's capability set, as Docker's TweakCapabilities computes it: --cap-add ALL starts
 * from every capability and removes --cap-drop; --cap-drop ALL keeps only --cap-add; otherwise
 * defaults minus drops plus adds (an add wins over a drop of the same name).
 */
export function capabilitySet(opts: CapabilityOptions): string[] {
  const add = (opts.capAdd ?? []).map(normalizeCapability);
  const drop = (opts.capDrop ?? []).map(normalizeCapability);
  if (opts.privileged) return [...ALL_CAPABILITIES];
  if (add.includes(ALL)) return ALL_CAPABILITIES.filter((c) => !drop.includes(c));
  if (drop.includes(ALL)) return byNumber(add);
  const defaults = (opts.defaults ?? DEFAULT_CAPABILITIES).map(normalizeCapability).filter((c) => c !== ALL);
  return byNumber([...defaults.filter((c) => !drop.includes(c)), ...add]);
}

/** The capabilities --cap-add named explicitly (ALL expands), for a non-root user's process. */
export function explicitlyAddedCapabilities(opts: CapabilityOptions): string[] {
  const add = (opts.capAdd ?? []).map(normalizeCapability);
  const drop = (opts.capDrop ?? []).map(normalizeCapability);
  if (opts.privileged) return [];
  if (add.includes(ALL)) return ALL_CAPABILITIES.filter((c) => !drop.includes(c));
  return byNumber(add);
}

/**
 * A capability the caller itself lacks cannot be given: runc's capset fails with EPERM. Root on
 * these machines has no CAP_SYS_RESOURCE, so --privileged means "every capability we hold".
 * Returns what stays and what was dropped (for a warning).
 */
export function limitToAvailable(caps: string[], available: readonly string[]): { caps: string[]; unavailable: string[] } {
  return { caps: caps.filter((c) => available.includes(c)), unavailable: caps.filter((c) => !available.includes(c)) };
}

/**
 * The OCI sets. Root in the container gets the set in bounding, effective and permitted (never
 * inheritable: CVE-2022-27649). A non-root user keeps the bounding set, and like Podman gets
 * only what --cap-add named, through the ambient set so that it survives execve.
 */
export function processCapabilities(caps: string[], nonRootUser: boolean, explicitlyAdded: string[] = []): Capabilities {
  if (!nonRootUser) return { bounding: [...caps], effective: [...caps], permitted: [...caps], inheritable: [], ambient: [] };
  const user = explicitlyAdded.filter((c) => caps.includes(c));
  return { bounding: [...caps], effective: [...user], permitted: [...user], inheritable: [...user], ambient: [...user] };
}

/** The capability names in a /proc/PID/status mask such as "000001fffeffffff". */
export function capabilitiesFromMask(hex: string): string[] {
  const mask = BigInt(`0x${hex.trim()}`);
  return ALL_CAPABILITIES.filter((_, i) => (mask >> BigInt(i)) & 1n);
}

/** The mask /proc/PID/status would show for these capabilities. */
export function capabilityMask(caps: string[]): string {
  let mask = 0n;
  for (const c of caps) {
    const i = ALL_CAPABILITIES.indexOf(c);
    if (i >= 0) mask |= 1n << BigInt(i);
  }
  return mask.toString(16).padStart(16, '0');
}

/** This process's bounding set: what it can hand on to a container at most. */
export function boundingSet(statusText = fs.readFileSync('/proc/self/status', 'utf8')): string[] {
  const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(statusText);
  return m ? capabilitiesFromMask(m[1]) : [...ALL_CAPABILITIES];
}
