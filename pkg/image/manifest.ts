// The JSON documents a registry serves and an image carries: OCI image manifest and index,
// Docker schema 2 manifest and manifest list, and the image config. These types are the
// contract between the registry client, the layer store, build, save/load and inspect.
// Field names are the wire names, so a parsed document can be re-serialised unchanged — but
// never re-serialise to push: the exact bytes carry the digest.
import { InvalidArgumentError } from '../errors';
import { isDigest } from './digest';

export const MediaType = {
  OCI_MANIFEST: 'application/vnd.oci.image.manifest.v1+json',
  OCI_INDEX: 'application/vnd.oci.image.index.v1+json',
  OCI_CONFIG: 'application/vnd.oci.image.config.v1+json',
  OCI_LAYER: 'application/vnd.oci.image.layer.v1.tar',
  OCI_LAYER_GZIP: 'application/vnd.oci.image.layer.v1.tar+gzip',
  OCI_LAYER_ZSTD: 'application/vnd.oci.image.layer.v1.tar+zstd',
  OCI_LAYER_NONDIST: 'application/vnd.oci.image.layer.nondistributable.v1.tar',
  OCI_LAYER_NONDIST_GZIP: 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  OCI_LAYER_NONDIST_ZSTD: 'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
  OCI_EMPTY: 'application/vnd.oci.empty.v1+json',
  DOCKER_MANIFEST: 'application/vnd.docker.distribution.manifest.v2+json',
  DOCKER_LIST: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DOCKER_CONFIG: 'application/vnd.docker.container.image.v1+json',
  DOCKER_LAYER_GZIP: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  DOCKER_FOREIGN_LAYER_GZIP: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  DOCKER_SCHEMA1: 'application/vnd.docker.distribution.manifest.v1+json',
  DOCKER_SCHEMA1_SIGNED: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

/** Accept header for manifest requests: every type we can read, most capable first. */
export const MANIFEST_ACCEPT = [MediaType.OCI_INDEX, MediaType.OCI_MANIFEST, MediaType.DOCKER_LIST, MediaType.DOCKER_MANIFEST].join(', ');

export interface Platform {
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
  /** reserved by the OCI spec; Docker lists used it for CPU features */
  features?: string[];
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  /** only in index entries */
  platform?: Platform;
  artifactType?: string;
  /** base64 of the content, embedded (OCI 1.1) */
  data?: string;
}

/** An OCI image manifest or a Docker schema 2 manifest: the two share this shape. */
export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** An OCI image index or a Docker manifest list. */
export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  manifests: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** Docker's HealthConfig; durations are nanoseconds, 0 meaning "inherit". */
export interface HealthConfig {
  /** ["NONE"], ["CMD", args...], ["CMD-SHELL", command] */
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

/** What a container made from the image runs with (the `config` field of the image config). */
export interface ContainerConfig {
  User?: string;
  /** keys "80/tcp"; values are always {} */
  ExposedPorts?: Record<string, Record<string, never>>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  /** keys are paths; values are always {} */
  Volumes?: Record<string, Record<string, never>>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  /** Docker's; seconds */
  StopTimeout?: number;
  ArgsEscaped?: boolean;
  Healthcheck?: HealthConfig;
  Shell?: string[];
  OnBuild?: string[] | null;
  // Docker writes these into container_config; OCI has none of them.
  Hostname?: string;
  Domainname?: string;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  Image?: string;
  NetworkDisabled?: boolean;
  MacAddress?: string;
  /** deprecated OCI resource hints */
  Memory?: number;
  MemorySwap?: number;
  CpuShares?: number;
}

export interface HistoryEntry {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  /** true when the step made no layer (ENV, CMD, ...) */
  empty_layer?: boolean;
}

export interface RootFs {
  type: 'layers';
  /** digests of the uncompressed layer tars, bottom first */
  diff_ids: string[];
}

/** The image configuration blob (OCI image-spec config.md; Docker image spec v1.2). */
export interface ImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
  config?: ContainerConfig | null;
  rootfs: RootFs;
  history?: HistoryEntry[];
  // Docker-only fields, kept so inspect can show them and save/load round-trips.
  id?: string;
  parent?: string;
  comment?: string;
  container?: string;
  container_config?: ContainerConfig;
  docker_version?: string;
}

export type ParsedManifest =
  | { kind: 'manifest'; mediaType: string; manifest: ImageManifest }
  | { kind: 'index'; mediaType: string; index: ImageIndex };

const INDEX_TYPES: readonly string[] = [MediaType.OCI_INDEX, MediaType.DOCKER_LIST];
const MANIFEST_TYPES: readonly string[] = [MediaType.OCI_MANIFEST, MediaType.DOCKER_MANIFEST];

export function isIndexMediaType(mediaType: string): boolean {
  return INDEX_TYPES.includes(mediaType);
}

export function isManifestMediaType(mediaType: string): boolean {
  return MANIFEST_TYPES.includes(mediaType);
}

export type LayerCompression = 'none' | 'gzip' | 'zstd';

/** How a layer blob is compressed, from its media type; undefined for non-layer types. */
export function layerCompression(mediaType: string): LayerCompression | undefined {
  switch (mediaType) {
    case MediaType.OCI_LAYER:
    case MediaType.OCI_LAYER_NONDIST:
      return 'none';
    case MediaType.OCI_LAYER_GZIP:
    case MediaType.OCI_LAYER_NONDIST_GZIP:
    case MediaType.DOCKER_LAYER_GZIP:
    case MediaType.DOCKER_FOREIGN_LAYER_GZIP:
      return 'gzip';
    case MediaType.OCI_LAYER_ZSTD:
    case MediaType.OCI_LAYER_NONDIST_ZSTD:
      return 'zstd';
    default:
      return undefined;
  }
}

type Json = Record<string, unknown>;

function bad(what: string): InvalidArgumentError {
  return new InvalidArgumentError(`invalid manifest: ${what}`);
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkDescriptor(v: unknown, where: string): Descriptor {
  if (!isObject(v)) throw bad(`${where} is not an object`);
  if (typeof v.mediaType !== 'string' || v.mediaType === '') throw bad(`${where} has no mediaType`);
  if (typeof v.digest !== 'string' || !isDigest(v.digest)) throw bad(`${where} has an invalid digest ${JSON.stringify(v.digest)}`);
  if (typeof v.size !== 'number' || !Number.isSafeInteger(v.size) || v.size < 0) throw bad(`${where} has an invalid size`);
  if (v.platform !== undefined) {
    const p = v.platform;
    if (!isObject(p) || typeof p.os !== 'string' || typeof p.architecture !== 'string') throw bad(`${where} has an invalid platform`);
  }
  return v as unknown as Descriptor;
}

/** Which kind of document this is: the body's mediaType, else the header, else its shape. */
function detectMediaType(doc: Json, header: string | undefined): string {
  const header0 = header?.split(';')[0].trim();
  if (typeof doc.mediaType === 'string' && doc.mediaType) return doc.mediaType;
  if (header0 && (isIndexMediaType(header0) || isManifestMediaType(header0))) return header0;
  if (doc.schemaVersion === 1) return MediaType.DOCKER_SCHEMA1;
  if (Array.isArray(doc.manifests)) return MediaType.OCI_INDEX;
  if (isObject(doc.config) && doc.config.mediaType === MediaType.DOCKER_CONFIG) return MediaType.DOCKER_MANIFEST;
  return MediaType.OCI_MANIFEST;
}

/** Parses and checks a manifest or index; `mediaTypeHeader` is the response's Content-Type. */
export function parseManifest(bytes: Buffer | string, mediaTypeHeader?: string): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString());
  } catch (err) {
    throw bad(`not JSON (${(err as Error).message})`);
  }
  if (!isObject(doc)) throw bad('not a JSON object');
  const mediaType = detectMediaType(doc, mediaTypeHeader);
  if (mediaType === MediaType.DOCKER_SCHEMA1 || mediaType === MediaType.DOCKER_SCHEMA1_SIGNED) {
    throw new InvalidArgumentError('unsupported manifest: Docker schema 1 is deprecated and not supported; push the image again with a current client');
  }
  if (doc.schemaVersion !== 2) throw bad(`schemaVersion ${JSON.stringify(doc.schemaVersion)}, expected 2`);
  if (isIndexMediaType(mediaType)) {
    if (!Array.isArray(doc.manifests)) throw bad('an index without "manifests"');
    doc.manifests.forEach((m, i) => checkDescriptor(m, `manifests[${i}]`));
    return { kind: 'index', mediaType, index: doc as unknown as ImageIndex };
  }
  if (!isManifestMediaType(mediaType)) throw new InvalidArgumentError(`unsupported manifest media type "${mediaType}"`);
  checkDescriptor(doc.config, 'config');
  if (!Array.isArray(doc.layers)) throw bad('a manifest without "layers"');
  doc.layers.forEach((l, i) => checkDescriptor(l, `layers[${i}]`));
  return { kind: 'manifest', mediaType, manifest: doc as unknown as ImageManifest };
}

/** Parses and checks an image config blob: the fields everything downstream relies on. */
export function parseImageConfig(bytes: Buffer | string): ImageConfig {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString());
  } catch (err) {
    throw new InvalidArgumentError(`invalid image config: not JSON (${(err as Error).message})`);
  }
  if (!isObject(doc)) throw new InvalidArgumentError('invalid image config: not a JSON object');
  const rootfs = doc.rootfs;
  if (!isObject(rootfs) || !Array.isArray(rootfs.diff_ids) || !rootfs.diff_ids.every((d) => typeof d === 'string' && isDigest(d))) {
    throw new InvalidArgumentError('invalid image config: rootfs.diff_ids is missing or holds an invalid digest');
  }
  if (doc.config !== undefined && doc.config !== null && !isObject(doc.config)) throw new InvalidArgumentError('invalid image config: "config" is not an object');
  if (doc.history !== undefined && !Array.isArray(doc.history)) throw new InvalidArgumentError('invalid image config: "history" is not a list');
  return doc as unknown as ImageConfig;
}

export { hostPlatform, parsePlatform, selectPlatform, formatPlatform, normalizePlatform } from './platform';
