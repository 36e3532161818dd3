// Pulling an image: resolve the name (short names through the search registries), pick an
// endpoint (mirrors first), fetch the manifest (choosing a platform from an index), then the
// config and the layers. Layers stream from the registry through digest verification and
// decompression straight into the layer store; nothing unverified is ever committed, and the
// image row is written last, so an interrupted pull leaves only layers the next pull reuses.
import { Engine } from '../engine/engine';
import { NotFoundError, TspodError, errorMessage } from '../errors';
import { log } from '../log';
import { LayerStore, readyLayerSize } from '../storage/layer-store';
import { decompressStream } from '../storage/layer-compression';
import { chainIds } from '../storage/chain-id';
import { WORKER_HASH_MIN, prewarmHashWorker } from '../storage/stream-hasher';
import { DigestMismatchError, sha256Digest } from './digest';
import { ImageRecord } from './image-store';
import { Descriptor, ImageConfig, ImageManifest, parseImageConfig, parseManifest, parsePlatform, selectPlatform, hostPlatform } from './manifest';
import { ImageReference, formatReference, manifestReference, repositoryName } from './reference';
import { BlobDownload, RegistryClient } from './registry-client';
import { RegistryEndpoint, pullEndpoints } from './registry-endpoints';
import { UnauthorizedError } from './registry-errors';
import { resolveShortName } from './short-names';
import { ProgressCounter, TransferListener, silentListener } from './transfer-events';
import type { AuthStoreOptions, Credentials } from './auth-store';

export interface PullOptions {
  /** `os/arch[/variant]`; default the host's */
  platform?: string;
  /** --tls-verify: undefined leaves registries.conf in charge */
  tlsVerify?: boolean;
  authStore?: AuthStoreOptions;
  /** --creds user:password */
  credentials?: Credentials;
  listener?: TransferListener;
  /** how many layers download at once */
  parallel?: number;
}

export interface PulledImage {
  image: ImageRecord;
  /** the reference it was pulled as (fully qualified) */
  reference: ImageReference;
}

const DEFAULT_PARALLEL = 4;


interface ResolvedManifest {
  client: RegistryClient;
  endpoint: RegistryEndpoint;
  /** the digest the user's reference names (an index digest for multi-platform images) */
  topDigest: string;
  manifest: ImageManifest;
  manifestBytes: Buffer;
  manifestMediaType: string;
  manifestDigest: string;
}

function clientFor(endpoint: RegistryEndpoint, opts: PullOptions): RegistryClient {
  return new RegistryClient(endpoint, { authStore: opts.authStore, credentials: opts.credentials });
}

/**
 * Runs `fetch` against the endpoints of `ref` (mirrors first, then the origin) until one
 * succeeds; a failing mirror is skipped. The caller closes the returned client.
 */
export async function fromPullEndpoints<T>(
  ref: ImageReference,
  opts: Pick<PullOptions, 'tlsVerify' | 'authStore' | 'credentials'>,
  engine: Engine,
  fetch: (client: RegistryClient, endpoint: RegistryEndpoint) => Promise<T>,
): Promise<{ result: T; client: RegistryClient; endpoint: RegistryEndpoint }> {
  const endpoints = pullEndpoints(ref, engine.config.registries, { tlsVerify: opts.tlsVerify });
  const mirrorErrors: unknown[] = [];
  for (const endpoint of endpoints) {
    const client = clientFor(endpoint, opts);
    try {
      return { result: await fetch(client, endpoint), client, endpoint };
    } catch (err) {
      client.close();
      // A mirror that fails is skipped: the next mirror or the origin may have the image.
      if (endpoint.isMirror) {
        log.debug(`mirror ${endpoint.host} failed for ${formatReference(ref)}: ${errorMessage(err)}`);
        mirrorErrors.push(err);
        continue;
      }
      throw combineErrors(mirrorErrors, err);
    }
  }
  throw new TspodError(`${formatReference(ref)}: no endpoint to pull from`);
}

