// tar-split: what it takes to give back a layer's tar byte for byte after it was extracted
// (containers/storage keeps the same kind of record, with the same name). A tar regenerated
// from the extracted files differs from the pulled one (entry order, header formats, PAX
// records, padding), so its sha256 would not be the layer's diff ID: `save` would change image
// IDs and `push` digests. So extraction records every byte of the tar that is not file content,
// and where each file's content went; reassembly reads the content back from those files.
//
// Format: <layer>/tar-split.gz is gzip of
//   "tspod-tar-split/1\n", then records:
//   0x01 RAW   u32le n, n bytes   tar bytes verbatim: header blocks (PAX and GNU long-name
//                                 headers and their data included), padding, the end-of-archive
//                                 blocks and whatever follows them, and the data of entries that
//                                 are not stored as a regular file (a whiteout's or a link's)
//   0x02 FILE  u48le size, u32le n, n bytes of path
//                                 `size` bytes of content: the regular file at diff/<path>
//   0x00 END   u48le tar size     the tar ended here; a file without it is truncated
// Consecutive raw bytes share one RAW record, so a small file costs a RAW (its header, the
// previous file's padding) and a FILE record; gzip shrinks the mostly-zero headers about 10x.
//
// A path the tar writes twice no longer holds the first content. The applier notices (the
// second entry replaces a file it wrote, a whiteout or a directory replacement removes it) and
// moves the first file to <layer>/tar-split.overwritten/<k>, k counting FILE records from 0:
// the rename costs what the unlink would have, and the record stream can stay a stream (the
// earlier FILE record was already written when the overwrite shows up).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable, pipeline } from 'node:stream';
import * as zlib from 'node:zlib';
import { TspodError, errorMessage } from '../errors';
import { StreamHasher } from './stream-hasher';

export const TAR_SPLIT_FILE = 'tar-split.gz';
export const OVERWRITTEN_DIR = 'tar-split.overwritten';

const MAGIC = Buffer.from('tspod-tar-split/1\n', 'latin1');
const END = 0x00;
const RAW = 0x01;
const FILE = 0x02;
const RAW_HEAD = 5;
const FILE_HEAD = 11;
const END_SIZE = 7;
/** records are handed to gzip in batches of about this size */
const BATCH = 1 << 20;
/** gzip's input backlog past which extraction waits for it */
const MAX_BACKLOG = 8 << 20;
/** reassembled tar chunks */
const CHUNK = 1 << 20;

/** The layer's files no longer give its tar back: something changed them on disk. */
export class LayerModifiedError extends TspodError {}

export function tarSplitPath(layerDir: string): string {
  return path.join(layerDir, TAR_SPLIT_FILE);
}

export function hasTarSplit(layerDir: string): boolean {
  return fs.existsSync(tarSplitPath(layerDir));
}

/** Records a tar while it is extracted into <layerDir>/diff (see the file comment). */
export class TarSplitWriter {
  private readonly gzip: zlib.Gzip;
  private readonly done: Promise<void>;
  private batch = Buffer.allocUnsafe(BATCH);
  private fill = 0;
  /** where the open RAW record's header sits in the batch, -1 when none is open */
  private rawAt = -1;
  private files = 0;
  /** layer-relative path → FILE record number, for content still at its path */
  private readonly live = new Map<string, number>();
  private overwrittenMade = false;
  private failed: Error | undefined;

  constructor(
    private readonly layerDir: string,
    private readonly diffDir: string,
  ) {
    // level 1: headers compress nearly as well as at 6, at a fraction of the CPU
    this.gzip = zlib.createGzip({ level: 1, chunkSize: 1 << 18 });
    const out = fs.createWriteStream(tarSplitPath(layerDir), { mode: 0o600 });
    this.done = new Promise((resolve, reject) => {
      pipeline(this.gzip, out, (err) => {
        if (err) {
          this.failed = err;
          reject(new TspodError(`cannot write ${tarSplitPath(layerDir)}: ${errorMessage(err)}`));
        } else resolve();
      });
    });
    this.done.catch(() => undefined);
    this.put(MAGIC, 0, MAGIC.length);
  }

  private room(n: number): void {
    if (this.fill + n <= this.batch.length) return;
    this.closeRaw();
    this.flush();
    if (n > this.batch.length) this.batch = Buffer.allocUnsafe(n);
  }

  private put(buf: Buffer, off: number, len: number): void {
    buf.copy(this.batch, this.fill, off, off + len);
    this.fill += len;
  }

  private closeRaw(): void {
    if (this.rawAt < 0) return;
    this.batch.writeUInt32LE(this.fill - this.rawAt - RAW_HEAD, this.rawAt + 1);
    this.rawAt = -1;
  }

  private flush(): void {
    if (this.fill === 0) return;
    if (this.failed) throw this.failed;
    this.gzip.write(this.batch.subarray(0, this.fill));
    this.batch = Buffer.allocUnsafe(BATCH);
    this.fill = 0;
  }

