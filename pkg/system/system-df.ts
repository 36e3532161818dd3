// `system df` and `system prune`: what images, containers and volumes take on disk, and the
// removal of what nothing uses (stopped containers, dangling or unused images, unused volumes).
import { Engine } from '../engine/engine';
import type { Container } from '../container/container-config';
import { refreshAll } from '../container/container-exit';
import { containerPaths } from '../container/container-paths';
import { removeContainer } from '../container/container-remove';
import { loadImageSummaries, ImageSummary } from '../image/image-list';
import { pruneImages } from '../image/image-remove';
import { pruneVolumes } from '../volume/volume-remove';
import { treeSize, VolumeRecord, VolumeStore } from '../volume/volume-store';

export interface DiskUsageRow {
  Type: 'Images' | 'Containers' | 'Local Volumes';
  Total: number;
  Active: number;
  /** bytes */
  RawSize: number;
  RawReclaimable: number;
}

export interface ImageUsage {
  image: ImageSummary;
  containers: number;
}

export interface ContainerUsage {
  container: Container;
  size: number;
  /** the named volumes it mounts */
  volumes: number;
}

export interface VolumeUsage {
  volume: VolumeRecord;
  /** containers that mount it */
  links: number;
  size: number;
}

export interface DiskUsage {
  images: ImageUsage[];
  containers: ContainerUsage[];
  volumes: VolumeUsage[];
  summary: DiskUsageRow[];
}

const isActive = (c: Container): boolean => c.status === 'running' || c.status === 'paused' || c.status === 'stopping';

export async function diskUsage(engine: Engine): Promise<DiskUsage> {
  const containers = await refreshAll(engine);
  const images = loadImageSummaries(engine.images).map((image) => ({ image, containers: image.containers }));
  const containerRows = containers.map((container) => ({
    container,
    size: treeSize(containerPaths(engine.config, container.id).upper),
    volumes: container.config.mounts.filter((m) => m.type === 'volume').length,
  }));
  const links = new Map<string, number>();
  for (const c of containers) for (const m of c.config.mounts) if (m.type === 'volume' && m.source) links.set(m.source, (links.get(m.source) ?? 0) + 1);
  const store = new VolumeStore(engine.db, engine.config.graphRoot);
  const volumes = store.list().map((volume) => ({ volume, links: links.get(volume.name) ?? 0, size: store.size(volume) }));
  const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
  const summary: DiskUsageRow[] = [
    {
      Type: 'Images',
      Total: images.length,
      Active: images.filter((i) => i.containers > 0).length,
      RawSize: sum(images.map((i) => i.image.size)),
      RawReclaimable: sum(images.filter((i) => i.containers === 0).map((i) => i.image.size)),
    },
    {
      Type: 'Containers',
      Total: containerRows.length,
      Active: containerRows.filter((c) => isActive(c.container)).length,
      RawSize: sum(containerRows.map((c) => c.size)),
      RawReclaimable: sum(containerRows.filter((c) => !isActive(c.container)).map((c) => c.size)),
    },
    {
      Type: 'Local Volumes',
      Total: volumes.length,
      Active: volumes.filter((v) => v.links > 0).length,
      RawSize: sum(volumes.map((v) => v.size)),
      RawReclaimable: sum(volumes.filter((v) => v.links === 0).map((v) => v.size)),
    },
  ];
  return { images, containers: containerRows, volumes, summary };
}

export interface SystemPruneOptions {
  /** -a: every unused image, not only dangling ones */
  all?: boolean;
  /** --volumes: also volumes no container uses */
  volumes?: boolean;
}

export interface SystemPruneReport {
  containers: string[];
  images: string[];
  volumes: string[];
  /** bytes freed */
  reclaimed: number;
  errors: string[];
}

export async function systemPrune(engine: Engine, opts: SystemPruneOptions = {}): Promise<SystemPruneReport> {
  const report: SystemPruneReport = { containers: [], images: [], volumes: [], reclaimed: 0, errors: [] };
  for (const c of await refreshAll(engine)) {
    if (isActive(c)) continue;
    const size = treeSize(containerPaths(engine.config, c.id).upper);
    try {
      await removeContainer(engine, c, {});
      report.containers.push(c.id);
      report.reclaimed += size;
    } catch (err) {
      report.errors.push(`removing container ${c.id}: ${(err as Error).message}`);
    }
  }
  if (opts.volumes) {
    for (const v of pruneVolumes(engine)) {
      report.volumes.push(v.name);
      report.reclaimed += v.size;
    }
  }
  const sizes = new Map(loadImageSummaries(engine.images).map((s) => [s.id, s.size]));
  const pruned = await pruneImages(engine, { all: opts.all });
  for (const id of pruned.deleted) {
    report.images.push(id);
    report.reclaimed += sizes.get(id) ?? sizes.get(`sha256:${id}`) ?? 0;
  }
  return report;
}