/** Fetches the manifest from the first endpoint that has it; an index is narrowed to one platform. */
async function resolveManifest(ref: ImageReference, opts: PullOptions, engine: Engine): Promise<ResolvedManifest> {
  const { result, client, endpoint } = await fromPullEndpoints(ref, opts, engine, async (client, endpoint) => {
    const top = await client.getManifest(endpoint.repository, manifestReference(ref));
    let parsed = parseManifest(top.bytes, top.mediaType);
    let chosen = top;
    if (parsed.kind === 'index') {
      const wanted = opts.platform ? parsePlatform(opts.platform) : hostPlatform();
      const desc = selectPlatform(parsed.index, wanted);
      chosen = await client.getManifest(endpoint.repository, desc.digest);
      parsed = parseManifest(chosen.bytes, chosen.mediaType);
      if (parsed.kind !== 'manifest') throw new TspodError(`${formatReference(ref)}: an index points at another index, which is not supported`);
    }
    return { top, chosen, manifest: parsed.manifest, mediaType: parsed.mediaType };
  });
  return {
    client,
    endpoint,
    topDigest: result.top.digest,
    manifest: result.manifest,
    manifestBytes: result.chosen.bytes,
    manifestMediaType: result.mediaType,
    manifestDigest: result.chosen.digest,
  };
}

/**
 * The origin's error, with what the mirrors said before it. "Not found" on a mirror matters
 * more than "cannot connect" to an origin a closed network cannot reach.
 */
function combineErrors(mirrorErrors: unknown[], originError: unknown): unknown {
  if (mirrorErrors.length === 0) return originError;
  const text = [...mirrorErrors, originError].map(errorMessage).filter((m, i, all) => all.indexOf(m) === i).join('; ');
  const notFound = mirrorErrors.some((e) => e instanceof NotFoundError);
  return notFound ? new NotFoundError(text) : new TspodError(text);
}

async function readBlob(client: RegistryClient, repository: string, desc: Descriptor): Promise<Buffer> {
  const blob = await client.getBlob(repository, desc.digest, { expectedSize: desc.size });
  const chunks: Buffer[] = [];
  for await (const chunk of blob.stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

interface LayerFetch {
  desc: Descriptor;
  diffId: string;
  /** chain ID of the layer below */
  parent?: string;
  /** the parent is being stored by this pull: settles when it is */
  parentReady?: Promise<unknown>;
  /** the blob's download, already started */
  prefetched?: Promise<BlobDownload>;
}

function getLayerBlob(resolved: ResolvedManifest, desc: Descriptor): Promise<BlobDownload> {
  return resolved.client.getBlob(resolved.endpoint.repository, desc.digest, { expectedSize: desc.size });
}

async function fetchLayer(resolved: ResolvedManifest, layers: LayerStore, fetch: LayerFetch, listener: TransferListener, signal: AbortSignal): Promise<number> {
  const { desc } = fetch;
  signal.throwIfAborted();
  listener({ kind: 'blob-start', what: 'blob', digest: desc.digest, size: desc.size });
  const blob = await (fetch.prefetched ?? getLayerBlob(resolved, desc));
  // a prefetched download that failed before this took it (its digest, its connection)
  if (blob.stream.errored) throw blob.stream.errored;
  // the HTTP response is released only when its stream ends or is destroyed: whatever putLayer
  // did with ours (read it all, left it unread because the layer is there, failed), end it
  const release = (): void => {
    if (!blob.stream.readableEnded) blob.stream.destroy();
  };
  const onAbort = (): void => {
    blob.stream.destroy(signal.reason instanceof Error ? signal.reason : new TspodError('pull aborted'));
  };
  signal.addEventListener('abort', onAbort, { once: true });
  if (signal.aborted) onAbort();
  try {
    const counter = new ProgressCounter((done) => listener({ kind: 'blob-progress', digest: desc.digest, done }));
    // Errors anywhere in the chain (network, digest, gzip) must reach the extractor.
    const counted = blob.stream.pipe(counter);
    blob.stream.on('error', (err) => counted.destroy(err));
    const tar = decompressStream(counted, desc.mediaType);
    counted.on('error', (err) => tar.destroy(err));
    const record = await layers
      .putLayer({
        parent: fetch.parent,
        parentReady: fetch.parentReady,
        diffId: fetch.diffId,
        compressedDigest: desc.digest,
        compressedSize: desc.size,
        mediaType: desc.mediaType,
        stream: tar,
      })
      .catch((err: unknown) => mismatchBehind(blob.stream, err, signal));
    listener({ kind: 'blob-done', what: 'blob', digest: desc.digest });
    return record.size;
  } finally {
    signal.removeEventListener('abort', onAbort);
    release();
  }
}

/**
 * A blob that is not what its digest says usually fails decompression first ("incorrect header
 * check"), before the digest is known: read the rest of the blob so that the error reported is
 * the one the user can act on (the registry served the wrong content), not gzip's. Rethrows
 * `err` when the content was right, the blob already ended, or the pull was aborted.
 */
async function mismatchBehind(stream: NodeJS.ReadableStream & { readableEnded: boolean; destroyed: boolean; errored?: unknown }, err: unknown, signal: AbortSignal): Promise<never> {
  // On a busy host the blob may already have ended in its digest error before gzip's arrived.
  if (stream.errored instanceof DigestMismatchError) throw stream.errored;
  if (err instanceof DigestMismatchError || stream.readableEnded || stream.destroyed || signal.aborted) throw err;
  const verdict = await new Promise<unknown>((resolve) => {
    stream.once('error', resolve);
    stream.once('end', () => resolve(err));
    stream.unpipe();
    stream.resume();
  });
  throw verdict instanceof DigestMismatchError ? verdict : err;
}

/**
 * Runs fn over items with at most `limit` at once, in order of start. The first failure stops
 * new starts and aborts the running ones (through the signal); once all have settled, the error
 * of the earliest item is thrown: a layer's failure makes the layers above it fail too, and
 * the cause is the one to report.
 */
async function inParallel<T>(items: T[], limit: number, fn: (item: T, index: number, signal: AbortSignal) => Promise<void>): Promise<void> {
  const abort = new AbortController();
  const errors = new Map<number, unknown>();
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (!abort.signal.aborted && next < items.length) {
      const i = next++;
      try {
        await fn(items[i], i, abort.signal);
      } catch (err) {
        errors.set(i, err);
        if (!abort.signal.aborted) abort.abort(err);
      }
    }
  });
  await Promise.all(workers);
  if (errors.size > 0) throw errors.get(Math.min(...errors.keys()));
}

