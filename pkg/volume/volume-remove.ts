// `volume rm` and `volume prune`: a volume a container names in its mounts is in use, whatever
// the container's state (Podman's rule); -f removes those containers first, as Podman does.
import { Engine } from '../engine/engine';
import { ConflictError, NotFoundError } from '../errors';
import type { ContainerConfig, ContainerRuntimeState } from '../container/container-config';
import { ContainerStore } from '../container/container-store';
import { VolumeRecord, VolumeStore } from './volume-store';
import { RemoveReport, failureKind, removeExitCode } from '../engine/remove-report';

export type VolumeRemoveReport = RemoveReport;

function containersOf(engine: Engine): { id: string; name: string; status: string; mounts: ContainerConfig['mounts'] }[] {
  return new ContainerStore(engine.db).list<ContainerConfig, ContainerRuntimeState>().map((c) => ({ id: c.id, name: c.name, status: c.status, mounts: c.config.mounts ?? [] }));
}

/** Names of volumes some container mounts. */
export function volumesInUse(engine: Engine): Set<string> {
  const used = new Set<string>();
  for (const c of containersOf(engine)) for (const m of c.mounts) if (m.type === 'volume' && m.source) used.add(m.source);
  return used;
}

/** How many running containers mount each volume (inspect's MountCount). */
export function mountCounts(engine: Engine): Map<string, number> {
  const counts = new Map<string, number>();
  for (const c of containersOf(engine)) {
    if (c.status !== 'running' && c.status !== 'paused') continue;
    for (const m of c.mounts) if (m.type === 'volume' && m.source) counts.set(m.source, (counts.get(m.source) ?? 0) + 1);
  }
  return counts;
}

export async function removeVolumes(engine: Engine, names: readonly string[], opts: { force?: boolean; all?: boolean } = {}): Promise<VolumeRemoveReport> {
  const store = new VolumeStore(engine.db, engine.config.graphRoot);
  const report: VolumeRemoveReport = { removed: [], failures: [] };
  const targets = opts.all ? store.list().map((v) => v.name) : names;
  for (const name of targets) {
    try {
      const vol = store.get(name);
      if (!vol) throw new NotFoundError(`no volume with name "${name}" found: no such volume`);
      const users = store.users(name, containersOf(engine));
      if (users.length > 0) {
        if (!opts.force) {
          throw new ConflictError(`volume ${name} is being used by the following container(s): ${users.map((u) => u.id).join(', ')}: volume is being used`);
        }
        const containers = new ContainerStore(engine.db);
        const { removeContainer } = await import('../container/container-remove');
        for (const u of users) {
          const c = containers.get<ContainerConfig, ContainerRuntimeState>(u.id);
          if (c) await removeContainer(engine, c, { force: true });
        }
      }
      store.remove(name);
      report.removed.push(name);
    } catch (err) {
      report.failures.push({ name, kind: failureKind(err), message: (err as Error).message });
    }
  }
  return report;
}

/** 0, or as Podman: 1 when a volume was missing, 2 when one was in use, 125 otherwise. */
export const volumeRemoveExitCode = removeExitCode;

export interface PrunedVolume {
  name: string;
  size: number;
}

/** Every volume no container uses (and that `keep` does not keep), with the bytes it held. */
export function pruneVolumes(engine: Engine, keep: (v: VolumeRecord) => boolean = () => false): PrunedVolume[] {
  const store = new VolumeStore(engine.db, engine.config.graphRoot);
  const used = volumesInUse(engine);
  const pruned: PrunedVolume[] = [];
  for (const vol of store.list()) {
    if (used.has(vol.name) || keep(vol)) continue;
    const size = store.size(vol);
    store.remove(vol.name);
    pruned.push({ name: vol.name, size });
  }
  return pruned;
}
