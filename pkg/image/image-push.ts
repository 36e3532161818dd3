// Pushing a local image to a registry. An image keeps the exact config and manifest bytes it
// was pulled with, but not its compressed layer blobs (only the extracted layers), so:
//  - each layer's original blob is first looked for on the destination (a HEAD), then mounted
//    from a repository on the same registry the image came from; both cost no upload;
//  - otherwise the layer is tarred and gzipped anew into a temporary file (digests computed
//    on the way) and uploaded from it. That blob has another digest, and since a re-made tar
//    need not be byte-identical to the one the image was built from (tspod keeps no tar-split
//    data), possibly another diff ID: the config then gets the new diff IDs.
// When every layer was reused, the format is unchanged and the config is untouched, the stored
// manifest goes out byte for byte and the pushed digest equals the source registry's.
// Otherwise a manifest is written for the requested format (manifest-format.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { Engine } from '../engine/engine';
import { InvalidArgumentError, errorMessage } from '../errors';
import { log } from '../log';
import { chainIds } from '../storage/chain-id';
import { blobPresent, mountBlob } from './blob-mount';
import { sha256Digest } from './digest';
import { requireImage } from './image-lookup';
import { ImageRecord } from './image-store';
import { BlobDir, gzipLayerToFile, makeBlobDir } from './layer-blob';
import { Descriptor, ImageManifest, layerCompression, parseImageConfig, parseManifest } from './manifest';
import { ManifestFormat, configMediaType, formatOfMediaType, gzipLayerMediaType, layerMediaTypeIn, manifestMediaType, serializeManifest } from './manifest-format';
import { ImageReference, formatReference, manifestReference, parseReference, repositoryName, withDefaultTag } from './reference';
import { RegistryClient } from './registry-client';
import { RegistryEndpoint, pullEndpoints, pushEndpoint } from './registry-endpoints';
import { localCandidates } from './short-names';
import { ProgressCounter, TransferListener, silentListener } from './transfer-events';
import type { AuthStoreOptions, Credentials } from './auth-store';

export interface PushOptions {
  /** --tls-verify: undefined leaves registries.conf in charge */
  tlsVerify?: boolean;
  authStore?: AuthStoreOptions;
  /** --creds user:password */
  credentials?: Credentials;
  /** --cert-dir: trusted CAs instead of the host's certs.d */
  ca?: string[];
  /** --format; default: the format of the image's own manifest (OCI for images without one) */
  format?: ManifestFormat;
  /** --compression-format: only gzip blobs may be reused or written */
  compressionFormat?: 'gzip';
  listener?: TransferListener;
  /** how many layers are pushed at once */
  parallel?: number;
  /** blobs above this size are uploaded in PATCH chunks of this size */
  chunkSize?: number;
}

/** What a push needs of the layer store (LayerStore has it; tests fake it). */
export interface LayerSource {
  get(chainId: string): { compressedDigest: string | null; compressedSize: number | null; mediaType: string | null } | undefined;
  tarLayer(chainId: string): Readable;
}

export interface PushInput {
  config: Buffer;
  manifest: Buffer | null;
  manifestMediaType: string | null;
  layers: LayerSource;
  /** repositories on the destination registry that may hold the image's blobs */
  mountFrom: string[];
  /** where the temporary blob directory goes */
  tmpBase: string;
}

export interface PushOutcome {
  /** the pushed manifest's digest */
  digest: string;
  manifest: Buffer;
  mediaType: string;
  configDigest: string;
  /** the stored manifest was pushed byte for byte: its digest is the one it was pulled with */
  preserved: boolean;
  /** layers compressed anew (their blob digests changed) */
  recompressed: number;
}

export interface PushResult extends PushOutcome {
  reference: ImageReference;
}

const DEFAULT_PARALLEL = 3;
const DEFAULT_CHUNK_SIZE = 16 << 20;

interface LayerPlan {
  index: number;
  chainId: string;
  diffId: string;
  /** the blob the layer came as, if known */
  stored?: Descriptor;
}

interface LayerOutcome {
  desc: Descriptor;
  diffId: string;
  recompressed: boolean;
}


