// Local manifest lists (`tspod manifest create/add/annotate/inspect/rm/exists`), stored as
// Podman stores them: an image whose manifest is an index. The list image has no layers and
// a placeholder config; its manifest is the list document, and extra.manifestList records,
// per instance digest, the local image or the remote repository the instance comes from, so
// `manifest push` can copy it. Rendering follows containers/image: Docker's manifest list by
// default, an OCI index once asked for (or when pushing with --format oci).
import { randomBytes } from 'node:crypto';
import { Engine } from '../engine/engine';
import { InvalidArgumentError, NotFoundError } from '../errors';
import { sha256Digest } from './digest';
import { findImage } from './image-lookup';
import { ImageRecord } from './image-store';
import { Descriptor, MediaType, Platform, parseImageConfig, parseManifest } from './manifest';
import { ManifestFormat, serializeManifest } from './manifest-format';
import { fromPullEndpoints, pullReference } from './image-pull';
import { hostPlatform, selectPlatform } from './platform';
import { manifestReference, parseReference, repositoryName } from './reference';
import { normalizeTagName } from './image-tag';
import { resolveShortName } from './short-names';
import type { AuthStoreOptions, Credentials } from './auth-store';

export interface InstanceSource {
  /** A local image ID. */
  image?: string;
  /** A fully qualified repository (`docker.io/library/busybox`) the instance can be fetched from. */
  repository?: string;
}

export interface ManifestListState {
  mediaType: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
  sources: Record<string, InstanceSource>;
}

export interface RegistryAccess {
  tlsVerify?: boolean;
  credentials?: Credentials;
  authStore?: AuthStoreOptions;
}

/** Platform and annotations a user sets on an instance (`--arch`, `--os`, `--annotation`, ...). */
export interface InstanceOptions {
  arch?: string;
  os?: string;
  variant?: string;
  osVersion?: string;
  osFeatures?: string[];
  features?: string[];
  annotations?: Record<string, string>;
}

export interface AddOptions extends InstanceOptions, RegistryAccess {
  /** Every instance of an image that is itself a list, not just the host's. */
  all?: boolean;
}

const PLACEHOLDER_CONFIG = Buffer.from(JSON.stringify({ architecture: '', os: '', config: {}, rootfs: { type: 'layers', diff_ids: [] } }));

export function isManifestList(image: ImageRecord): boolean {
  return image.manifestMediaType === MediaType.DOCKER_LIST || image.manifestMediaType === MediaType.OCI_INDEX
    ? typeof image.extra.manifestList === 'object'
    : false;
}

/** The list's state from its image record. */
export function listState(image: ImageRecord): ManifestListState {
  const parsed = parseManifest(image.manifest as Buffer, image.manifestMediaType ?? undefined);
  if (parsed.kind !== 'index') throw new InvalidArgumentError(`${image.names[0] ?? image.id} is not a manifest list`);
  const extra = image.extra.manifestList as { sources?: Record<string, InstanceSource> };
  return { mediaType: parsed.mediaType, manifests: parsed.index.manifests, annotations: parsed.index.annotations, sources: extra.sources ?? {} };
}

function platformFields(p: Platform): Platform {
  const out: Platform = { architecture: p.architecture, os: p.os };
  if (p['os.version']) out['os.version'] = p['os.version'];
  if (p['os.features']?.length) out['os.features'] = p['os.features'];
  if (p.variant) out.variant = p.variant;
  if (p.features?.length) out.features = p.features;
  return out;
}

/**
 * The list document in `format`: Docker's manifest list (descriptor fields in Docker's order,
 * annotations kept as Podman shows them) or an OCI index.
 */
