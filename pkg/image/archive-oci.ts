// The OCI image layout (image-spec image-layout.md) as save writes it and load reads it:
// `oci-layout`, `index.json` naming each image with an `org.opencontainers.image.ref.name`
// annotation, and `blobs/<algorithm>/<hex>`. Docker ≥ 25 writes the same files into its
// `docker save` tar, so the builders here serve both archive formats.
//
// Names follow Podman: save writes the full name in ref.name (`docker.io/library/busybox:latest`),
// and load takes containerd's `io.containerd.image.name` first, then ref.name, and files a name
// without a registry under localhost/ (`mytag` → `localhost/mytag:latest`).
import { InvalidArgumentError } from '../errors';
import { log } from '../log';
import { sha256Digest, validateDigest } from './digest';
import { Descriptor, ImageManifest, MediaType, isIndexMediaType, parseImageConfig, parseManifest, selectPlatform } from './manifest';
import { ImageReference, formatReference, parseReference, qualifyReference, withDefaultTag } from './reference';
import type { ArchiveReader, PlannedImage } from './archive-load';

export const OCI_LAYOUT_FILE = 'oci-layout';
export const OCI_INDEX_FILE = 'index.json';
export const OCI_LAYOUT_CONTENT = Buffer.from('{"imageLayoutVersion":"1.0.0"}');
export const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name';
export const ANNOTATION_CONTAINERD_NAME = 'io.containerd.image.name';

/** JSON documents (manifests, configs, index) larger than this are refused as hostile. */
export const MAX_DOCUMENT_SIZE = 32 << 20;

/** `blobs/sha256/<hex>` for a digest. */
export function blobPath(digest: string): string {
  const { algorithm, hex } = validateDigest(digest);
  return `blobs/${algorithm}/${hex}`;
}

export interface Blob {
  digest: string;
  size: number;
  bytes: Buffer;
}

export function jsonBlob(doc: unknown): Blob {
  const bytes = Buffer.from(JSON.stringify(doc));
  return { digest: sha256Digest(bytes), size: bytes.length, bytes };
}

export interface LayerDescriptorInput {
  digest: string;
  size: number;
  mediaType: string;
}

/** An OCI image manifest for a stored config and the layer blobs written beside it. */
export function ociManifest(config: { digest: string; size: number }, layers: LayerDescriptorInput[]): Blob {
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.OCI_MANIFEST,
    config: { mediaType: MediaType.OCI_CONFIG, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
  return jsonBlob(manifest);
}

export interface IndexEntry {
  manifest: Blob;
  annotations?: Record<string, string>;
  platform?: { architecture: string; os: string; variant?: string };
}

export function ociIndex(entries: IndexEntry[]): Buffer {
  const manifests: Descriptor[] = entries.map((e) => {
    const d: Descriptor = { mediaType: MediaType.OCI_MANIFEST, digest: e.manifest.digest, size: e.manifest.size };
    if (e.annotations && Object.keys(e.annotations).length) d.annotations = e.annotations;
    if (e.platform) d.platform = e.platform;
    return d;
  });
  return Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OCI_INDEX, manifests }));
}

/**
 * Podman's NormalizeName: a name without a registry goes under localhost/, docker.io names
 * get library/, and a name without tag or digest gets :latest.
 */
export function localImageName(name: string): ImageReference {
  const ref = parseReference(name);
  const qualified = ref.registry === '' ? qualifyReference(ref, 'localhost') : ref;
  // tag and digest together: the digest is what identifies the image
  if (qualified.tag !== undefined && qualified.digest !== undefined) delete qualified.tag;
  return withDefaultTag(qualified);
}

/** The name an index entry gives its image, or undefined (an unnamed image). */
export function nameFromAnnotations(annotations: Record<string, string> | undefined): string | undefined {
  const raw = annotations?.[ANNOTATION_CONTAINERD_NAME] || annotations?.[ANNOTATION_REF_NAME];
  if (!raw) return undefined;
  try {
    return formatReference(localImageName(raw));
  } catch (err) {
    throw new InvalidArgumentError(`invalid image name ${JSON.stringify(raw)} in ${OCI_INDEX_FILE}: ${(err as Error).message}`);
  }
}