/** Runs fn over items, at most `limit` at once; stops starting new ones after a failure and waits for the running ones. */
async function inParallel<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (!failed && next < items.length) {
      const item = items[next++];
      try {
        await fn(item);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  });
  const results = await Promise.allSettled(workers);
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw rejected.reason;
}

function storedManifest(input: PushInput, layerCount: number): { format: ManifestFormat; manifest: ImageManifest } | undefined {
  const format = formatOfMediaType(input.manifestMediaType);
  if (!input.manifest || !format) return undefined;
  try {
    const parsed = parseManifest(input.manifest, input.manifestMediaType ?? undefined);
    if (parsed.kind !== 'manifest' || parsed.manifest.layers.length !== layerCount) return undefined;
    return { format, manifest: parsed.manifest };
  } catch (err) {
    log.debug(`ignoring the stored manifest: ${errorMessage(err)}`);
    return undefined;
  }
}

function layerPlans(input: PushInput, diffIds: string[], stored: ImageManifest | undefined): LayerPlan[] {
  const chains = chainIds(diffIds);
  return diffIds.map((diffId, index) => {
    let desc = stored?.layers[index];
    if (!desc) {
      const row = input.layers.get(chains[index]);
      if (row?.compressedDigest && row.compressedSize !== null && row.mediaType) desc = { mediaType: row.mediaType, digest: row.compressedDigest, size: row.compressedSize };
    }
    return { index, chainId: chains[index], diffId, stored: desc };
  });
}

/** The config with other diff IDs; everything else as it was. */
function withDiffIds(config: Buffer, diffIds: string[]): Buffer {
  const doc = JSON.parse(config.toString('utf8')) as { rootfs: { diff_ids: string[] } };
  doc.rootfs.diff_ids = diffIds;
  return Buffer.from(JSON.stringify(doc));
}

class Pusher {
  private readonly listener: TransferListener;
  private readonly chunkSize: number;

  constructor(
    private readonly client: RegistryClient,
    private readonly repository: string,
    private readonly input: PushInput,
    private readonly format: ManifestFormat,
    private readonly opts: PushOptions,
    private readonly blobs: BlobDir,
  ) {
    this.listener = opts.listener ?? silentListener;
    this.chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  }

  /** The media type the stored blob would have in the target format, when it may be reused. */
  private reusableType(desc: Descriptor): string | undefined {
    if (this.opts.compressionFormat === 'gzip' && layerCompression(desc.mediaType) !== 'gzip') return undefined;
    return layerMediaTypeIn(desc.mediaType, this.format);
  }

  private skipped(what: 'blob' | 'config', desc: Descriptor, how: 'exists' | 'mounted'): void {
    this.listener({ kind: 'blob-start', what, digest: desc.digest, size: desc.size });
    this.listener({ kind: 'blob-done', what, digest: desc.digest, skipped: how });
  }

  /** Uploads bytes from a file or buffer, reporting progress; a blob already there is not sent. */
  private async upload(what: 'blob' | 'config', digest: string, size: number, open: () => Readable): Promise<void> {
    this.listener({ kind: 'blob-start', what, digest, size });
    const counted = () => {
      const source = open();
      const counter = new ProgressCounter((done) => this.listener({ kind: 'blob-progress', digest, done }));
      source.on('error', (err) => counter.destroy(err));
      return source.pipe(counter);
    };
    const result = await this.client.uploadBlob(this.repository, digest, size, counted, { chunkSize: this.chunkSize });
    this.listener({ kind: 'blob-done', what, digest, skipped: result.status === 'exists' ? 'exists' : undefined });
  }

