// Saving images (`tspod save`) as a docker-archive, an oci-archive, an OCI layout directory
// (oci-dir) or a containers/image dir: layout (docker-dir).
//
// The config goes out with its exact stored bytes, and every layer as the uncompressed tar the
// layer store gives back (LayerStore.tarLayer), so the archive's config digest, and with it the
// image ID, are the ones the image has here. That only holds if each layer tar hashes to the
// diff ID the config announces: each one is written to a scratch file while it is hashed (a
// tar entry needs its size up front anyway), checked, and only then copied into the archive.
// A mismatch fails the save loudly instead of writing an archive that contradicts its config.
// One layer is on disk at a time; nothing is held in memory but the JSON documents.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import * as tar from 'tar-stream';
import { Engine } from '../engine/engine';
import { InvalidArgumentError, TspodError } from '../errors';
import { LayerStore } from '../storage/layer-store';
import { chainIds } from '../storage/chain-id';
import { sha256Digest } from './digest';
import { ImageRecord } from './image-store';
import { requireImage } from './image-lookup';
import { ImageConfig, MediaType, parseImageConfig } from './manifest';
import { ImageReference, formatReference } from './reference';
import { localCandidates } from './short-names';
import { TransferListener, silentListener } from './transfer-events';
import {
  DIR_VERSION_CONTENT,
  DIR_VERSION_FILE,
  DOCKER_LAYER_UNCOMPRESSED,
  DOCKER_MANIFEST_FILE,
  DOCKER_REPOSITORIES_FILE,
  DockerArchiveImage,
  dockerManifestJson,
  dockerRepositories,
} from './archive-docker';
import {
  ANNOTATION_CONTAINERD_NAME,
  ANNOTATION_REF_NAME,
  IndexEntry,
  LayerDescriptorInput,
  OCI_INDEX_FILE,
  OCI_LAYOUT_CONTENT,
  OCI_LAYOUT_FILE,
  blobPath,
  jsonBlob,
  ociIndex,
  ociManifest,
} from './archive-oci';
import { ScratchDir, makeArchiveScratch } from './archive-load';
import { HashTap } from './digest';

export const ARCHIVE_FORMATS = ['docker-archive', 'oci-archive', 'oci-dir', 'docker-dir'] as const;
export type ArchiveFormat = (typeof ARCHIVE_FORMATS)[number];

export function isDirFormat(format: ArchiveFormat): boolean {
  return format === 'oci-dir' || format === 'docker-dir';
}

export interface SaveOptions {
  format: ArchiveFormat;
  /** -o: the archive file, or the directory of a dir format */
  output?: string;
  /** where an archive goes without -o */
  stdout?: Writable;
  /** gzip the layers (dir formats only, as Podman) */
  compress?: boolean;
  listener?: TransferListener;
}

/** The layer store gave back a tar that does not hash to the image's diff ID. */
export class LayerReproductionError extends TspodError {}

interface SaveTarget {
  image: ImageRecord;
  config: ImageConfig;
  /** the names the user saved it by, fully qualified and tagged */
  tags: ImageReference[];
  diffIds: string[];
  chains: string[];
}

const FULL_ID = /^(sha256:)?[0-9a-f]{64}$/;

/** The name `arg` found `image` by, if it was a tagged name (an ID or a digest names no tag). */
function matchedTag(arg: string, image: ImageRecord, engine: Engine): ImageReference | undefined {
  if (FULL_ID.test(arg)) return undefined;
  let candidates: ImageReference[];
  try {
    candidates = localCandidates(arg, engine.config.registries);
  } catch {
    return undefined;
  }
  for (const c of candidates) {
    if (c.digest !== undefined) return undefined;
    if (image.names.includes(formatReference(c))) return c;
  }
  return undefined;
}

/** Each image once, with every name it was asked for, in the order first asked. */
export function resolveSaveTargets(engine: Engine, names: string[]): SaveTarget[] {
  const byId = new Map<string, SaveTarget>();
  for (const arg of names) {
    const image = requireImage(engine.images, arg, engine.config.registries);
    let target = byId.get(image.id);
    if (!target) {
      const config = parseImageConfig(image.config);
      const diffIds = config.rootfs.diff_ids;
      target = { image, config, tags: [], diffIds, chains: chainIds(diffIds) };
      byId.set(image.id, target);
    }
    const tag = matchedTag(arg, image, engine);
    if (tag && !target.tags.some((t) => formatReference(t) === formatReference(tag))) target.tags.push(tag);
  }
  return [...byId.values()];
}

