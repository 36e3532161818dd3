// `tspod manifest push`: each instance of a local list copied to the destination repository
// (a local image pushed as `push` pushes it, a remote one copied blob by blob from where it
// was added from, mounted when both are on one registry), then the list itself, rewritten
// with the digests the instances got, under the destination's tag.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Engine } from '../engine/engine';
import { NotFoundError, TspodError } from '../errors';
import { blobPresent, mountBlob } from './blob-mount';
import { fromPullEndpoints } from './image-pull';
import { mountSources, parseDestination, pushToRegistry } from './image-push';
import { makeBlobDir } from './layer-blob';
import { Descriptor, MediaType, parseManifest } from './manifest';
import { ManifestFormat } from './manifest-format';
import { ManifestListState, RegistryAccess, listFormat, listState, renderList, requireList } from './manifest-list';
import { ImageReference, manifestReference, parseReference } from './reference';
import { RegistryClient } from './registry-client';
import { RegistryEndpoint, pushEndpoint } from './registry-endpoints';
import { TransferListener, silentListener } from './transfer-events';

export interface ListPushOptions extends RegistryAccess {
  /** Push the instances too (Podman's default); false pushes only the list. */
  all?: boolean;
  /** The list's (and converted instances') format; default the list's own. */
  format?: ManifestFormat;
  ca?: string[];
  listener?: TransferListener;
}

export interface ListPushResult {
  digest: string;
  reference: ImageReference;
}

interface Destination {
  client: RegistryClient;
  endpoint: RegistryEndpoint;
  tmpBase: string;
  listener: TransferListener;
}

async function pushLocalInstance(engine: Engine, dest: Destination, imageId: string, desc: Descriptor, opts: ListPushOptions): Promise<Descriptor> {
  const image = engine.images.get(imageId);
  if (!image) throw new NotFoundError(`instance ${desc.digest}: its image ${imageId} is no longer stored: add the image to the list again`);
  const outcome = await pushToRegistry(
    dest.client,
    dest.endpoint.repository,
    undefined,
    { config: image.config, manifest: image.manifest, manifestMediaType: image.manifestMediaType, layers: await engine.layers(), mountFrom: mountSources(image, dest.endpoint, engine), tmpBase: dest.tmpBase },
    { format: opts.format, listener: dest.listener },
  );
  return { ...desc, mediaType: outcome.mediaType, digest: outcome.digest, size: outcome.manifest.length };
}

/** Copies one blob from the source registry: a HEAD, a cross-repository mount, or download then upload. */
async function copyBlob(dest: Destination, source: { client: RegistryClient; endpoint: RegistryEndpoint }, blob: Descriptor): Promise<void> {
  const repo = dest.endpoint.repository;
  if (await blobPresent(dest.client, repo, blob.digest)) return;
  if (source.endpoint.host === dest.endpoint.host && (await mountBlob(dest.client, repo, blob.digest, source.endpoint.repository))) return;
  const dir = await makeBlobDir(dest.tmpBase);
  try {
    const file = path.join(dir.dir, 'blob');
    const download = await source.client.getBlob(source.endpoint.repository, blob.digest, { expectedSize: blob.size });
    await fs.promises.writeFile(file, download.stream);
    dest.listener({ kind: 'blob-start', what: 'blob', digest: blob.digest, size: blob.size });
    await dest.client.uploadBlob(repo, blob.digest, blob.size, () => fs.createReadStream(file));
    dest.listener({ kind: 'blob-done', what: 'blob', digest: blob.digest });
  } finally {
    await dir.remove();
  }
}

async function copyRemoteInstance(engine: Engine, dest: Destination, repository: string, desc: Descriptor, opts: ListPushOptions): Promise<Descriptor> {
  const ref: ImageReference = { ...parseReference(repository), tag: undefined, digest: desc.digest };
  const { result: manifest, client, endpoint } = await fromPullEndpoints(ref, opts, engine, (c, ep) => c.getManifest(ep.repository, desc.digest));
  try {
    const parsed = parseManifest(manifest.bytes, manifest.mediaType);
    if (parsed.kind !== 'manifest') throw new TspodError(`instance ${desc.digest} of ${repository} is itself a list, which a list cannot hold`);
    for (const blob of [parsed.manifest.config, ...parsed.manifest.layers]) await copyBlob(dest, { client, endpoint }, blob);
    await dest.client.putManifest(dest.endpoint.repository, desc.digest, manifest.bytes, manifest.mediaType);
    return desc;
  } finally {
    client.close();
  }
}

/** `tspod manifest push LIST [DESTINATION]`: returns the pushed list's digest. */
export async function pushManifestList(engine: Engine, listName: string, destination: string | undefined, opts: ListPushOptions = {}): Promise<ListPushResult> {
  const list = requireList(engine, listName);
  const state: ManifestListState = listState(list);
  const target = destination ?? list.names[0];
  if (target === undefined) throw new TspodError(`${listName}: the list has no name to push under: give a destination`);
  const ref = parseDestination(target);
  const endpoint = pushEndpoint(ref, engine.config.registries, { tlsVerify: opts.tlsVerify });
  const client = new RegistryClient(endpoint, { authStore: opts.authStore, credentials: opts.credentials, ca: opts.ca });
  const listener = opts.listener ?? silentListener;
  const dest: Destination = { client, endpoint, tmpBase: path.join(engine.config.graphRoot, 'tmp'), listener };
  try {
    listener({ kind: 'message', text: 'Getting image list signatures' });
    const pushed: Descriptor[] = [];
    if (opts.all ?? true) {
      listener({ kind: 'message', text: `Copying ${state.manifests.length} of ${state.manifests.length} images in list` });
      for (const [i, desc] of state.manifests.entries()) {
        listener({ kind: 'message', text: `Copying image ${desc.digest} (${i + 1}/${state.manifests.length})` });
        const source = state.sources[desc.digest] ?? {};
        if (source.image) pushed.push(await pushLocalInstance(engine, dest, source.image, desc, opts));
        else if (source.repository) pushed.push(await copyRemoteInstance(engine, dest, source.repository, desc, opts));
        else throw new TspodError(`instance ${desc.digest}: tspod does not know where it comes from: add its image to the list again`);
      }
    } else {
      pushed.push(...state.manifests);
    }
    listener({ kind: 'message', text: 'Writing manifest list to image destination' });
    const format = opts.format ?? listFormat(state.mediaType);
    const bytes = renderList({ manifests: pushed, annotations: state.annotations }, format, true);
    const mediaType = format === 'oci' ? MediaType.OCI_INDEX : MediaType.DOCKER_LIST;
    const digest = await client.putManifest(endpoint.repository, manifestReference(ref), bytes, mediaType);
    listener({ kind: 'message', text: 'Storing list signatures' });
    return { digest, reference: ref };
  } finally {
    client.close();
  }
}