  async layer(plan: LayerPlan): Promise<LayerOutcome> {
    const reuseType = plan.stored && this.reusableType(plan.stored);
    if (plan.stored && reuseType) {
      const desc = { ...plan.stored, mediaType: reuseType };
      if (await blobPresent(this.client, this.repository, desc.digest)) {
        this.skipped('blob', desc, 'exists');
        return { desc, diffId: plan.diffId, recompressed: false };
      }
      for (const from of this.input.mountFrom) {
        if (await mountBlob(this.client, this.repository, desc.digest, from)) {
          this.skipped('blob', desc, 'mounted');
          return { desc, diffId: plan.diffId, recompressed: false };
        }
      }
    }
    const blob = await gzipLayerToFile(this.input.layers.tarLayer(plan.chainId), path.join(this.blobs.dir, `layer-${plan.index}.gz`));
    try {
      // tspod's own gzip of an unchanged tar gives the same blob: the old descriptor stands.
      const same = plan.stored && reuseType && blob.digest === plan.stored.digest;
      const desc: Descriptor = same ? { ...(plan.stored as Descriptor), mediaType: reuseType } : { mediaType: gzipLayerMediaType(this.format), digest: blob.digest, size: blob.size };
      if (blob.diffId !== plan.diffId) log.debug(`layer ${plan.index}: the re-made tar has diff ID ${blob.diffId}, the image says ${plan.diffId}`);
      await this.upload('blob', desc.digest, desc.size, () => fs.createReadStream(blob.file));
      return { desc, diffId: blob.diffId, recompressed: !same };
    } finally {
      await fs.promises.rm(blob.file, { force: true });
    }
  }

  async config(bytes: Buffer, stored: Descriptor | undefined): Promise<Descriptor> {
    const desc: Descriptor = { ...(stored ?? {}), mediaType: configMediaType(this.format), digest: sha256Digest(bytes), size: bytes.length };
    await this.upload('config', desc.digest, desc.size, () => Readable.from([bytes]));
    return desc;
  }
}

/**
 * Pushes an image to `repository` on the client's registry under `reference` (a tag, or the
 * digest the manifest must have; undefined: by whatever digest the written manifest has, as
 * the images of a manifest list are pushed).
 */
export async function pushToRegistry(client: RegistryClient, repository: string, reference: string | undefined, input: PushInput, opts: PushOptions = {}): Promise<PushOutcome> {
  const listener = opts.listener ?? silentListener;
  const config = parseImageConfig(input.config);
  const diffIds = config.rootfs.diff_ids;
  const stored = storedManifest(input, diffIds.length);
  // an image without a manifest may still say which type it wants (build --format)
  const format = opts.format ?? stored?.format ?? formatOfMediaType(input.manifestMediaType) ?? 'oci';
  const blobs = await makeBlobDir(input.tmpBase);
  try {
    const pusher = new Pusher(client, repository, input, format, opts, blobs);
    // One request before any output: an unreachable registry or refused credentials then
    // fail as a single error line, not halfway through the progress.
    await blobPresent(client, repository, sha256Digest(input.config));
    listener({ kind: 'message', text: 'Getting image source signatures' });
    const plans = layerPlans(input, diffIds, stored?.manifest);
    const outcomes: LayerOutcome[] = new Array(plans.length);
    await inParallel(plans, opts.parallel ?? DEFAULT_PARALLEL, async (plan) => {
      outcomes[plan.index] = await pusher.layer(plan);
    });
    const newDiffIds = outcomes.map((o) => o.diffId);
    const configChanged = newDiffIds.some((d, i) => d !== diffIds[i]);
    const configBytes = configChanged ? withDiffIds(input.config, newDiffIds) : input.config;
    const configDesc = await pusher.config(configBytes, stored?.manifest.config);
    const layers = outcomes.map((o) => o.desc);
    const preserved =
      stored !== undefined &&
      stored.format === format &&
      !configChanged &&
      layers.every((d, i) => d.digest === stored.manifest.layers[i].digest && d.mediaType === stored.manifest.layers[i].mediaType);
    const manifest = preserved ? (input.manifest as Buffer) : serializeManifest(format, configDesc, layers, stored?.format === 'oci' ? stored.manifest : {});
    const mediaType = manifestMediaType(format);
    listener({ kind: 'message', text: 'Writing manifest to image destination' });
    const digest = await client.putManifest(repository, reference ?? sha256Digest(manifest), manifest, mediaType);
    return { digest, manifest, mediaType, configDigest: configDesc.digest, preserved, recompressed: outcomes.filter((o) => o.recompressed).length };
  } finally {
    await blobs.remove();
  }
}