/** Reads a JSON blob of the layout and checks it against its descriptor. */
async function readBlob(reader: ArchiveReader, desc: Descriptor, what: string): Promise<Buffer> {
  if (desc.size > MAX_DOCUMENT_SIZE) throw new InvalidArgumentError(`${what} ${desc.digest} is ${desc.size} bytes: too large for a JSON document`);
  const bytes = await reader.read(blobPath(desc.digest), MAX_DOCUMENT_SIZE);
  const actual = sha256Digest(bytes);
  if (desc.digest.startsWith('sha256:') && actual !== desc.digest) {
    throw new InvalidArgumentError(`${what} ${desc.digest} in the archive is corrupt: its content hashes to ${actual}`);
  }
  if (bytes.length !== desc.size) throw new InvalidArgumentError(`${what} ${desc.digest} in the archive is ${bytes.length} bytes, the descriptor says ${desc.size}`);
  return bytes;
}

function isImageConfigType(mediaType: string): boolean {
  return mediaType === MediaType.OCI_CONFIG || mediaType === MediaType.DOCKER_CONFIG;
}

/** One image of the layout: its manifest (an index entry for another platform is narrowed). */
async function planEntry(reader: ArchiveReader, top: Descriptor): Promise<PlannedImage | undefined> {
  let desc = top;
  if (isIndexMediaType(desc.mediaType)) {
    const parsed = parseManifest(await readBlob(reader, desc, 'image index'), desc.mediaType);
    if (parsed.kind !== 'index') throw new InvalidArgumentError(`${desc.digest} is not an image index`);
    desc = selectPlatform(parsed.index);
  }
  const manifestBytes = await readBlob(reader, desc, 'manifest');
  const parsed = parseManifest(manifestBytes, desc.mediaType);
  if (parsed.kind !== 'manifest') throw new InvalidArgumentError(`manifest ${desc.digest}: an index inside an index is not supported`);
  const manifest = parsed.manifest;
  if (!isImageConfigType(manifest.config.mediaType)) {
    log.warn(`skipping ${desc.digest} in ${OCI_INDEX_FILE}: not an image (config media type ${manifest.config.mediaType})`);
    return undefined;
  }
  const config = await readBlob(reader, manifest.config, 'config');
  const diffIds = parseImageConfig(config).rootfs.diff_ids;
  if (diffIds.length !== manifest.layers.length) {
    throw new InvalidArgumentError(`manifest ${desc.digest} lists ${manifest.layers.length} layers but its config ${diffIds.length} diff IDs`);
  }
  const layers = manifest.layers.map((l, i) => {
    const p = blobPath(l.digest);
    reader.resolve(p, `layer ${l.digest} of manifest ${desc.digest}`);
    return { path: p, diffId: diffIds[i], mediaType: l.mediaType, blobDigest: l.digest, blobSize: l.size };
  });
  return {
    id: sha256Digest(config),
    config,
    layers,
    names: [],
    manifest: { bytes: manifestBytes, mediaType: parsed.mediaType, digest: desc.digest },
    source: `${OCI_INDEX_FILE} entry ${top.digest}`,
  };
}

/** Everything an OCI layout holds, checked, before anything is stored. */
export async function planOciLayout(reader: ArchiveReader): Promise<PlannedImage[]> {
  if (reader.has(OCI_LAYOUT_FILE)) {
    let version: unknown;
    try {
      version = (JSON.parse((await reader.read(OCI_LAYOUT_FILE, 4096)).toString()) as { imageLayoutVersion?: unknown }).imageLayoutVersion;
    } catch {
      throw new InvalidArgumentError(`invalid ${OCI_LAYOUT_FILE} file: not JSON`);
    }
    if (typeof version !== 'string' || !version.startsWith('1.')) throw new InvalidArgumentError(`unsupported OCI layout version ${JSON.stringify(version)}`);
  }
  const parsed = parseManifest(await reader.read(OCI_INDEX_FILE, MAX_DOCUMENT_SIZE), MediaType.OCI_INDEX);
  if (parsed.kind !== 'index') throw new InvalidArgumentError(`${OCI_INDEX_FILE} is not an image index`);
  const byManifest = new Map<string, PlannedImage>();
  for (const desc of parsed.index.manifests) {
    const name = nameFromAnnotations(desc.annotations);
    let image = byManifest.get(desc.digest);
    if (!image) {
      image = await planEntry(reader, desc);
      if (!image) continue;
      byManifest.set(desc.digest, image);
    }
    if (name && !image.names.includes(name)) image.names.push(name);
  }
  if (byManifest.size === 0) throw new InvalidArgumentError(`${OCI_INDEX_FILE} names no image`);
  return [...byManifest.values()];
}