export function renderList(state: Pick<ManifestListState, 'manifests' | 'annotations'>, format: ManifestFormat, forPush = false): Buffer {
  const docker = format === 'v2s2';
  const manifests = state.manifests.map((d) => {
    const out: Record<string, unknown> = docker ? { mediaType: d.mediaType, size: d.size, digest: d.digest } : { mediaType: d.mediaType, digest: d.digest, size: d.size };
    if (d.urls?.length) out.urls = d.urls;
    if (d.platform) out.platform = platformFields(d.platform);
    if (d.annotations && Object.keys(d.annotations).length && !(docker && forPush)) out.annotations = d.annotations;
    return out;
  });
  const doc: Record<string, unknown> = { schemaVersion: 2, mediaType: docker ? MediaType.DOCKER_LIST : MediaType.OCI_INDEX, manifests };
  if (!docker && state.annotations && Object.keys(state.annotations).length) doc.annotations = state.annotations;
  return Buffer.from(JSON.stringify(doc));
}

export function listFormat(mediaType: string): ManifestFormat {
  return mediaType === MediaType.OCI_INDEX ? 'oci' : 'v2s2';
}

function save(engine: Engine, image: ImageRecord, state: ManifestListState): void {
  const bytes = renderList(state, listFormat(state.mediaType));
  engine.images.updateManifest(image.id, bytes, state.mediaType, sha256Digest(bytes), { ...image.extra, manifestList: { sources: state.sources } });
}

/** The local list called `name`; a NotFoundError when there is none, an error when `name` is a plain image. */
export function requireList(engine: Engine, name: string): ImageRecord {
  const image = findImage(engine.images, name, engine.config.registries);
  if (!image) throw new NotFoundError(`${name}: manifest list not known locally: create it with tspod manifest create ${name}`);
  if (!isManifestList(image)) throw new InvalidArgumentError(`${name} is an image, not a manifest list`);
  return image;
}

/** `manifest create LIST`: an empty list (the caller adds the images). Refuses a name in use. */
export function createList(engine: Engine, name: string): ImageRecord {
  let full: string;
  try {
    full = normalizeTagName(name);
  } catch (err) {
    throw new InvalidArgumentError(`invalid manifest list name "${name}": ${(err as Error).message}`);
  }
  if (engine.images.byName(full)) throw new InvalidArgumentError(`${name}: an image or manifest list with this name already exists: remove it or choose another name`);
  const empty = renderList({ manifests: [] }, 'v2s2');
  return engine.images.put(
    {
      id: `sha256:${randomBytes(32).toString('hex')}`,
      topLayer: null,
      config: PLACEHOLDER_CONFIG,
      manifest: empty,
      manifestMediaType: MediaType.DOCKER_LIST,
      manifestDigest: sha256Digest(empty),
      size: 0,
      created: Date.now(),
      extra: { manifestList: { sources: {} } },
    },
    [full],
  );
}

function applyInstanceOptions(desc: Descriptor, opts: InstanceOptions): Descriptor {
  const platform: Platform = { ...(desc.platform ?? { architecture: '', os: '' }) };
  if (opts.arch !== undefined) platform.architecture = opts.arch;
  if (opts.os !== undefined) platform.os = opts.os;
  if (opts.variant !== undefined) platform.variant = opts.variant;
  if (opts.osVersion !== undefined) platform['os.version'] = opts.osVersion;
  if (opts.osFeatures !== undefined) platform['os.features'] = opts.osFeatures;
  if (opts.features !== undefined) platform.features = opts.features;
  const annotations = { ...(desc.annotations ?? {}), ...(opts.annotations ?? {}) };
  const out: Descriptor = { ...desc, platform: platformFields(platform) };
  if (Object.keys(annotations).length) out.annotations = annotations;
  return out;
}

function configPlatform(config: Buffer): Platform {
  const c = parseImageConfig(config);
  return platformFields({ architecture: c.architecture, os: c.os, variant: c.variant, 'os.version': c['os.version'], 'os.features': c['os.features'] });
}

