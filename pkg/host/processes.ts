// Is a process still there? Used wherever a pid was recorded by another tspod process (locks,
// scratch dirs, monitors), since any of them may have been killed.
import * as fs from 'node:fs';

/** The pid exists (possibly as a zombie, possibly another user's). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid runs: a zombie counts as gone (hosts whose pid 1 never reaps keep those around). */
export function processAlive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) [ZX] /.test(stat);
  } catch {
    return false;
  }
}

/**
 * Waits (blocking, up to timeoutMs) until none of the pids runs. SIGKILL takes effect when the
 * target next runs, which on a loaded host can be a while after kill() returns: commands that
 * end processes wait for them, so that when the command returns they are gone.
 */
export function awaitGone(pids: number[], timeoutMs = 2000): void {
  const tick = new Int32Array(new SharedArrayBuffer(4));
  const deadline = Date.now() + timeoutMs;
  // Most are gone within a millisecond or two: look again soon at first, then every 5 ms.
  let pause = 0.25;
  while (pids.some(processAlive) && Date.now() < deadline) {
    Atomics.wait(tick, 0, 0, pause);
    pause = Math.min(pause * 2, 5);
  }
}
