// A layer made into a blob again for a push: the layer tar is gzipped into a temporary file
// while both its digests are computed in the same pass (the compressed one names the blob,
// the uncompressed one is the diff ID). The blob is streamed to disk, never held in memory,
// and uploaded from the file afterwards: a monolithic upload must know digest and size
// before its first byte, and a retried upload needs the same bytes again.
import * as fs from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { makeScratchDir } from '../storage/scratch-dir';
import { HashTap } from './digest';

export interface LayerBlob {
  /** the gzipped blob on disk */
  file: string;
  /** sha256 of the gzipped bytes */
  digest: string;
  size: number;
  /** sha256 of the tar: the layer's diff ID as this tar has it */
  diffId: string;
  tarSize: number;
}

/**
 * Gzips `tar` into `file` (created exclusively, mode 0600). zlib's default level with a zero
 * mtime in the header makes the output a function of the tar alone, so the same layer pushed
 * twice gives the same blob digest.
 */
export async function gzipLayerToFile(tar: Readable, file: string): Promise<LayerBlob> {
  const plain = new HashTap();
  const packed = new HashTap();
  try {
    await pipeline(tar, plain, zlib.createGzip({ level: zlib.constants.Z_DEFAULT_COMPRESSION }), packed, fs.createWriteStream(file, { flags: 'wx', mode: 0o600 }));
  } catch (err) {
    await fs.promises.rm(file, { force: true });
    throw err;
  }
  return { file, digest: packed.digest(), size: packed.bytes, diffId: plain.digest(), tarSize: plain.bytes };
}

/** A private temporary directory for blobs; `remove()` deletes it and what it holds. */
export interface BlobDir {
  dir: string;
  remove(): Promise<void>;
}

/**
 * Makes `<base>/push-<pid>-XXXXXX`, first removing what killed pushes left there (their pid
 * is gone). A reused pid only delays that cleanup to a later push.
 */
export function makeBlobDir(base: string): Promise<BlobDir> {
  return makeScratchDir(base, 'push');
}
