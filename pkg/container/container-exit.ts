// What happens when a container's process ends: the monitor writes the exit code and runs
// `tspod container cleanup ID`, which records it, releases the network and the mount, and
// removes --rm containers. Every command that reads container state first reconciles rows
// with reality (refresh), so a killed monitor or a reboot is noticed and repaired.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Engine } from '../engine/engine';
import { awaitGone, processAlive } from '../host/processes';

export { processAlive };
import { tearDownNetwork } from '../network/network-setup';
import { OciRuntime } from '../runtime/oci-runtime';
import { Container, ContainerConfig, ContainerRuntimeState } from './container-config';
import { containerPaths } from './container-paths';
import { ContainerStore } from './container-store';
import { stopSystemdHealthTimer } from './health-schedule';
import { removeNotifyProxy } from './sdnotify';

export function readExitCode(exitDir: string, id: string): number | undefined {
  try {
    const n = Number(fs.readFileSync(path.join(exitDir, id), 'utf8').trim());
    return Number.isInteger(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Records the end of a container and frees what it held. Safe to run more than once and from
 * several processes (the monitor's exit command, `rm -f`, a refresh).
 */
export async function cleanupContainer(engine: Engine, container: Container, exitCode?: number, runToken?: string): Promise<void> {
  const store = new ContainerStore(engine.db);
  // A late hook of an earlier run must not tear down the run that started since, nor may a
  // caller whose record predates that start (a restart policy starts runs at any time).
  if (runToken !== undefined && container.state.runToken !== runToken) return;
  const current = store.get<object, ContainerRuntimeState>(container.id);
  if (current && current.state.runToken !== container.state.runToken) return;
  const paths = containerPaths(engine.config, container.id);
  const code = exitCode ?? readExitCode(paths.exitDir, container.id);
  // The network helpers die while the rest is released; waited for at the end.
  const dying: number[] = [];
  // The network, the runtime's record and the mount do not depend on one another, and each
  // waits for a helper process: all at once.
  const driver = await engine.driver();
  await Promise.all([
    tearDownNetwork(engine, container, dying),
    stopSystemdHealthTimer(container),
    OciRuntime.of(engine.config, container).delete(container.id),
    driver.unmount(paths.rootfs),
  ]);
  removeNotifyProxy(engine, container);
  store.mutate<object, ContainerRuntimeState>(container.id, (fresh) => {
    if (fresh.state.runToken !== container.state.runToken) return undefined;
    if (fresh.status !== 'running' && fresh.status !== 'paused' && fresh.status !== 'stopping') return undefined;
    return {
      status: 'exited',
      exitCode: code ?? 255,
      finishedAt: Date.now(),
      pid: 0,
      monitorPid: 0,
      state: { ...fresh.state, networkPid: undefined, network: undefined, ...(code === undefined ? { error: 'the container monitor died; its exit code is unknown' } : {}) },
    };
  });
  awaitGone(dying);
}

/** Brings a running container's row in line with its processes; returns the fresh record. */
export async function refreshContainer(engine: Engine, container: Container): Promise<Container> {
  if (container.status !== 'running' && container.status !== 'paused' && container.status !== 'stopping') return container;
  const paths = containerPaths(engine.config, container.id);
  const code = readExitCode(paths.exitDir, container.id);
  const monitorAlive = processAlive(container.monitorPid);
  const containerAlive = processAlive(container.pid);
  if (code === undefined && (monitorAlive || containerAlive)) return container;
  // Exited (the monitor's own cleanup may still be on its way) or orphaned by a dead monitor.
  await cleanupContainer(engine, container, code);
  return new ContainerStore(engine.db).get<ContainerConfig, ContainerRuntimeState>(container.id) ?? container;
}

export async function refreshAll(engine: Engine): Promise<Container[]> {
  const store = new ContainerStore(engine.db);
  const out: Container[] = [];
  for (const c of store.list<ContainerConfig, ContainerRuntimeState>()) out.push(await refreshContainer(engine, c));
  return out;
}
