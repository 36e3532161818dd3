// The pause process that holds a rootless user's user and mount namespaces (started by the C
// launcher in native/, see native/userns.c). Node runs inside that namespace already; here we
// only find the process, check it is really ours, and end it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { HostIdentity } from '../config/host-identity';
import { awaitGone } from '../host/processes';

/** The name the launcher gives the pause process with prctl(PR_SET_NAME). */
export const PAUSE_COMM = 'tspod-pause';

/** tspod's own directory inside the runtime dir: pause.pid and pause.lock live here. */
export function pauseStateDir(runtimeDir: string): string {
  return path.join(runtimeDir, 'tspod');
}

export function pausePidFile(runtimeDir: string): string {
  return path.join(pauseStateDir(runtimeDir), 'pause.pid');
}

export function pauseLockFile(runtimeDir: string): string {
  return path.join(pauseStateDir(runtimeDir), 'pause.lock');
}

export function readPausePid(runtimeDir: string): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(pausePidFile(runtimeDir), 'utf8');
  } catch {
    return undefined;
  }
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** "PID (COMM) STATE ..." from /proc/PID/stat; undefined once the pid is gone. */
export function parseProcStat(text: string): { comm: string; state: string } | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  return { comm: text.slice(open + 1, close), state: text.slice(close + 2, close + 3) };
}

/** A live (not zombie) process named tspod-pause: pids are reused, so never kill on the pid alone. */
export function isPauseProcess(pid: number): boolean {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  const stat = parseProcStat(text);
  return stat !== undefined && stat.comm === PAUSE_COMM && stat.state !== 'Z' && stat.state !== 'X';
}

/**
 * Ends the user's pause process and forgets its pid, so that the next tspod command started
 * from the user's shell creates a fresh namespace (with the current /etc/subuid ranges).
 * Both the pause process this command runs under and the one the pid file names (another
 * tspod may have replaced it meanwhile) are ended.
 */
export function killPauseProcess(host: HostIdentity): void {
  if (!host.rootless) return;
  const candidates = new Set<number>();
  if (host.pausePid !== undefined) candidates.add(host.pausePid);
  const recorded = readPausePid(host.runtimeDir);
  if (recorded !== undefined) candidates.add(recorded);
  const killed: number[] = [];
  for (const pid of candidates) {
    if (!isPauseProcess(pid)) continue;
    try {
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }
  fs.rmSync(pausePidFile(host.runtimeDir), { force: true });
  awaitGone(killed);
}

