// Running iproute2 and nft in a network namespace: the host's (root), the shared rootless one
// (a bind-mounted namespace file) or a container's (/proc/PID/ns/net). Node cannot setns, so
// each call is `nsenter --net=FILE prog ...`; ip and nft take whole batches on stdin, so a
// container's setup costs a few processes, not one per command.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { HostError } from '../errors';
import { findExecutable } from '../host/executables';

/** undefined: the namespace this process is in. */
export type NetnsPath = string | undefined;

function tool(name: string): string {
  const bin = findExecutable(name);
  if (!bin) throw new HostError(`${name} is not installed: install ${name === 'nft' ? 'nftables' : name === 'nsenter' ? 'util-linux' : 'iproute2'}`);
  return bin;
}

/** argv that runs `argv` inside the namespace. */
export function inNetns(netns: NetnsPath, argv: string[]): string[] {
  return netns ? [tool('nsenter'), `--net=${netns}`, ...argv] : argv;
}

function run(netns: NetnsPath, argv: string[], input?: string): string {
  const [file, ...args] = inNetns(netns, argv);
  try {
    return execFileSync(file, args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], timeout: 30_000 });
  } catch (err) {
    const stderr = String((err as { stderr?: string }).stderr ?? '').trim();
    throw new HostError(`${argv.join(' ')}${input ? ` (${input.trim().split('\n').join('; ')})` : ''} failed: ${stderr || (err as Error).message}`);
  }
}

/** `ip -batch -`: one ip command per line; with force, failures of single lines are ignored. */
export function ipBatch(netns: NetnsPath, lines: string[], opts: { force?: boolean } = {}): void {
  if (lines.length === 0) return;
  const argv = [tool('ip'), ...(opts.force ? ['-force'] : []), '-batch', '-'];
  if (opts.force) {
    try {
      run(netns, argv, `${lines.join('\n')}\n`);
    } catch {
      // -force keeps going past failing lines and still exits non-zero: nothing to report
    }
    return;
  }
  run(netns, argv, `${lines.join('\n')}\n`);
}

/** `ip -json ARGS`, parsed. */
export function ipJson<T>(netns: NetnsPath, args: string[]): T[] {
  const out = run(netns, [tool('ip'), '-json', ...args]).trim();
  return out ? (JSON.parse(out) as T[]) : [];
}

/** Loads an nft script (`nft -f -`): the whole ruleset change is applied atomically. */
export function nftApply(netns: NetnsPath, script: string): void {
  run(netns, [tool('nft'), '-f', '-'], script);
}

export const sysctlFile = (key: string): string => `/proc/sys/${key.replace(/\./g, '/')}`;

/**
 * Sets sysctls of the namespace (net.* ones are per network namespace): in this process for
 * its own namespace, else all in one shell entered into the namespace.
 */
export function netnsSysctl(netns: NetnsPath, settings: Record<string, string>): void {
  const entries = Object.entries(settings);
  if (!netns) {
    for (const [key, value] of entries) fs.writeFileSync(sysctlFile(key), `${value}\n`);
    return;
  }
  run(netns, [tool('sh'), '-c', entries.map(([key, value]) => `echo ${value} > ${sysctlFile(key)}`).join('; ')]);
}
