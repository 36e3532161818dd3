// Layer blobs come gzip'd, zstd'd or plain: the media type says which, and when it does not
// (Docker's generic types, archives of unknown origin) the first bytes do. zlib and the zstd
// decoder are loaded on first use: most commands never decompress anything.
import { Readable } from 'node:stream';
import { HostError } from '../errors';

export type Compression = 'none' | 'gzip' | 'zstd';

/** The compression a layer media type names; undefined when it names none we know (sniff then). */
export function compressionOfMediaType(mediaType: string | undefined): Compression | undefined {
  if (!mediaType) return undefined;
  if (/\+zstd$|\.zstd$/.test(mediaType)) return 'zstd';
  if (/\+gzip$|\.tar\.gzip$|\.gzip$/.test(mediaType)) return 'gzip';
  if (/\.tar$/.test(mediaType)) return 'none';
  return undefined;
}

/** Compression from a blob's first bytes; tar has no magic at offset 0, so anything else is tar. */
export function sniffCompression(head: Buffer): Compression | 'xz' | 'bzip2' {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (head.length >= 6 && head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (head.length >= 3 && head.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
  return 'none';
}

function zstdDecoder(): NodeJS.ReadWriteStream {
  const zlib = require('node:zlib') as Record<string, unknown>;
  if (typeof zlib.createZstdDecompress === 'function') return (zlib.createZstdDecompress as () => NodeJS.ReadWriteStream)();
  let fzstd: { Decompress: new (ondata: (chunk: Uint8Array, final: boolean) => void) => { push(chunk: Uint8Array, final?: boolean): void } };
  try {
    fzstd = require('fzstd');
  } catch {
    throw new HostError('unsupported layer compression zstd: this Node has no zstd and the fzstd package is not installed');
  }
  const { Transform } = require('node:stream') as typeof import('node:stream');
  let push: (chunk: Buffer) => void = () => undefined;
  const decoder = new fzstd.Decompress((chunk) => push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)));
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      push = (out) => this.push(out);
      try {
        decoder.push(chunk);
        done();
      } catch (err) {
        done(err as Error);
      }
    },
    flush(done) {
      push = (out) => this.push(out);
      try {
        decoder.push(new Uint8Array(0), true);
        done();
      } catch (err) {
        done(err as Error);
      }
    },
  });
}

function decoderFor(kind: Compression | 'xz' | 'bzip2'): NodeJS.ReadWriteStream | undefined {
  if (kind === 'none') return undefined;
  // 64 KiB of output per step on libuv's pool (the default is 16): a quarter of the round trips
  // to this thread, and each step overlaps more of the extraction of the previous one
  if (kind === 'gzip') return (require('node:zlib') as typeof import('node:zlib')).createGunzip({ chunkSize: 1 << 16 });
  if (kind === 'zstd') return zstdDecoder();
  throw new HostError(`unsupported layer compression ${kind}`);
}

/**
 * The uncompressed tar of a layer blob: by its media type when that names a compression, else
 * by its first bytes (Docker's generic and "foreign" types, archives of unknown origin).
 */
export function decompressStream(input: Readable, mediaType?: string): Readable {
  const { PassThrough, pipeline } = require('node:stream') as typeof import('node:stream');
  const declared = compressionOfMediaType(mediaType);
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  const connect = (kind: Compression | 'xz' | 'bzip2', source: Readable = input): void => {
    let decoder: NodeJS.ReadWriteStream | undefined;
    try {
      decoder = decoderFor(kind);
    } catch (err) {
      input.destroy();
      out.destroy(err as Error);
      return;
    }
    const done = (err: Error | null): void => {
      if (err && !out.destroyed) out.destroy(err);
    };
    if (decoder) pipeline(source, decoder, out, done);
    else pipeline(source, out, done);
  };
  if (declared !== undefined) {
    connect(declared);
    return out;
  }
  const head: Buffer[] = [];
  let headLength = 0;
  const decide = (ended: boolean): void => {
    input.off('data', onData);
    input.off('end', onEnd);
    input.pause();
    const buffered = Buffer.concat(head);
    if (ended) return connect(sniffCompression(buffered), Readable.from(buffered.length ? [buffered] : []));
    if (buffered.length > 0) input.unshift(buffered);
    connect(sniffCompression(buffered));
  };
  const onEnd = (): void => decide(true);
  const onData = (chunk: Buffer): void => {
    head.push(chunk);
    headLength += chunk.length;
    if (headLength >= 6) decide(false);
  };
  input.on('data', onData);
  input.on('end', onEnd);
  input.once('error', (err) => out.destroy(err));
  return out;
}