/** A local image's instance: its stored manifest, or (never pushed, never pulled) one describing its layers as they are. */
function localInstance(image: ImageRecord): Descriptor {
  if (image.manifest && image.manifestDigest && image.manifestMediaType && parseManifest(image.manifest, image.manifestMediaType).kind === 'manifest') {
    return { mediaType: image.manifestMediaType, digest: image.manifestDigest, size: image.manifest.length, platform: configPlatform(image.config) };
  }
  // `manifest push` writes the real manifest (with compressed layers) and records its digest.
  const diffIds = parseImageConfig(image.config).rootfs.diff_ids;
  const bytes = serializeManifest(
    'oci',
    { mediaType: MediaType.OCI_CONFIG, digest: image.id, size: image.config.length },
    diffIds.map((d) => ({ mediaType: MediaType.OCI_LAYER, digest: d, size: 0 })),
  );
  return { mediaType: MediaType.OCI_MANIFEST, digest: sha256Digest(bytes), size: bytes.length, platform: configPlatform(image.config) };
}

interface Resolved {
  instances: { desc: Descriptor; source: InstanceSource }[];
}

/** `name` as Podman reads an image argument: `docker://` remote, `containers-storage:` local, else local first. */
async function resolveInstances(engine: Engine, name: string, opts: AddOptions): Promise<Resolved> {
  let remoteName = name;
  if (name.startsWith('containers-storage:')) {
    const local = findImage(engine.images, name.slice('containers-storage:'.length), engine.config.registries);
    if (!local) throw new NotFoundError(`${name}: image not known`);
    return localResolved(local);
  }
  if (name.startsWith('docker://')) remoteName = name.slice('docker://'.length);
  else {
    const local = findImage(engine.images, name, engine.config.registries);
    if (local) return localResolved(local);
  }
  return remoteResolved(engine, remoteName, opts);
}

function localResolved(image: ImageRecord): Resolved {
  if (isManifestList(image)) {
    const state = listState(image);
    return { instances: state.manifests.map((desc) => ({ desc, source: state.sources[desc.digest] ?? {} })) };
  }
  return { instances: [{ desc: localInstance(image), source: { image: image.id } }] };
}

async function remoteResolved(engine: Engine, name: string, opts: AddOptions): Promise<Resolved> {
  const ref = resolveShortName(name, engine.config.registries).candidates[0];
  const repository = repositoryName(ref);
  const { result, client } = await fromPullEndpoints(ref, opts, engine, async (client, endpoint) => {
    const top = await client.getManifest(endpoint.repository, manifestReference(ref));
    const parsed = parseManifest(top.bytes, top.mediaType);
    if (parsed.kind === 'index') {
      const chosen = opts.all ? parsed.index.manifests : [selectPlatform(parsed.index, hostPlatform())];
      return chosen.map((d) => ({ desc: { mediaType: d.mediaType, digest: d.digest, size: d.size, ...(d.platform ? { platform: platformFields(d.platform) } : {}), ...(d.annotations ? { annotations: d.annotations } : {}) } }));
    }
    const config = await client.getBlob(endpoint.repository, parsed.manifest.config.digest, { expectedSize: parsed.manifest.config.size });
    const chunks: Buffer[] = [];
    for await (const c of config.stream) chunks.push(c as Buffer);
    return [{ desc: { mediaType: parsed.mediaType, digest: top.digest, size: top.bytes.length, platform: configPlatform(Buffer.concat(chunks)) } }];
  });
  client.close();
  return { instances: result.map((r) => ({ desc: r.desc as Descriptor, source: { repository } })) };
}

/** `manifest add LIST IMAGE` (and the images of `manifest create`): returns the list's ID. */
export async function addToList(engine: Engine, listNameArg: string, imageName: string, opts: AddOptions = {}): Promise<string> {
  const list = requireList(engine, listNameArg);
  const { instances } = await resolveInstances(engine, imageName, opts);
  const state = listState(requireList(engine, listNameArg)); // re-read: the lookup above may have been slow
  // As Podman: the platform and annotation flags apply to the first instance added.
  instances.forEach(({ desc, source }, i) => {
    const entry = i === 0 ? applyInstanceOptions(desc, opts) : desc;
    state.manifests = state.manifests.filter((m) => m.digest !== entry.digest);
    state.manifests.push(entry);
    state.sources[entry.digest] = source;
  });
  save(engine, list, state);
  return list.id;
}