async function storeLayers(resolved: ResolvedManifest, config: ImageConfig, engine: Engine, opts: PullOptions): Promise<{ top: string | null; size: number }> {
  const listener = opts.listener ?? silentListener;
  const descs = resolved.manifest.layers;
  const diffIds = config.rootfs.diff_ids;
  if (descs.length !== diffIds.length) {
    throw new TspodError(`invalid image: the manifest lists ${descs.length} layers but the config ${diffIds.length} diff IDs`);
  }
  const chains = chainIds(diffIds);
  const layersReady = engine.layers();
  layersReady.catch(() => undefined);
  const sizes: number[] = new Array(descs.length).fill(0);
  const missing: number[] = [];
  // which layers are stored is the database's to say: no need to wait for the storage driver
  descs.forEach((desc, i) => {
    const size = readyLayerSize(engine.db, chains[i]);
    if (size !== undefined) {
      sizes[i] = size;
      listener({ kind: 'blob-done', what: 'blob', digest: desc.digest, skipped: 'exists' });
    } else {
      missing.push(i);
    }
  });
  // the worker that hashes big layers starts now, not when their first bytes are there
  if (missing.some((i) => descs[i].size >= WORKER_HASH_MIN)) prewarmHashWorker();
  // The first missing layer (the first to be stored whatever the driver) starts downloading
  // now: on a new store the storage driver's probe runs meanwhile.
  const first = missing.length > 0 ? getLayerBlob(resolved, descs[missing[0]]) : undefined;
  // Until fetchLayer takes it, a failure of the download must not go unheard: a small blob may
  // arrive whole, and fail its digest check, while the store is still getting ready.
  first?.then(
    (blob) => blob.stream.on('error', () => undefined),
    () => undefined,
  );
  let layers: LayerStore;
  try {
    layers = await layersReady;
  } catch (err) {
    first?.then((blob) => blob.stream.destroy(), () => undefined);
    throw err;
  }
  // Overlay layers hold their own files only: every missing layer downloads and extracts at
  // once (up to `parallel`), and each commits once the layer below it is stored (putLayer's
  // parentReady). Layers start bottom first, so the parent of a running layer is always
  // running or done. A vfs layer starts as a copy of its parent: one at a time, in order.
  const copiesParent = (await engine.driver()).copiesParent;
  const parallel = copiesParent ? 1 : Math.max(1, opts.parallel ?? DEFAULT_PARALLEL);
  const stored = new Map<number, Promise<void>>();
  await inParallel(missing, parallel, async (i, _n, signal) => {
    const fetch: LayerFetch = { desc: descs[i], diffId: diffIds[i], parent: i > 0 ? chains[i - 1] : undefined, parentReady: stored.get(i - 1) };
    if (i === missing[0]) fetch.prefetched = first;
    const work = fetchLayer(resolved, layers, fetch, listener, signal).then(
      (size) => {
        sizes[i] = size;
      },
    );
    stored.set(i, work);
    await work;
  });
  return { top: chains.length ? chains[chains.length - 1] : null, size: sizes.reduce((a, b) => a + b, 0) };
}

