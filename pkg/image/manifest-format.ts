// The two manifest formats a push can write (`--format oci|v2s2`) and the conversion between
// them: the same config and layer blobs, other media types. Serialisation is compact JSON in
// the field order of the Go structs containers/image marshals, so a manifest tspod writes
// looks like one Podman writes. Only what the target format can express survives: Docker
// schema 2 has no annotations, subject or artifactType, and no zstd layers.
import { InvalidArgumentError } from '../errors';
import { Descriptor, ImageManifest, MediaType, layerCompression } from './manifest';

export type ManifestFormat = 'oci' | 'v2s2';

const DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar';

/** `--format`: Podman's names; `docker` is accepted as Docker's own word for v2s2. */
export function parseManifestFormat(value: string): ManifestFormat {
  const v = value.trim().toLowerCase();
  if (v === 'oci') return 'oci';
  if (v === 'v2s2' || v === 'docker') return 'v2s2';
  if (v === 'v2s1') throw new InvalidArgumentError('manifest format v2s1 (Docker schema 1) is deprecated and not supported: use oci or v2s2');
  throw new InvalidArgumentError(`unknown manifest format "${value}": use oci or v2s2`);
}

/** The format a manifest media type belongs to; undefined for anything else (indexes, schema 1). */
export function formatOfMediaType(mediaType: string | null | undefined): ManifestFormat | undefined {
  if (mediaType === MediaType.OCI_MANIFEST) return 'oci';
  if (mediaType === MediaType.DOCKER_MANIFEST) return 'v2s2';
  return undefined;
}

export function manifestMediaType(format: ManifestFormat): string {
  return format === 'oci' ? MediaType.OCI_MANIFEST : MediaType.DOCKER_MANIFEST;
}

export function configMediaType(format: ManifestFormat): string {
  return format === 'oci' ? MediaType.OCI_CONFIG : MediaType.DOCKER_CONFIG;
}

/** The media type of a freshly gzipped layer. */
export function gzipLayerMediaType(format: ManifestFormat): string {
  return format === 'oci' ? MediaType.OCI_LAYER_GZIP : MediaType.DOCKER_LAYER_GZIP;
}

const TO_OCI: Record<string, string> = {
  [MediaType.DOCKER_LAYER_GZIP]: MediaType.OCI_LAYER_GZIP,
  [MediaType.DOCKER_FOREIGN_LAYER_GZIP]: MediaType.OCI_LAYER_NONDIST_GZIP,
  [DOCKER_LAYER]: MediaType.OCI_LAYER,
};

const TO_DOCKER: Record<string, string> = {
  [MediaType.OCI_LAYER_GZIP]: MediaType.DOCKER_LAYER_GZIP,
  [MediaType.OCI_LAYER_NONDIST_GZIP]: MediaType.DOCKER_FOREIGN_LAYER_GZIP,
  [MediaType.OCI_LAYER]: DOCKER_LAYER,
};

/**
 * What an existing layer blob is called in `format`, or undefined when the format cannot
 * carry it (zstd in Docker schema 2, unknown types): such a layer must be compressed anew.
 */
export function layerMediaTypeIn(mediaType: string, format: ManifestFormat): string | undefined {
  if (format === 'oci') {
    if (TO_OCI[mediaType]) return TO_OCI[mediaType];
    return layerCompression(mediaType) !== undefined && mediaType.startsWith('application/vnd.oci.') ? mediaType : undefined;
  }
  if (TO_DOCKER[mediaType]) return TO_DOCKER[mediaType];
  return mediaType === MediaType.DOCKER_LAYER_GZIP || mediaType === MediaType.DOCKER_FOREIGN_LAYER_GZIP || mediaType === DOCKER_LAYER ? mediaType : undefined;
}

/** Fields an OCI manifest may carry beyond config and layers. */
export type ManifestExtras = Pick<ImageManifest, 'annotations' | 'subject' | 'artifactType'>;

function ociDescriptor(d: Descriptor): Descriptor {
  const out: Descriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  if (d.urls?.length) out.urls = d.urls;
  if (d.annotations && Object.keys(d.annotations).length) out.annotations = d.annotations;
  if (d.data !== undefined) out.data = d.data;
  if (d.artifactType !== undefined) out.artifactType = d.artifactType;
  return out;
}

/** Docker's descriptor puts size before digest and knows only urls besides. */
function dockerDescriptor(d: Descriptor): Record<string, unknown> {
  const out: Record<string, unknown> = { mediaType: d.mediaType, size: d.size, digest: d.digest };
  if (d.urls?.length) out.urls = d.urls;
  return out;
}

/**
 * The manifest bytes for `format`. Descriptors must already carry the target format's media
 * types (layerMediaTypeIn / configMediaType).
 */
export function serializeManifest(format: ManifestFormat, config: Descriptor, layers: Descriptor[], extras: ManifestExtras = {}): Buffer {
  if (format === 'v2s2') {
    return Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.DOCKER_MANIFEST,
        config: dockerDescriptor(config),
        layers: layers.map(dockerDescriptor),
      }),
    );
  }
  const doc: Record<string, unknown> = { schemaVersion: 2, mediaType: MediaType.OCI_MANIFEST };
  if (extras.artifactType !== undefined) doc.artifactType = extras.artifactType;
  doc.config = ociDescriptor(config);
  doc.layers = layers.map(ociDescriptor);
  if (extras.subject !== undefined) doc.subject = ociDescriptor(extras.subject);
  if (extras.annotations && Object.keys(extras.annotations).length) doc.annotations = extras.annotations;
  return Buffer.from(JSON.stringify(doc));
}