const OTHER_TRANSPORTS = ['oci', 'oci-archive', 'dir', 'docker-archive', 'docker-daemon', 'containers-storage', 'ostree', 'sif'];

/**
 * DESTINATION as Podman reads it: an optional `docker://`, other transports refused, a short
 * name on docker.io, `:latest` when neither tag nor digest is given.
 */
export function parseDestination(destination: string): ImageReference {
  let name = destination;
  if (name.startsWith('docker://')) name = name.slice('docker://'.length);
  else {
    const transport = /^([a-z-]+):/.exec(name)?.[1];
    if (transport && OTHER_TRANSPORTS.includes(transport) && !/^[a-z-]+:[\w][\w.-]*$/.test(name)) {
      throw new InvalidArgumentError(`${destination}: pushing to the "${transport}" transport is not supported; push to a registry (docker://HOST/REPOSITORY[:TAG])`);
    }
  }
  const ref = withDefaultTag(parseReference(name, { qualify: true }));
  if (ref.tag !== undefined && ref.digest !== undefined) {
    throw new InvalidArgumentError(`${destination}: a destination with both a tag and a digest is not supported`);
  }
  return ref;
}

/** The name the user meant by `source` (as Podman's resolved name): what DESTINATION defaults to. */
function resolvedName(source: string, image: ImageRecord, engine: Engine): string | undefined {
  let candidates: ImageReference[];
  try {
    candidates = localCandidates(source, engine.config.registries);
  } catch {
    return undefined; // an ID: not a name to push to
  }
  for (const ref of candidates) {
    if (ref.digest !== undefined) {
      if (image.digests.includes(`${repositoryName(ref)}@${ref.digest}`)) return formatReference(ref);
    } else if (image.names.includes(formatReference(ref))) {
      return formatReference(ref);
    }
  }
  return undefined;
}

/**
 * Repositories on the destination's registry that the image was pulled from or is named
 * after (mirrors included, as pulls use them): the places a blob may be mounted from.
 */
export function mountSources(image: ImageRecord, dest: RegistryEndpoint, engine: Engine): string[] {
  const out = new Set<string>();
  for (const name of [...image.digests, ...image.names]) {
    try {
      const ref = parseReference(name);
      if (!ref.registry) continue;
      for (const ep of pullEndpoints(ref, engine.config.registries)) {
        if (ep.host === dest.host && ep.repository && ep.repository !== dest.repository) out.add(ep.repository);
      }
    } catch {
      // a name that no longer parses or a blocked registry: nothing to mount from there
    }
  }
  return [...out];
}

/** `tspod push SOURCE [DESTINATION]`. */
export async function pushImage(engine: Engine, source: string, destination: string | undefined, opts: PushOptions = {}): Promise<PushResult> {
  const image = requireImage(engine.images, source, engine.config.registries);
  const target = destination ?? resolvedName(source, image, engine);
  if (target === undefined) {
    throw new InvalidArgumentError(`${source}: no name to push the image under: give a destination (tspod push ${source} REGISTRY/REPOSITORY[:TAG])`);
  }
  const ref = parseDestination(target);
  const endpoint = pushEndpoint(ref, engine.config.registries, { tlsVerify: opts.tlsVerify });
  const client = new RegistryClient(endpoint, { authStore: opts.authStore, credentials: opts.credentials, ca: opts.ca });
  try {
    const input: PushInput = {
      config: image.config,
      manifest: image.manifest,
      manifestMediaType: image.manifestMediaType,
      layers: await engine.layers(),
      mountFrom: mountSources(image, endpoint, engine),
      // Beside the store, not in the run root: that is usually a tmpfs (memory, and capped
      // at a fraction of it by logind), and a gzipped layer can be large.
      tmpBase: path.join(engine.config.graphRoot, 'tmp'),
    };
    const outcome = await pushToRegistry(client, endpoint.repository, manifestReference(ref), input, opts);
    return { ...outcome, reference: ref };
  } finally {
    client.close();
  }
}
