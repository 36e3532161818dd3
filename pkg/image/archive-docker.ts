// Docker's `docker save` archive: `manifest.json` (one item per image: Config, RepoTags, Layers,
// paths inside the tar) and the legacy `repositories` file. Docker ≥ 25 writes its files as an
// OCI layout in the same tar (blobs/sha256/<hex>, index.json, oci-layout) and points
// manifest.json at those blobs: that hybrid is what save writes, and what both `docker load`
// and `podman load` read. Load reads any version: the older `<id>/layer.tar` directories, and
// the layer symlinks skopeo and Podman write, resolve through the archive reader.
//
// Also the containers/image `dir:` layout (Podman's docker-dir): a manifest.json that is a
// v2s2 manifest, blobs named by their hex digest, and a `version` file.
import { InvalidArgumentError } from '../errors';
import { validateDigest, sha256Digest } from './digest';
import { Descriptor, MediaType, parseImageConfig, parseManifest } from './manifest';
import { ImageReference, familiarName, formatReference, parseReference, withDefaultTag } from './reference';
import { MAX_DOCUMENT_SIZE } from './archive-oci';
import type { ArchiveReader, PlannedImage } from './archive-load';

export const DOCKER_MANIFEST_FILE = 'manifest.json';
export const DOCKER_REPOSITORIES_FILE = 'repositories';
export const DIR_VERSION_FILE = 'version';
export const DIR_VERSION_CONTENT = Buffer.from('Directory Transport Version: 1.1\n');
/** containers/image's media type for an uncompressed layer in a v2s2 manifest */
export const DOCKER_LAYER_UNCOMPRESSED = 'application/vnd.docker.image.rootfs.diff.tar';

export interface DockerManifestItem {
  Config: string;
  RepoTags: string[] | null;
  Layers: string[];
  Parent?: string;
  LayerSources?: Record<string, Descriptor>;
}

export interface DockerArchiveImage {
  configPath: string;
  layerPaths: string[];
  /** fully qualified and tagged */
  tags: ImageReference[];
  /** the top layer's diff ID (Docker's `repositories` file names it) */
  topDiffId?: string;
}

/** manifest.json as Docker writes it: familiar names (`busybox:latest`), newline-terminated. */
export function dockerManifestJson(images: DockerArchiveImage[]): Buffer {
  const items: DockerManifestItem[] = images.map((img) => ({
    Config: img.configPath,
    RepoTags: img.tags.map(familiarName),
    Layers: img.layerPaths,
  }));
  return Buffer.from(`${JSON.stringify(items)}\n`);
}

/** The legacy `repositories` file: familiar repository → tag → top layer; undefined without tags. */
export function dockerRepositories(images: DockerArchiveImage[]): Buffer | undefined {
  const repos: Record<string, Record<string, string>> = {};
  for (const img of images) {
    if (!img.topDiffId) continue;
    for (const t of img.tags) {
      if (t.tag === undefined) continue;
      const repo = familiarName({ registry: t.registry, repository: t.repository });
      repos[repo] ??= {};
      repos[repo][t.tag] = validateDigest(img.topDiffId).hex;
    }
  }
  return Object.keys(repos).length ? Buffer.from(`${JSON.stringify(repos)}\n`) : undefined;
}

/** A RepoTags entry as load files it: `busybox:latest` → `docker.io/library/busybox:latest`. */
export function repoTagName(tag: string): string {
  let ref: ImageReference;
  try {
    ref = parseReference(tag, { qualify: true });
  } catch (err) {
    throw new InvalidArgumentError(`invalid RepoTags entry ${JSON.stringify(tag)} in ${DOCKER_MANIFEST_FILE}: ${(err as Error).message}`);
  }
  if (ref.digest !== undefined) throw new InvalidArgumentError(`invalid RepoTags entry ${JSON.stringify(tag)} in ${DOCKER_MANIFEST_FILE}: a digest is not a tag`);
  return formatReference(withDefaultTag(ref));
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

/** Checks manifest.json's shape; the paths it names are checked by the reader. */
export function parseDockerManifest(bytes: Buffer): DockerManifestItem[] {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString());
  } catch (err) {
    throw new InvalidArgumentError(`invalid ${DOCKER_MANIFEST_FILE}: not JSON (${(err as Error).message})`);
  }
  if (!Array.isArray(doc)) throw new InvalidArgumentError(`invalid ${DOCKER_MANIFEST_FILE}: expected a list of images`);
  if (doc.length === 0) throw new InvalidArgumentError(`${DOCKER_MANIFEST_FILE} lists no image`);
  return doc.map((item: unknown, i) => {
    const where = `${DOCKER_MANIFEST_FILE} item ${i}`;
    if (typeof item !== 'object' || item === null) throw new InvalidArgumentError(`invalid ${where}: not an object`);
    const it = item as Record<string, unknown>;
    if (typeof it.Config !== 'string' || it.Config === '') throw new InvalidArgumentError(`invalid ${where}: no Config`);
    if (!isStringArray(it.Layers)) throw new InvalidArgumentError(`invalid ${where}: Layers is not a list of paths`);
    if (it.RepoTags !== undefined && it.RepoTags !== null && !isStringArray(it.RepoTags)) throw new InvalidArgumentError(`invalid ${where}: RepoTags is not a list of names`);
    return { Config: it.Config, Layers: it.Layers, RepoTags: (it.RepoTags as string[] | null | undefined) ?? null };
  });
}