/** Pulls one fully qualified reference. */
export async function pullReference(engine: Engine, ref: ImageReference, opts: PullOptions = {}): Promise<PulledImage> {
  const listener = opts.listener ?? silentListener;
  const resolving = resolveManifest(ref, opts, engine);
  // The layer store (database, storage driver probe, the layers' directory: tens of ms on a
  // new store) gets ready while the registry answers; storeLayers awaits it, and reports its
  // failure, later.
  engine
    .layers()
    .then((layers) => layers.prepareHome())
    .catch(() => undefined);
  const resolved = await resolving;
  try {
    listener({ kind: 'message', text: 'Getting image source signatures' });
    const configDesc = resolved.manifest.config;
    const configBytes = await readBlob(resolved.client, resolved.endpoint.repository, configDesc);
    const config = parseImageConfig(configBytes);
    const id = sha256Digest(configBytes);
    const { top, size } = await storeLayers(resolved, config, engine, opts);
    listener({ kind: 'blob-done', what: 'config', digest: configDesc.digest });
    listener({ kind: 'message', text: 'Writing manifest to image destination' });
    const repo = repositoryName(ref);
    const names = ref.tag !== undefined && ref.digest === undefined ? [formatReference(ref)] : [];
    const digests = [...new Set([`${repo}@${resolved.topDigest}`, `${repo}@${resolved.manifestDigest}`])];
    const image = engine.images.put(
      {
        id,
        topLayer: top,
        config: configBytes,
        manifest: resolved.manifestBytes,
        manifestMediaType: resolved.manifestMediaType,
        manifestDigest: resolved.manifestDigest,
        size,
        created: config.created ? Date.parse(config.created) || 0 : 0,
      },
      names,
      digests,
    );
    return { image, reference: ref };
  } finally {
    resolved.client.close();
  }
}

/** Errors that mean "not on this registry": the next search registry may have it. */
function tryNextCandidate(err: unknown): boolean {
  return err instanceof NotFoundError || err instanceof UnauthorizedError;
}

/** Pulls `name` as a user typed it: short names try each search registry in order. */
export async function pullImage(engine: Engine, name: string, opts: PullOptions = {}): Promise<PulledImage> {
  const listener = opts.listener ?? silentListener;
  const resolution = resolveShortName(name, engine.config.registries);
  const failures: string[] = [];
  for (const [i, candidate] of resolution.candidates.entries()) {
    listener({ kind: 'message', text: `Trying to pull ${formatReference(candidate)}...` });
    try {
      return await pullReference(engine, candidate, opts);
    } catch (err) {
      const last = i === resolution.candidates.length - 1;
      if (last || !tryNextCandidate(err)) {
        if (failures.length === 0) throw err;
        failures.push(errorMessage(err));
        throw new TspodError(`${name}: image not found in any search registry: ${failures.join('; ')}`);
      }
      failures.push(errorMessage(err));
    }
  }
  throw new NotFoundError(`${name}: no registry to pull from`);
}

/** Pulls every tag of a repository (`pull -a`). */
export async function pullAllTags(engine: Engine, name: string, opts: PullOptions = {}): Promise<PulledImage[]> {
  const resolution = resolveShortName(name, engine.config.registries);
  const ref = resolution.candidates[0];
  if (ref.digest !== undefined || (ref.tag !== undefined && ref.tag !== 'latest' && name.includes(':'))) {
    throw new TspodError(`tag can't be used with --all-tags/-a`);
  }
  const endpoint = pullEndpoints(ref, engine.config.registries, { tlsVerify: opts.tlsVerify }).slice(-1)[0];
  const client = clientFor(endpoint, opts);
  let tags: string[];
  try {
    tags = await client.listTags(endpoint.repository);
  } finally {
    client.close();
  }
  const out: PulledImage[] = [];
  for (const tag of tags) out.push(await pullReference(engine, { registry: ref.registry, repository: ref.repository, tag }, opts));
  return out;
}