// --- layers ------------------------------------------------------------------------------------

interface SpooledBlob {
  file: string;
  digest: string;
  size: number;
  mediaType: string;
}

/** Writes a layer's tar to the scratch dir and checks it against the diff ID. */
async function spoolLayer(layers: LayerStore, target: SaveTarget, index: number, scratch: ScratchDir): Promise<SpooledBlob> {
  const diffId = target.diffIds[index];
  const file = path.join(scratch.dir, `layer-${index}-${diffId.slice(7, 19)}.tar`);
  const tap = new HashTap();
  await pipeline(layers.tarLayer(target.chains[index]), tap, fs.createWriteStream(file, { flags: 'w', mode: 0o600 }));
  const digest = tap.digest();
  if (digest !== diffId) {
    await fs.promises.rm(file, { force: true });
    const name = target.image.names[0] ?? target.image.id;
    throw new LayerReproductionError(
      `cannot save ${name}: layer ${index} reads back from the layer store as a tar with digest ${digest}, but the image's config says ${diffId}; ` +
        `an archive with it would not match its own config (the layer store does not reproduce this layer's original tar)`,
    );
  }
  return { file, digest, size: tap.bytes, mediaType: MediaType.OCI_LAYER };
}

/** gzips a spooled layer into a second scratch file (the dir formats' --compress). */
async function compressBlob(blob: SpooledBlob): Promise<SpooledBlob> {
  const file = `${blob.file}.gz`;
  const tap = new HashTap();
  await pipeline(fs.createReadStream(blob.file), zlib.createGzip(), tap, fs.createWriteStream(file, { mode: 0o600 }));
  await fs.promises.rm(blob.file, { force: true });
  return { file, digest: tap.digest(), size: tap.bytes, mediaType: MediaType.OCI_LAYER_GZIP };
}

// --- where the files go ------------------------------------------------------------------------

interface ArchiveSink {
  dir(name: string): Promise<void>;
  bytes(name: string, data: Buffer): Promise<void>;
  file(name: string, source: string, size: number): Promise<void>;
  finish(): Promise<void>;
}

const EPOCH = new Date(0);

/** A tar written to a stream; entries get fixed owners and times, so archives are reproducible. */
class TarSink implements ArchiveSink {
  private readonly pack = tar.pack();
  private readonly done: Promise<void>;
  private readonly failed: Promise<never>;

  constructor(out: Writable, endOutput: boolean) {
    if (endOutput) {
      this.done = pipeline(this.pack as unknown as NodeJS.ReadableStream, out);
    } else {
      this.done = new Promise<void>((resolve, reject) => {
        const pack = this.pack as unknown as NodeJS.ReadableStream;
        pack.on('end', resolve);
        pack.on('error', reject);
        out.on('error', reject);
        pack.pipe(out, { end: false });
      });
    }
    this.failed = this.done.then(
      () => new Promise<never>(() => undefined),
      (err: unknown) => Promise.reject(err),
    );
    this.failed.catch(() => undefined);
  }

  private entry(header: Partial<tar.Header> & Pick<tar.Header, 'name'>, data?: Buffer): Promise<void> {
    const written = new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null): void => (err ? reject(err) : resolve());
      if (data !== undefined) this.pack.entry(header, data, cb);
      else this.pack.entry(header, cb);
    });
    return Promise.race([written, this.failed]);
  }

  dir(name: string): Promise<void> {
    return this.entry({ name: `${name}/`, type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: EPOCH });
  }

  bytes(name: string, data: Buffer): Promise<void> {
    return this.entry({ name, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: EPOCH, size: data.length }, data);
  }

  async file(name: string, source: string, size: number): Promise<void> {
    let cb: (err?: Error | null) => void = () => undefined;
    const written = new Promise<void>((resolve, reject) => {
      cb = (err) => (err ? reject(err) : resolve());
    });
    const sink = this.pack.entry({ name, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: EPOCH, size }, cb);
    const copy = (async () => {
      let total = 0;
      for await (const chunk of fs.createReadStream(source, { highWaterMark: 1 << 20 })) {
        total += (chunk as Buffer).length;
        if (!sink.write(chunk as Buffer)) await new Promise<void>((resolve) => sink.once('drain', () => resolve()));
      }
      if (total !== size) throw new TspodError(`${source} changed while it was being archived`);
      (sink as unknown as { end(): void }).end();
    })();
    await Promise.race([Promise.all([copy, written]), this.failed]);
  }

  async finish(): Promise<void> {
    this.pack.finalize();
    await this.done;
  }
}

