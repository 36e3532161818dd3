// stop, kill and wait. The runtime delivers signals; the monitor notices the exit and runs
// the cleanup. These calls wait for that, and do the cleanup themselves when the monitor is
// gone, so they never hang on a container whose monitor was killed.
import * as fs from 'node:fs';
import { Engine } from '../engine/engine';
import { ConflictError } from '../errors';
import { OciRuntime } from '../runtime/oci-runtime';
import { Container, ContainerConfig, ContainerRuntimeState } from './container-config';
import { processAlive, readExitCode, refreshContainer } from './container-exit';
import { containerPaths } from './container-paths';
import { ContainerStore } from './container-store';
import { cancelPendingRestart } from './restart-policy';

const POLL_MS = 25;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function isActive(c: Container): boolean {
  return c.status === 'running' || c.status === 'paused' || c.status === 'stopping';
}

/** Waits until the container is no longer active, up to timeoutMs (undefined: for ever). */
export async function waitForExit(engine: Engine, id: string, timeoutMs?: number): Promise<Container> {
  const store = new ContainerStore(engine.db);
  const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
  let seen: Container | undefined;
  for (;;) {
    const current = store.get<ContainerConfig, ContainerRuntimeState>(id);
    if (!current) {
      if (!seen) throw new ConflictError(`container ${id.slice(0, 12)} was removed while waiting for it`);
      // A --rm container's exit hook removed it: it ended, and its exit file outlives the row.
      const code = readExitCode(containerPaths(engine.config, id).exitDir, id);
      return { ...seen, status: 'exited', pid: 0, exitCode: code ?? seen.exitCode };
    }
    seen = current;
    const fresh = await refreshContainer(engine, current);
    if (!isActive(fresh)) return fresh;
    if (Date.now() >= deadline) return fresh;
    await sleep(POLL_MS);
  }
}

/**
 * The exit code of a container that is ending: from its exit file, which outlives the row
 * (a --rm container may be removed by its exit hook before the caller asks), else the row.
 */
export async function exitCodeOf(engine: Engine, id: string): Promise<number> {
  const paths = containerPaths(engine.config, id);
  const store = new ContainerStore(engine.db);
  for (;;) {
    const code = readExitCode(paths.exitDir, id);
    if (code !== undefined) return code;
    const current = store.get<ContainerConfig, ContainerRuntimeState>(id);
    if (!current) return readExitCode(paths.exitDir, id) ?? 125;
    const fresh = await refreshContainer(engine, current);
    if (!isActive(fresh)) return readExitCode(paths.exitDir, id) ?? fresh.exitCode;
    await sleep(POLL_MS);
  }
}

/** Normalises `TERM`, `SIGTERM`, `15` to what runc accepts. */
export function signalName(signal: string): string {
  const s = signal.trim().toUpperCase();
  if (/^\d+$/.test(s)) return s;
  return s.startsWith('SIG') ? s.slice(3) : s;
}

export async function killContainer(engine: Engine, container: Container, signal = 'KILL'): Promise<void> {
  const fresh = await refreshContainer(engine, container);
  if (!isActive(fresh)) throw new ConflictError(`can only kill running containers. ${container.id.slice(0, 12)} is in state ${fresh.status}: container state improper`);
  new ContainerStore(engine.db).update(container.id, { stoppedByUser: true });
  await OciRuntime.of(engine.config, fresh).kill(container.id, signalName(signal));
}

/** Docker's stop: the stop signal, then SIGKILL after the timeout; a no-op on a stopped container. */
export async function stopContainer(engine: Engine, container: Container, timeoutSeconds?: number): Promise<Container> {
  let fresh = await refreshContainer(engine, await cancelPendingRestart(engine, container));
  const store = new ContainerStore(engine.db);
  if (!isActive(fresh)) {
    // Between two runs of a restart policy: an exit hook about to restart it must not.
    if (fresh.config.restartPolicy.name !== 'no' && !fresh.stoppedByUser) store.update(container.id, { stoppedByUser: true });
    return fresh;
  }
  store.update(container.id, { stoppedByUser: true, status: 'stopping' });
  const runtime = OciRuntime.of(engine.config, container);
  const timeout = timeoutSeconds ?? container.config.stopTimeout ?? 10;
  if (timeout > 0) {
    await runtime.kill(container.id, signalName(container.config.stopSignal || 'TERM'));
    fresh = await waitForExit(engine, container.id, timeout * 1000);
    if (!isActive(fresh)) return fresh;
  }
  await runtime.kill(container.id, 'KILL');
  // A killed process can take a moment to be reaped; the monitor then records 137.
  return waitForExit(engine, container.id, 10_000);
}


/** A `tspod container cleanup ID` process (the monitor's exit hook) is still running. */
function cleanupHookRunning(id: string): boolean {
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    try {
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const i = argv.indexOf('cleanup');
      if (i > 0 && argv[i - 1] === 'container' && argv.includes(id, i + 1)) return true;
    } catch {
      // gone meanwhile
    }
  }
  return false;
}

/**
 * The monitor runs its exit hook without waiting for it; a hook that is still at work when
 * the container starts again would delete the new runtime state and unmount its root. Waits
 * (up to 10 s) until the old monitor is gone and no hook for this container runs.
 */
export async function waitForMonitorGone(monitorPid: number, id: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && ((monitorPid > 0 && processAlive(monitorPid)) || cleanupHookRunning(id))) await sleep(POLL_MS);
}