  /** Tar bytes that are not a regular file's content, in tar order. */
  raw(buf: Buffer, off: number, len: number): void {
    while (len > 0) {
      if (this.rawAt < 0) {
        this.room(RAW_HEAD + 1);
        this.rawAt = this.fill;
        this.batch[this.fill] = RAW;
        this.fill += RAW_HEAD;
      }
      const n = Math.min(len, this.batch.length - this.fill);
      this.put(buf, off, n);
      off += n;
      len -= n;
      if (len > 0) this.room(RAW_HEAD + 1);
    }
  }

  /** The next `size` bytes of the tar are the content of the file just written at rel. */
  file(rel: string, size: number): void {
    this.closeRaw();
    const length = Buffer.byteLength(rel, 'utf8');
    this.room(FILE_HEAD + length);
    this.batch[this.fill] = FILE;
    this.batch.writeUIntLE(size, this.fill + 1, 6);
    this.batch.writeUInt32LE(length, this.fill + 7);
    this.fill += FILE_HEAD;
    this.fill += this.batch.write(rel, this.fill, length, 'utf8');
    this.live.set(rel, this.files++);
  }

  /**
   * rel is about to be replaced or removed: if it holds content this tar wrote, that content
   * moves to the overwritten dir. True when it moved (rel is gone then).
   */
  preserve(rel: string): boolean {
    const k = this.live.get(rel);
    if (k === undefined) return false;
    this.live.delete(rel);
    const dir = path.join(this.layerDir, OVERWRITTEN_DIR);
    if (!this.overwrittenMade) fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.overwrittenMade = true;
    fs.renameSync(path.join(this.diffDir, rel), path.join(dir, String(k)));
    return true;
  }

  /** The directory rel (or whatever is at rel) is about to be removed with all it holds. */
  preserveTree(rel: string): void {
    this.preserve(rel);
    const prefix = `${rel}/`;
    for (const key of [...this.live.keys()]) if (key.startsWith(prefix)) this.preserve(key);
  }

  /** gzip is behind by more than it should be: wait for drained() before feeding more. */
  get backlogged(): boolean {
    return this.gzip.writableLength > MAX_BACKLOG;
  }

  drained(): Promise<void> {
    if (!this.backlogged) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (this.gzip.writableLength <= MAX_BACKLOG) {
          this.gzip.off('drain', check);
          resolve();
        }
      };
      this.gzip.on('drain', check);
      this.done.catch(reject);
    });
  }

  /** The tar ended after tarSize bytes: completes the file. */
  async finish(tarSize: number): Promise<void> {
    this.closeRaw();
    this.room(END_SIZE);
    this.batch[this.fill] = END;
    this.batch.writeUIntLE(tarSize, this.fill + 1, 6);
    this.fill += END_SIZE;
    this.flush();
    this.gzip.end();
    await this.done;
  }

  abort(): void {
    this.gzip.destroy();
  }
}

export type TarSplitRecord = { kind: 'raw'; data: Buffer } | { kind: 'file'; size: number; path: string } | { kind: 'end'; tarSize: number };

/** Decodes the record stream from gunzipped chunks of any size; raw data may come in pieces. */
export class TarSplitParser {
  private leftover: Buffer | undefined;
  private rawLeft = 0;
  private sawMagic = false;
  private ended = false;

  feed(input: Buffer): TarSplitRecord[] {
    const out: TarSplitRecord[] = [];
    let chunk = input;
    if (this.leftover) {
      chunk = Buffer.concat([this.leftover, input]);
      this.leftover = undefined;
    }
    let off = 0;
    if (!this.sawMagic) {
      if (chunk.length < MAGIC.length) {
        this.leftover = chunk;
        return out;
      }
      if (!chunk.subarray(0, MAGIC.length).equals(MAGIC)) throw new TspodError('not a tar-split file (or of an unknown version)');
      this.sawMagic = true;
      off = MAGIC.length;
    }
    while (off < chunk.length) {
      if (this.rawLeft > 0) {
        const n = Math.min(this.rawLeft, chunk.length - off);
        out.push({ kind: 'raw', data: chunk.subarray(off, off + n) });
        this.rawLeft -= n;
        off += n;
        continue;
      }
      if (this.ended) throw new TspodError('tar-split data continues after its end record');
      const tag = chunk[off];
      const need = tag === RAW ? RAW_HEAD : tag === FILE ? FILE_HEAD : tag === END ? END_SIZE : -1;
      if (need < 0) throw new TspodError(`corrupt tar-split data: record type ${tag}`);
      if (chunk.length - off < need) break;
      if (tag === RAW) {
        this.rawLeft = chunk.readUInt32LE(off + 1);
        off += RAW_HEAD;
      } else if (tag === END) {
        out.push({ kind: 'end', tarSize: chunk.readUIntLE(off + 1, 6) });
        this.ended = true;
        off += END_SIZE;
      } else {
        const nameLength = chunk.readUInt32LE(off + 7);
        if (chunk.length - off < FILE_HEAD + nameLength) break;
        const name = chunk.toString('utf8', off + FILE_HEAD, off + FILE_HEAD + nameLength);
        out.push({ kind: 'file', size: chunk.readUIntLE(off + 1, 6), path: name });
        off += FILE_HEAD + nameLength;
      }
    }
    if (off < chunk.length) this.leftover = Buffer.from(chunk.subarray(off));
    return out;
  }