/** Files in a directory (oci-dir, docker-dir). */
class DirSink implements ArchiveSink {
  constructor(private readonly root: string) {}

  async dir(name: string): Promise<void> {
    await fs.promises.mkdir(path.join(this.root, name), { recursive: true, mode: 0o755 });
  }

  async bytes(name: string, data: Buffer): Promise<void> {
    await fs.promises.writeFile(path.join(this.root, name), data, { mode: 0o644 });
  }

  async file(name: string, source: string): Promise<void> {
    await fs.promises.copyFile(source, path.join(this.root, name), fs.constants.COPYFILE_FICLONE);
    await fs.promises.chmod(path.join(this.root, name), 0o644);
  }

  async finish(): Promise<void> {
    // nothing buffered
  }
}

// --- the formats -------------------------------------------------------------------------------

interface WrittenLayers {
  /** diff ID → the blob written for it */
  blobs: Map<string, LayerDescriptorInput>;
}

/** Every distinct layer once, verified; `nameOf` places a blob, `compress` gzips it first. */
async function writeLayers(
  sink: ArchiveSink,
  targets: SaveTarget[],
  layers: LayerStore,
  scratch: ScratchDir,
  listener: TransferListener,
  nameOf: (digest: string) => string,
  compress: boolean,
): Promise<WrittenLayers> {
  const blobs = new Map<string, LayerDescriptorInput>();
  for (const target of targets) {
    for (const [i, diffId] of target.diffIds.entries()) {
      if (blobs.has(diffId)) continue;
      listener({ kind: 'blob-start', what: 'blob', digest: diffId, size: 0 });
      let blob = await spoolLayer(layers, target, i, scratch);
      if (compress) blob = await compressBlob(blob);
      await sink.file(nameOf(blob.digest), blob.file, blob.size);
      await fs.promises.rm(blob.file, { force: true });
      blobs.set(diffId, { digest: blob.digest, size: blob.size, mediaType: blob.mediaType });
      listener({ kind: 'blob-done', what: 'blob', digest: diffId });
    }
  }
  return { blobs };
}

function platformOf(config: ImageConfig): IndexEntry['platform'] {
  const p: NonNullable<IndexEntry['platform']> = { architecture: config.architecture, os: config.os };
  if (config.variant) p.variant = config.variant;
  return p;
}

/** Configs and OCI manifests into blobs/; returns each target's manifest. */
async function writeImageBlobs(sink: ArchiveSink, targets: SaveTarget[], written: WrittenLayers, listener: TransferListener): Promise<ReturnType<typeof ociManifest>[]> {
  const manifests = [];
  const seen = new Set<string>();
  for (const t of targets) {
    const configDigest = sha256Digest(t.image.config);
    if (configDigest !== t.image.id) throw new TspodError(`image ${t.image.id}: its stored config hashes to ${configDigest}`);
    if (!seen.has(configDigest)) {
      await sink.bytes(blobPath(configDigest), t.image.config);
      listener({ kind: 'message', text: `Copying config ${configDigest.slice(7, 19)} done` });
    }
    const layers = t.diffIds.map((d) => written.blobs.get(d) as LayerDescriptorInput);
    const manifest = ociManifest({ digest: configDigest, size: t.image.config.length }, layers);
    if (!seen.has(manifest.digest)) await sink.bytes(blobPath(manifest.digest), manifest.bytes);
    seen.add(configDigest).add(manifest.digest);
    manifests.push(manifest);
  }
  return manifests;
}

