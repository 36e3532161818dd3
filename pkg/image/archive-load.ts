// Loading image archives (`tspod load`): a docker-archive, an oci-archive, either compressed
// with gzip or zstd, from a file or stdin, or an OCI / dir layout directory.
//
// A tar from stdin cannot be seeked, and a Docker archive may put its layers before the
// manifest.json that says what they are. So a stream (or a compressed file) is first written,
// decompressed, to one temporary file under the graph root; an uncompressed file is used where
// it is. Then only the tar headers are read (an index of names and offsets), and each layer is
// streamed from its byte range straight into the layer store. Nothing is ever extracted by the
// names the archive gives, and every name is checked: an absolute path, a `..`, a symlink
// leading out of the archive, or a manifest naming something outside it refuses the whole
// archive before anything is stored. Layers are verified against their diff IDs (and blob
// digests) by the store, and the image row is written last with the config's exact bytes, so
// the image ID is the one the archive was saved with.
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { Engine } from '../engine/engine';
import { InvalidArgumentError } from '../errors';
import { chainId } from '../storage/chain-id';
import { decompressStream } from '../storage/layer-extract';
import { DigestMismatchError, DigestVerifier } from './digest';
import { ImageRecord } from './image-store';
import { parseImageConfig } from './manifest';
import { TransferListener, silentListener } from './transfer-events';
import { DOCKER_MANIFEST_FILE, isDirTransportManifest, planDirTransport, planDockerArchive } from './archive-docker';
import { OCI_INDEX_FILE, planOciLayout } from './archive-oci';
import { ArchiveInput, ArchiveReader, openInput } from './archive-reader';
import { ScratchDir, makeScratchDir } from '../storage/scratch-dir';

export type { ArchiveReader } from './archive-reader';
export { DirReader, TarFileReader, UnsafeArchiveError, archivePath, decompressArchive, indexTar } from './archive-reader';

export interface PlannedLayer {
  /** resolved name in the archive */
  path: string;
  diffId: string;
  /** the blob's media type (OCI layouts); undefined: sniffed */
  mediaType?: string;
  /** the blob digest and size to verify (OCI layouts) */
  blobDigest?: string;
  blobSize?: number;
}

export interface PlannedImage {
  id: string;
  config: Buffer;
  layers: PlannedLayer[];
  /** fully qualified names */
  names: string[];
  manifest?: { bytes: Buffer; mediaType: string; digest: string };
  /** where in the archive it came from, for messages */
  source: string;
}

/** A private scratch directory under the graph root, for spooled archives and layers. */
export type { ScratchDir };

/** `<graphRoot>/tmp/archive-<pid>-<hex>` for what a load or save must spool. */
export function makeArchiveScratch(graphRoot: string): Promise<ScratchDir> {
  return makeScratchDir(path.join(graphRoot, 'tmp'), 'archive');
}

export interface LoadOptions extends ArchiveInput {
  listener?: TransferListener;
}

/** Which layout the archive has, and every image in it, checked. */
export async function planArchive(reader: ArchiveReader): Promise<PlannedImage[]> {
  if (reader.has(DOCKER_MANIFEST_FILE)) {
    const bytes = await reader.read(DOCKER_MANIFEST_FILE, 1 << 20);
    return isDirTransportManifest(bytes) ? planDirTransport(reader) : planDockerArchive(reader);
  }
  if (reader.has(OCI_INDEX_FILE)) return planOciLayout(reader);
  throw new InvalidArgumentError(`the input is neither a docker-archive nor an oci-archive: it holds no ${DOCKER_MANIFEST_FILE} or ${OCI_INDEX_FILE}`);
}

/**
 * Hands a stream to a consumer that attaches its listeners later (putLayer awaits directory
 * set-up first): read through an async iterator, an error the stream hit before then (a small
 * blob whose digest check fails at its end) still reaches the consumer instead of being lost,
 * which would leave it waiting forever.
 */
export function deferErrors(stream: Readable): Readable {
  return Readable.from(
    (async function* () {
      yield* stream;
    })(),
    { objectMode: false },
  );
}

/** A layer's tar from the archive: blob digest verified (OCI), decompressed by type or sniffing. */
function layerStream(reader: ArchiveReader, layer: PlannedLayer): Readable {
  const raw = reader.open(layer.path);
  let source: Readable = raw;
  if (layer.blobDigest !== undefined) {
    const verifier = new DigestVerifier(layer.blobDigest, { expectedSize: layer.blobSize, what: 'layer blob' });
    raw.on('error', (err) => verifier.destroy(err));
    source = raw.pipe(verifier);
  }
  const tar = decompressStream(source, layer.mediaType);
  source.on('error', (err) => tar.destroy(err));
  return deferErrors(tar);
}

function short(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

/** Stores one planned image: layers bottom up, then the image row. */
async function storeImage(engine: Engine, reader: ArchiveReader, plan: PlannedImage, listener: TransferListener): Promise<ImageRecord> {
  const layers = await engine.layers();
  let parent: string | undefined;
  let size = 0;
  // A layer refused halfway leaves the ones below it stored but unused, as an interrupted
  // pull does: gc removes them after its grace period, and a retry reuses them.
  for (const [n, layer] of plan.layers.entries()) {
    const id = chainId(parent, layer.diffId);
    const label = layer.blobDigest ?? layer.diffId;
    const have = layers.get(id);
    if (have?.state === 'ready') {
      listener({ kind: 'blob-done', what: 'blob', digest: label, skipped: 'exists' });
      size += have.size;
    } else {
      listener({ kind: 'message', text: `Copying blob ${short(label)}` });
      let record;
      try {
        record = await layers.putLayer({
          parent,
          diffId: layer.diffId,
          compressedDigest: layer.blobDigest,
          compressedSize: layer.blobSize,
          mediaType: layer.mediaType,
          stream: layerStream(reader, layer),
        });
      } catch (err) {
        if (err instanceof DigestMismatchError) throw new InvalidArgumentError(`refusing archive: layer ${n} of ${plan.source} is corrupt: ${err.message}`);
        throw err;
      }
      size += record.size;
    }
    parent = id;
  }
  listener({ kind: 'message', text: `Copying config ${short(plan.id)} done` });
  listener({ kind: 'message', text: 'Writing manifest to image destination' });
  const config = parseImageConfig(plan.config);
  return engine.images.put(
    {
      id: plan.id,
      topLayer: parent ?? null,
      config: plan.config,
      manifest: plan.manifest?.bytes,
      manifestMediaType: plan.manifest?.mediaType,
      manifestDigest: plan.manifest?.digest,
      size,
      created: config.created ? Date.parse(config.created) || 0 : 0,
    },
    plan.names,
  );
}

export interface LoadedImage {
  image: ImageRecord;
  /** the names the archive gave it (empty: untagged) */
  names: string[];
}

/** Loads every image of an archive; `onLoaded` hears of each as soon as it is stored. */
export async function loadArchive(engine: Engine, opts: LoadOptions, onLoaded?: (loaded: LoadedImage) => void): Promise<LoadedImage[]> {
  const listener = opts.listener ?? silentListener;
  const scratch = await makeArchiveScratch(engine.config.graphRoot);
  try {
    const reader = await openInput(opts, scratch);
    const plans = await planArchive(reader);
    listener({ kind: 'message', text: 'Getting image source signatures' });
    const out: LoadedImage[] = [];
    for (const plan of plans) {
      const loaded = { image: await storeImage(engine, reader, plan, listener), names: plan.names };
      onLoaded?.(loaded);
      out.push(loaded);
    }
    return out;
  } finally {
    await scratch.remove();
  }
}