/** `manifest annotate LIST INSTANCE` (an instance digest or an image whose manifest is in the list); `index` annotates the list itself. */
export function annotateList(engine: Engine, listNameArg: string, instance: string | undefined, opts: InstanceOptions, index = false): string {
  const list = requireList(engine, listNameArg);
  const state = listState(list);
  if (index) {
    state.annotations = { ...(state.annotations ?? {}), ...(opts.annotations ?? {}) };
    state.mediaType = MediaType.OCI_INDEX; // only an OCI index carries annotations of its own
    save(engine, list, state);
    return list.id;
  }
  if (instance === undefined) throw new InvalidArgumentError('manifest annotate needs the instance: a digest from tspod manifest inspect, or an image in the list');
  let digest = instance;
  if (!/^sha256:[0-9a-f]{64}$/.test(instance)) {
    const image = findImage(engine.images, instance, engine.config.registries);
    digest = image ? (Object.entries(state.sources).find(([, s]) => s.image === image.id)?.[0] ?? image.manifestDigest ?? '') : '';
  }
  const at = state.manifests.findIndex((m) => m.digest === digest);
  if (at < 0) throw new NotFoundError(`${instance}: no such instance in manifest list ${listNameArg} (see tspod manifest inspect ${listNameArg})`);
  state.manifests[at] = applyInstanceOptions(state.manifests[at], opts);
  save(engine, list, state);
  return list.id;
}

/** `manifest remove LIST DIGEST`: drops one instance. */
export function removeFromList(engine: Engine, listNameArg: string, digest: string): string {
  const list = requireList(engine, listNameArg);
  const state = listState(list);
  const before = state.manifests.length;
  state.manifests = state.manifests.filter((m) => m.digest !== digest);
  if (state.manifests.length === before) throw new NotFoundError(`${digest}: no such instance in manifest list ${listNameArg}`);
  delete state.sources[digest];
  save(engine, list, state);
  return list.id;
}

/** The document `manifest inspect` prints for a local list, a local image, or a remote reference. */
export async function inspectManifest(engine: Engine, name: string, access: RegistryAccess = {}): Promise<unknown> {
  const local = name.startsWith('docker://') ? undefined : findImage(engine.images, name, engine.config.registries);
  if (local && isManifestList(local)) return JSON.parse((local.manifest as Buffer).toString('utf8'));
  const remote = name.replace(/^docker:\/\//, '');
  const ref = resolveShortName(remote, engine.config.registries).candidates[0];
  const { result, client } = await fromPullEndpoints(ref, access, engine, (client, endpoint) => client.getManifest(endpoint.repository, manifestReference(ref)));
  client.close();
  return JSON.parse(result.bytes.toString('utf8'));
}

/**
 * The image `run`/`create` use for a manifest list, as Podman does: the instance for this
 * host's platform, a local image when it was added from one, else pulled by its digest.
 */
export async function imageForPlatform(engine: Engine, list: ImageRecord, access: RegistryAccess = {}): Promise<ImageRecord> {
  const state = listState(list);
  const chosen = selectPlatform({ schemaVersion: 2, manifests: state.manifests }, hostPlatform());
  const source = state.sources[chosen.digest] ?? {};
  const local = source.image ? engine.images.get(source.image) : undefined;
  if (local) return local;
  if (!source.repository) throw new NotFoundError(`${list.names[0] ?? list.id}: the image of instance ${chosen.digest} is no longer stored: add it to the list again`);
  return (await pullReference(engine, { ...parseReference(source.repository), tag: undefined, digest: chosen.digest }, access)).image;
}
