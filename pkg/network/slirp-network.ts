// Rootless outbound networking for one container: slirp4netns attached to the container's
// network namespace (by its init pid), answering as 10.0.2.2 (host) and 10.0.2.3 (DNS). It
// must outlive this CLI process, so it runs detached; cleanup ends it by pid.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { HostError } from '../errors';
import { findExecutable } from '../host/executables';

export interface SlirpOptions {
  mtu?: number;
  allowHostLoopback?: boolean;
}

/** Starts slirp4netns for the namespace of `pid` and waits until it has configured tap0. */
export async function startSlirp(pid: number, opts: SlirpOptions = {}): Promise<number> {
  const bin = findExecutable('slirp4netns');
  if (!bin) throw new HostError('slirp4netns is not installed: install it (apt install slirp4netns) or run with --network none');
  const args = ['--configure', `--mtu=${opts.mtu ?? 65520}`, '--ready-fd=3', '--enable-sandbox', '--enable-seccomp'];
  if (!opts.allowHostLoopback) args.push('--disable-host-loopback');
  args.push(String(pid), 'tap0');
  const child = spawn(bin, args, { detached: true, stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const ready = new Promise<void>((resolve, reject) => {
    const fd3 = child.stdio[3] as NodeJS.ReadableStream;
    fd3.on('data', () => resolve());
    child.once('exit', (code) => reject(new HostError(`slirp4netns exited (${code}) before it was ready: ${stderr.trim().split('\n').pop() ?? ''}`)));
    child.once('error', (err) => reject(new HostError(`starting slirp4netns: ${err.message}`)));
  });
  await ready;
  child.stderr?.destroy();
  (child.stdio[3] as NodeJS.ReadableStream & { destroy(): void }).destroy();
  child.unref();
  return child.pid as number;
}

/** Ends a slirp4netns process if it is still ours (pids get reused). */
export function stopSlirp(pid: number | undefined): void {
  if (!pid) return;
  try {
    const comm = fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    if (comm === 'slirp4netns') process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}