async function writeLayoutStart(sink: ArchiveSink): Promise<void> {
  await sink.bytes(OCI_LAYOUT_FILE, OCI_LAYOUT_CONTENT);
  await sink.dir('blobs');
  await sink.dir('blobs/sha256');
}

/** oci-archive / oci-dir: index entries named with the full name, as Podman writes them. */
async function writeOci(sink: ArchiveSink, targets: SaveTarget[], layers: LayerStore, scratch: ScratchDir, listener: TransferListener, compress: boolean): Promise<void> {
  await writeLayoutStart(sink);
  const written = await writeLayers(sink, targets, layers, scratch, listener, blobPath, compress);
  const manifests = await writeImageBlobs(sink, targets, written, listener);
  const entries: IndexEntry[] = [];
  targets.forEach((t, i) => {
    const platform = platformOf(t.config);
    if (t.tags.length === 0) entries.push({ manifest: manifests[i], platform });
    for (const tag of t.tags) entries.push({ manifest: manifests[i], platform, annotations: { [ANNOTATION_REF_NAME]: formatReference(tag) } });
  });
  listener({ kind: 'message', text: 'Writing manifest to image destination' });
  await sink.bytes(OCI_INDEX_FILE, ociIndex(entries));
}

/** docker-archive: Docker ≥ 25's layout, manifest.json pointing into the OCI blobs. */
async function writeDocker(sink: ArchiveSink, targets: SaveTarget[], layers: LayerStore, scratch: ScratchDir, listener: TransferListener): Promise<void> {
  await writeLayoutStart(sink);
  const written = await writeLayers(sink, targets, layers, scratch, listener, blobPath, false);
  const manifests = await writeImageBlobs(sink, targets, written, listener);
  const entries: IndexEntry[] = [];
  const items: DockerArchiveImage[] = targets.map((t, i) => {
    const platform = platformOf(t.config);
    if (t.tags.length === 0) entries.push({ manifest: manifests[i], platform });
    for (const tag of t.tags) {
      // Docker's annotations: containerd's full name, and the bare tag as ref.name
      entries.push({ manifest: manifests[i], platform, annotations: { [ANNOTATION_CONTAINERD_NAME]: formatReference(tag), [ANNOTATION_REF_NAME]: tag.tag ?? 'latest' } });
    }
    return {
      configPath: blobPath(t.image.id),
      layerPaths: t.diffIds.map((d) => blobPath((written.blobs.get(d) as LayerDescriptorInput).digest)),
      tags: t.tags,
      topDiffId: t.diffIds[t.diffIds.length - 1],
    };
  });
  listener({ kind: 'message', text: 'Writing manifest to image destination' });
  await sink.bytes(OCI_INDEX_FILE, ociIndex(entries));
  await sink.bytes(DOCKER_MANIFEST_FILE, dockerManifestJson(items));
  const repositories = dockerRepositories(items);
  if (repositories) await sink.bytes(DOCKER_REPOSITORIES_FILE, repositories);
}

/** docker-dir: containers/image's dir: layout, one image, blobs named by their hex digest. */
async function writeDockerDir(sink: ArchiveSink, targets: SaveTarget[], layers: LayerStore, scratch: ScratchDir, listener: TransferListener, compress: boolean): Promise<void> {
  if (targets.length !== 1) throw new InvalidArgumentError('the docker-dir format holds one image: save the others into separate directories');
  const t = targets[0];
  const hex = (d: string): string => d.slice(d.indexOf(':') + 1);
  const written = await writeLayers(sink, targets, layers, scratch, listener, hex, compress);
  await sink.bytes(hex(t.image.id), t.image.config);
  const manifest = jsonBlob({
    schemaVersion: 2,
    mediaType: MediaType.DOCKER_MANIFEST,
    config: { mediaType: MediaType.DOCKER_CONFIG, size: t.image.config.length, digest: t.image.id },
    layers: t.diffIds.map((d) => {
      const b = written.blobs.get(d) as LayerDescriptorInput;
      return { mediaType: b.mediaType === MediaType.OCI_LAYER_GZIP ? MediaType.DOCKER_LAYER_GZIP : DOCKER_LAYER_UNCOMPRESSED, size: b.size, digest: b.digest };
    }),
  });
  listener({ kind: 'message', text: 'Writing manifest to image destination' });
  await sink.bytes(DOCKER_MANIFEST_FILE, manifest.bytes);
  await sink.bytes(DIR_VERSION_FILE, DIR_VERSION_CONTENT);
}

