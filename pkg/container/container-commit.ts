// `commit`: a container's changes become a new image. The new layer is the tar of the
// container's writable layer (layer-tar.ts turns its whiteouts back into `.wh.` entries), stored
// on top of the image's top layer; the config is the image's, with what the container was
// created with (Env, Cmd, Entrypoint, WorkingDir, User, Labels), then --change applied, a new
// diff ID and a history entry. Pausing is not possible rootless on cgroup v1 (no freezer we may
// use), so the container keeps running while its layer is read, as with `commit --pause=false`.
import { Engine } from '../engine/engine';
import { ConflictError } from '../errors';
import { log } from '../log';
import { localImageName } from '../image/archive-oci';
import { applyChanges } from '../image/config-changes';
import { sha256Digest } from '../image/digest';
import { rfc3339Nano } from '../image/image-import';
import { ImageRecord } from '../image/image-store';
import { ContainerConfig as ImageContainerConfig, HistoryEntry, ImageConfig, parseImageConfig } from '../image/manifest';
import { formatReference } from '../image/reference';
import { TransferListener, silentListener } from '../image/transfer-events';
import { tarLayerDir } from '../storage/layer-tar';
import { Container, ContainerConfig, ContainerRuntimeState } from './container-config';
import { containerPaths } from './container-paths';
import { ContainerStore } from './container-store';

export interface CommitOptions {
  /** the new image's name; none leaves it untagged */
  reference?: string;
  message?: string;
  author?: string;
  changes?: string[];
  pause?: boolean;
  format?: 'oci' | 'docker';
  listener?: TransferListener;
}

function mergeEnv(base: readonly string[], extra: readonly string[]): string[] {
  const out = [...base];
  for (const entry of extra) {
    const eq = entry.indexOf('=');
    if (eq <= 0) continue;
    const key = entry.slice(0, eq);
    const i = out.findIndex((e) => e === key || e.startsWith(`${key}=`));
    if (i >= 0) out[i] = entry;
    else out.push(entry);
  }
  return out;
}

/** The container config of the committed image (pure, for tests). */
export function committedContainerConfig(image: ImageContainerConfig, container: ContainerConfig, changes: readonly string[]): ImageContainerConfig {
  const next: ImageContainerConfig = { ...image };
  next.Env = mergeEnv(image.Env ?? [], container.env);
  next.Entrypoint = container.entrypoint.length ? [...container.entrypoint] : null;
  next.Cmd = container.cmd.length ? [...container.cmd] : null;
  if (container.workdir) next.WorkingDir = container.workdir;
  if (container.user) next.User = container.user;
  const labels = { ...(image.Labels ?? {}), ...container.labels };
  if (Object.keys(labels).length) next.Labels = labels;
  return applyChanges(next, changes);
}

/** The new image config (pure, for tests). */
export function commitConfig(image: ImageConfig, container: Container, diffId: string, created: string, opts: CommitOptions): ImageConfig {
  const config = committedContainerConfig(image.config ?? {}, container.config, opts.changes ?? []);
  const createdBy = [...container.config.entrypoint, ...container.config.cmd].join(' ');
  const entry: HistoryEntry = { created, created_by: createdBy };
  if (opts.author) entry.author = opts.author;
  if (opts.message) entry.comment = opts.message;
  const out: ImageConfig = {
    ...image,
    created,
    config,
    rootfs: { type: 'layers', diff_ids: [...(image.rootfs?.diff_ids ?? []), diffId] },
    history: [...(image.history ?? []), entry],
  };
  if (opts.author) out.author = opts.author;
  else delete out.author;
  // Docker-only fields of the base image describe the base, not this image
  delete out.id;
  delete out.parent;
  delete out.container;
  delete out.container_config;
  if (opts.format === 'docker') {
    out.container = container.id;
    if (opts.message) out.comment = opts.message;
  } else {
    delete out.comment;
  }
  return out;
}

export async function commitContainer(engine: Engine, nameOrId: string, opts: CommitOptions = {}): Promise<ImageRecord> {
  const listener = opts.listener ?? silentListener;
  const container = new ContainerStore(engine.db).require<ContainerConfig, ContainerRuntimeState>(nameOrId);
  const image = engine.images.get(container.config.imageId);
  if (!image) throw new ConflictError(`the image of container ${container.name} (${container.config.imageId}) is gone`);
  const base = parseImageConfig(image.config);
  // bad input fails before the layer is written
  committedContainerConfig(base.config ?? {}, container.config, opts.changes ?? []);
  const names = opts.reference ? [formatReference(localImageName(opts.reference))] : [];
  if (opts.pause !== false && container.status === 'running') log.debug(`commit: cannot pause ${container.name} rootless on this host; committing it running`);
  const paths = containerPaths(engine.config, container.id);
  const driver = await engine.driver();
  const layers = await engine.layers();
  listener({ kind: 'message', text: 'Getting image source signatures' });
  const parentDir = driver.name === 'vfs' && image.topLayer ? layers.diffDir(image.topLayer) : undefined;
  const layer = await layers.putLayer({ parent: image.topLayer ?? undefined, stream: tarLayerDir(paths.upper, driver, { parentDir }) });
  listener({ kind: 'message', text: `Copying blob ${layer.diffId.slice(7, 19)} done` });
  const created = rfc3339Nano(BigInt(Date.now()) * 1_000_000n);
  const configBytes = Buffer.from(JSON.stringify(commitConfig(base, container, layer.diffId, created, opts)));
  const id = sha256Digest(configBytes);
  listener({ kind: 'message', text: `Copying config ${id.slice(7, 19)} done` });
  listener({ kind: 'message', text: 'Writing manifest to image destination' });
  return engine.images.put({ id, topLayer: layer.id, config: configBytes, size: image.size + layer.size, created: Date.now(), parent: image.id }, names);
}