  /** The data ended: it must have ended with the end record. */
  end(): void {
    if (!this.ended || this.rawLeft > 0 || this.leftover) throw new TspodError('tar-split data is truncated');
  }
}

/** A layer-relative path from the record, refusing anything that is not plainly inside. */
function contentPath(diffDir: string, rel: string): string {
  const parts = rel.split('/');
  if (rel === '' || rel.startsWith('/') || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new TspodError(`corrupt tar-split data: file path ${JSON.stringify(rel)}`);
  }
  return path.join(diffDir, rel);
}

export interface ReassembleOptions {
  /** <graphRoot>/<driver dir>/<hex>: holds tar-split.gz and diff/ */
  layerDir: string;
  /** the digest the reassembled tar must have */
  diffId: string;
  /** names the layer in errors */
  name: string;
}

async function* assemble(opts: ReassembleOptions): AsyncGenerator<Buffer> {
  const diffDir = path.join(opts.layerDir, 'diff');
  const overwrittenDir = path.join(opts.layerDir, OVERWRITTEN_DIR);
  const overwritten = new Set(fs.existsSync(overwrittenDir) ? fs.readdirSync(overwrittenDir) : []);
  const modified = (why: string): LayerModifiedError =>
    new LayerModifiedError(`layer ${opts.name} was modified on disk (${why}): its tar cannot be reproduced; remove the image and pull it again`);
  const gunzip = zlib.createGunzip();
  const source = fs.createReadStream(tarSplitPath(opts.layerDir));
  pipeline(source, gunzip, () => undefined);
  const parser = new TarSplitParser();
  const hasher = new StreamHasher();
  let hashing = true;
  let out = Buffer.allocUnsafe(CHUNK);
  let fill = 0;
  let total = 0;
  let files = 0;
  let fd = -1;
  let tarSize = -1;
  /** the chunk of tar ready to go; held back one step so the last one waits for the check */
  let ready: Buffer | undefined;
  const take = (): Buffer | undefined => {
    const previous = ready;
    ready = out.subarray(0, fill);
    hasher.update(ready);
    total += fill;
    out = Buffer.allocUnsafe(CHUNK);
    fill = 0;
    return previous;
  };
  try {
    for await (const chunk of gunzip) {
      for (const record of parser.feed(chunk as Buffer)) {
        if (record.kind === 'raw') {
          let off = 0;
          while (off < record.data.length) {
            const n = Math.min(record.data.length - off, CHUNK - fill);
            record.data.copy(out, fill, off, off + n);
            fill += n;
            off += n;
            if (fill === CHUNK) {
              const full = take();
              if (full) yield full;
            }
          }
        } else if (record.kind === 'file') {
          const k = String(files++);
          const file = overwritten.has(k) ? path.join(overwrittenDir, k) : contentPath(diffDir, record.path);
          try {
            fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
          } catch (err) {
            throw modified(`cannot read /${record.path}: ${errorMessage(err)}`);
          }
          let left = record.size;
          while (left > 0) {
            const n = fs.readSync(fd, out, fill, Math.min(left, CHUNK - fill), null);
            if (n === 0) throw modified(`/${record.path} is shorter than the ${record.size} bytes the layer wrote`);
            fill += n;
            left -= n;
            if (fill === CHUNK) {
              const full = take();
              if (full) yield full;
            }
          }
          fs.closeSync(fd);
          fd = -1;
        } else {
          tarSize = record.tarSize;
        }
      }
    }
    parser.end();
    if (fill > 0) {
      const previous = take();
      if (previous) yield previous;
    }
    hashing = false;
    const digest = await hasher.digest();
    if (total !== tarSize) throw new TspodError(`${total} bytes reassembled, ${tarSize} recorded`);
    if (digest !== opts.diffId) throw modified(`its files give a tar of digest ${digest}, not its diff ID ${opts.diffId}`);
    if (ready && ready.length > 0) yield ready;
  } catch (err) {
    if (err instanceof LayerModifiedError) throw err;
    // a damaged record (gzip or format): the files may be fine, but the tar cannot be rebuilt
    throw new TspodError(`cannot reassemble the tar of layer ${opts.name} from ${tarSplitPath(opts.layerDir)}: ${errorMessage(err)}`);
  } finally {
    if (fd >= 0) fs.closeSync(fd);
    if (hashing) hasher.abort();
    source.destroy();
    gunzip.destroy();
  }
}

/**
 * The layer's original tar, from its tar-split record and its files; the stream fails (before
 * its last chunk) unless the result hashes to diffId.
 */
export function reassembleTar(opts: ReassembleOptions): Readable {
  return Readable.from(assemble(opts), { objectMode: false, highWaterMark: 2 * CHUNK });
}