/** Is manifest.json a containers/image `dir:` manifest (one object) rather than Docker's list? */
export function isDirTransportManifest(bytes: Buffer): boolean {
  let i = 0;
  while (i < bytes.length && /\s/.test(String.fromCharCode(bytes[i]))) i++;
  return bytes[i] === 0x7b; // '{'
}

/** Every image of a `docker save` archive, checked, before anything is stored. */
export async function planDockerArchive(reader: ArchiveReader): Promise<PlannedImage[]> {
  const items = parseDockerManifest(await reader.read(DOCKER_MANIFEST_FILE, MAX_DOCUMENT_SIZE));
  const plans: PlannedImage[] = [];
  for (const [i, item] of items.entries()) {
    const source = `${DOCKER_MANIFEST_FILE} item ${i}`;
    const config = await reader.read(reader.resolve(item.Config, `the Config of ${source}`), MAX_DOCUMENT_SIZE);
    const diffIds = parseImageConfig(config).rootfs.diff_ids;
    if (diffIds.length !== item.Layers.length) {
      throw new InvalidArgumentError(`${source} lists ${item.Layers.length} layers but its config ${diffIds.length} diff IDs`);
    }
    const layers = item.Layers.map((p, n) => ({ path: reader.resolve(p, `layer ${n} of ${source}`), diffId: diffIds[n] }));
    const names = [...new Set((item.RepoTags ?? []).map(repoTagName))];
    plans.push({ id: sha256Digest(config), config, layers, names, source });
  }
  return plans;
}

/** A containers/image `dir:` layout (docker-dir or a dir holding an OCI manifest). */
export async function planDirTransport(reader: ArchiveReader): Promise<PlannedImage[]> {
  const manifestBytes = await reader.read(DOCKER_MANIFEST_FILE, MAX_DOCUMENT_SIZE);
  const parsed = parseManifest(manifestBytes);
  if (parsed.kind !== 'manifest') throw new InvalidArgumentError(`${DOCKER_MANIFEST_FILE} of the directory is an index: not supported`);
  const m = parsed.manifest;
  const blob = (d: string): string => validateDigest(d).hex;
  const config = await reader.read(reader.resolve(blob(m.config.digest), 'the config'), MAX_DOCUMENT_SIZE);
  if (sha256Digest(config) !== m.config.digest) throw new InvalidArgumentError(`config ${m.config.digest} in the directory is corrupt`);
  const diffIds = parseImageConfig(config).rootfs.diff_ids;
  if (diffIds.length !== m.layers.length) throw new InvalidArgumentError(`the manifest lists ${m.layers.length} layers but the config ${diffIds.length} diff IDs`);
  const layers = m.layers.map((l, n) => ({
    path: reader.resolve(blob(l.digest), `layer ${n}`),
    diffId: diffIds[n],
    mediaType: l.mediaType === DOCKER_LAYER_UNCOMPRESSED ? MediaType.OCI_LAYER : l.mediaType,
    blobDigest: l.digest,
    blobSize: l.size,
  }));
  return [
    {
      id: sha256Digest(config),
      config,
      layers,
      names: [],
      manifest: { bytes: manifestBytes, mediaType: parsed.mediaType, digest: sha256Digest(manifestBytes) },
      source: 'the directory',
    },
  ];
}