async function writeFormat(sink: ArchiveSink, targets: SaveTarget[], engine: Engine, scratch: ScratchDir, opts: SaveOptions): Promise<void> {
  const layers = await engine.layers();
  const listener = opts.listener ?? silentListener;
  listener({ kind: 'message', text: 'Getting image source signatures' });
  switch (opts.format) {
    case 'docker-archive':
      return writeDocker(sink, targets, layers, scratch, listener);
    case 'oci-archive':
    case 'oci-dir':
      return writeOci(sink, targets, layers, scratch, listener, !!opts.compress && opts.format === 'oci-dir');
    case 'docker-dir':
      return writeDockerDir(sink, targets, layers, scratch, listener, !!opts.compress);
  }
}

/** Prepares an output directory: created, or existing and empty. Returns whether we made it. */
async function prepareDir(dir: string): Promise<boolean> {
  try {
    const names = await fs.promises.readdir(dir);
    if (names.length > 0) throw new InvalidArgumentError(`${dir} already exists and is not empty: save into a new or empty directory`);
    return false;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOTDIR') throw new InvalidArgumentError(`${dir} exists and is not a directory`);
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await fs.promises.mkdir(dir, { recursive: true, mode: 0o755 });
  return true;
}

async function saveToDir(dir: string, targets: SaveTarget[], engine: Engine, scratch: ScratchDir, opts: SaveOptions): Promise<void> {
  const created = await prepareDir(dir);
  try {
    await writeFormat(new DirSink(dir), targets, engine, scratch, opts);
  } catch (err) {
    if (created) await fs.promises.rm(dir, { recursive: true, force: true });
    else for (const name of await fs.promises.readdir(dir).catch(() => [] as string[])) await fs.promises.rm(path.join(dir, name), { recursive: true, force: true });
    throw err;
  }
}

/**
 * An archive file is written under a temporary name beside it and renamed when complete, so a
 * failed save never leaves a truncated archive under the name; a device or fifo is written as is.
 */
async function saveToFile(file: string, targets: SaveTarget[], engine: Engine, scratch: ScratchDir, opts: SaveOptions): Promise<void> {
  const st = await fs.promises.stat(file).catch(() => undefined);
  if (st?.isDirectory()) throw new InvalidArgumentError(`${file} is a directory: give a file name for the archive`);
  const direct = st !== undefined && !st.isFile();
  const tmp = direct ? file : path.join(path.dirname(file), `.${path.basename(file)}.tmp-${process.pid}`);
  const out = fs.createWriteStream(tmp, { flags: direct ? 'w' : 'wx', mode: 0o644 });
  try {
    const sink = new TarSink(out, true);
    await writeFormat(sink, targets, engine, scratch, opts);
    await sink.finish();
    if (!direct) await fs.promises.rename(tmp, file);
  } catch (err) {
    out.destroy();
    if (!direct) await fs.promises.rm(tmp, { force: true });
    throw err;
  }
}

/** Saves the named images in one archive (or directory). */
export async function saveImages(engine: Engine, names: string[], opts: SaveOptions): Promise<void> {
  if (names.length === 0) throw new InvalidArgumentError('no image to save: name at least one');
  const targets = resolveSaveTargets(engine, names);
  if (opts.compress && !isDirFormat(opts.format)) throw new InvalidArgumentError('--compress can only be used with the oci-dir and docker-dir formats');
  const scratch = await makeArchiveScratch(engine.config.graphRoot);
  try {
    if (isDirFormat(opts.format)) {
      if (!opts.output) throw new InvalidArgumentError(`the ${opts.format} format writes a directory: name it with -o`);
      await saveToDir(opts.output, targets, engine, scratch, opts);
    } else if (opts.output) {
      await saveToFile(opts.output, targets, engine, scratch, opts);
    } else {
      const out = opts.stdout ?? process.stdout;
      const sink = new TarSink(out, false);
      await writeFormat(sink, targets, engine, scratch, opts);
      await sink.finish();
    }
  } finally {
    await scratch.remove();
  }
}


