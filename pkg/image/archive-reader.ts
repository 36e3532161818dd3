// Reading image archives by the names inside them: a tar file through an index of its headers
// (names, kinds, data offsets), an OCI / dir layout directory, and the input of `tspod load`
// (a file or stdin, possibly gzip- or zstd-compressed) spooled to one uncompressed tar file.
//
// Every name is checked: an absolute path, a `..`, or a symlink leading out of the archive
// refuses the whole archive before anything is read by it.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidArgumentError, TspodError } from '../errors';
import { decompressStream, sniffCompression } from '../storage/layer-extract';
import { MediaType } from './manifest';
import type { ScratchDir } from '../storage/scratch-dir';

/** Read access to an archive's files by their names in the archive. */
export interface ArchiveReader {
  has(name: string): boolean;
  /**
   * The name a manifest's reference `ref` leads to: checked (no absolute path, no `..` out of
   * the archive), symlinks followed inside the archive, a regular file at the end. `what`
   * says who named it, for the error.
   */
  resolve(ref: string, what: string): string;
  /** a small file's bytes; more than maxSize is refused */
  read(name: string, maxSize: number): Promise<Buffer>;
  open(name: string): Readable;
}

export class UnsafeArchiveError extends TspodError {}

// --- names -------------------------------------------------------------------------------------

/**
 * An archive entry name as a path relative to the archive root (`./a//b` → `a/b`). Absolute
 * names and any `..` component are refused: no tool writes them into an image archive.
 */
export function archivePath(name: string, what = `entry ${JSON.stringify(name)}`): string {
  if (name.startsWith('/')) throw new UnsafeArchiveError(`refusing archive: ${what} is an absolute path`);
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new UnsafeArchiveError(`refusing archive: ${what} leads outside the archive ("..")`);
  return parts.join('/');
}

/** A symlink's target as an archive path; one leading out of the archive is refused. */
function symlinkTarget(entry: string, target: string): string {
  if (target.startsWith('/')) throw new UnsafeArchiveError(`refusing archive: symlink ${JSON.stringify(entry)} points to the absolute path ${JSON.stringify(target)}`);
  const joined = path.posix.normalize(path.posix.join(path.posix.dirname(entry), target));
  if (joined === '..' || joined.startsWith('../')) {
    throw new UnsafeArchiveError(`refusing archive: symlink ${JSON.stringify(entry)} points outside the archive (${JSON.stringify(target)})`);
  }
  return joined === '.' ? '' : joined.replace(/\/$/, '');
}

// --- a tar file, indexed ---------------------------------------------------------------------------

type EntryKind = 'file' | 'directory' | 'symlink' | 'link' | 'other';

interface TarEntry {
  kind: EntryKind;
  /** byte offset of the data in the tar file */
  offset: number;
  size: number;
  /** archive path a symlink or hard link leads to */
  target?: string;
}

const BLOCK = 512;
const MAX_EXTENDED_HEADER = 1 << 20;
const MAX_LINK_HOPS = 32;

function cString(b: Buffer, start: number, length: number): string {
  let end = start;
  while (end < start + length && b[end] !== 0) end++;
  return b.toString('utf8', start, end);
}

function tarNumber(b: Buffer, start: number, length: number): number {
  if (b[start] & 0x80) {
    let n = b[start] & 0x7f;
    for (let i = start + 1; i < start + length; i++) n = n * 256 + b[i];
    return n;
  }
  const text = b.toString('latin1', start, start + length).replace(/[\0 ]+$/, '').trim();
  return text === '' ? 0 : parseInt(text, 8);
}

function checksumOk(b: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : b[i];
  return tarNumber(b, 148, 8) === sum;
}

function paxRecords(data: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let off = 0;
  while (off < data.length) {
    const space = data.indexOf(0x20, off);
    if (space < 0) break;
    const len = parseInt(data.toString('latin1', off, space), 10);
    if (!(len > 0) || off + len > data.length) break;
    const record = data.toString('utf8', space + 1, off + len - 1);
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    off += len;
  }
  return out;
}

const KINDS: Record<string, EntryKind> = { '0': 'file', '\0': 'file', '7': 'file', '1': 'link', '2': 'symlink', '5': 'directory' };

/** Reads only the headers of an uncompressed tar file: names, kinds, data offsets. */
export async function indexTar(file: string): Promise<Map<string, TarEntry>> {
  const entries = new Map<string, TarEntry>();
  const fh = await fs.promises.open(file, 'r');
  try {
    const fileSize = (await fh.stat()).size;
    const header = Buffer.alloc(BLOCK);
    let pos = 0;
    let pax: Record<string, string> = {};
    let longName: string | undefined;
    let longLink: string | undefined;
    const readData = async (offset: number, size: number): Promise<Buffer> => {
      if (size > MAX_EXTENDED_HEADER) throw new InvalidArgumentError(`invalid archive: a ${size}-byte extended tar header`);
      const buf = Buffer.alloc(size);
      const { bytesRead } = await fh.read(buf, 0, size, offset);
      if (bytesRead !== size) throw new InvalidArgumentError('invalid archive: the tar ends in the middle of an entry');
      return buf;
    };
    for (;;) {
      const { bytesRead } = await fh.read(header, 0, BLOCK, pos);
      if (bytesRead === 0) break;
      if (bytesRead < BLOCK) throw new InvalidArgumentError('invalid archive: the tar ends in the middle of a header');
      if (header.every((b) => b === 0)) break;
      if (!checksumOk(header)) {
        throw new InvalidArgumentError(
          pos === 0 ? 'the input is not a tar archive (nor a gzip- or zstd-compressed one)' : `invalid archive: bad tar header checksum at offset ${pos}`,
        );
      }
      const flag = String.fromCharCode(header[156]);
      const size = tarNumber(header, 124, 12);
      const dataOffset = pos + BLOCK;
      pos = dataOffset + Math.ceil(size / BLOCK) * BLOCK;
      if (pos > fileSize + BLOCK) throw new InvalidArgumentError('invalid archive: the tar is truncated');
      if (flag === 'x') {
        pax = { ...pax, ...paxRecords(await readData(dataOffset, size)) };
        continue;
      }
      if (flag === 'g') continue;
      if (flag === 'L' || flag === 'K') {
        const text = cString(await readData(dataOffset, size), 0, size);
        if (flag === 'L') longName = text;
        else longLink = text;
        continue;
      }
      let name = cString(header, 0, 100);
      if (header.toString('latin1', 257, 263) === 'ustar\0' && header[345] !== 0) name = `${cString(header, 345, 155)}/${name}`;
      name = pax.path ?? longName ?? name;
      const linkname = pax.linkpath ?? longLink ?? cString(header, 157, 100);
      const realSize = pax.size !== undefined ? Number(pax.size) : size;
      if (pax.size !== undefined) pos = dataOffset + Math.ceil(realSize / BLOCK) * BLOCK;
      pax = {};
      longName = longLink = undefined;
      let kind = KINDS[flag] ?? 'other';
      if (kind === 'file' && name.endsWith('/')) kind = 'directory';
      const rel = archivePath(name);
      const entry: TarEntry = { kind, offset: dataOffset, size: kind === 'file' ? realSize : 0 };
      if (kind === 'symlink') entry.target = symlinkTarget(rel, linkname);
      if (kind === 'link') entry.target = archivePath(linkname, `hard link ${JSON.stringify(name)} → ${JSON.stringify(linkname)}`);
      if (kind === 'file' && dataOffset + realSize > fileSize) throw new InvalidArgumentError(`invalid archive: entry ${JSON.stringify(name)} is truncated`);
      if (rel !== '') entries.set(rel, entry);
    }
  } finally {
    await fh.close();
  }
  return entries;
}

/** Reads a tar file through its index. */
export class TarFileReader implements ArchiveReader {
  private constructor(
    private readonly file: string,
    private readonly entries: Map<string, TarEntry>,
  ) {}

  static async open(file: string): Promise<TarFileReader> {
    return new TarFileReader(file, await indexTar(file));
  }

  has(name: string): boolean {
    try {
      this.resolve(name, name);
      return true;
    } catch (err) {
      if (err instanceof UnsafeArchiveError) throw err;
      return false;
    }
  }

  resolve(ref: string, what: string): string {
    let name = archivePath(ref, `${what} (${JSON.stringify(ref)})`);
    for (let hop = 0; hop < MAX_LINK_HOPS; hop++) {
      const e = this.entries.get(name);
      if (!e) throw new InvalidArgumentError(`invalid archive: ${what} names ${JSON.stringify(ref)}, which is not in the archive`);
      if (e.kind === 'file') return name;
      if ((e.kind !== 'symlink' && e.kind !== 'link') || e.target === undefined) {
        throw new InvalidArgumentError(`invalid archive: ${what} names ${JSON.stringify(ref)}, which is not a file`);
      }
      name = e.target;
    }
    throw new InvalidArgumentError(`invalid archive: too many symlinks resolving ${JSON.stringify(ref)}`);
  }

  private entry(name: string): TarEntry {
    const e = this.entries.get(this.resolve(name, JSON.stringify(name)));
    return e as TarEntry;
  }

  async read(name: string, maxSize: number): Promise<Buffer> {
    const e = this.entry(name);
    if (e.size > maxSize) throw new InvalidArgumentError(`invalid archive: ${name} is ${e.size} bytes, more than the ${maxSize} it may have`);
    const buf = Buffer.alloc(e.size);
    const fh = await fs.promises.open(this.file, 'r');
    try {
      await fh.read(buf, 0, e.size, e.offset);
    } finally {
      await fh.close();
    }
    return buf;
  }

  open(name: string): Readable {
    const e = this.entry(name);
    if (e.size === 0) return Readable.from([]);
    return fs.createReadStream(this.file, { start: e.offset, end: e.offset + e.size - 1, highWaterMark: 1 << 20 });
  }
}

/** Reads an OCI or dir: layout directory; nothing outside it is reachable, symlinks included. */
export class DirReader implements ArchiveReader {
  private readonly root: string;

  constructor(dir: string) {
    this.root = fs.realpathSync(dir);
  }

  has(name: string): boolean {
    try {
      return fs.statSync(this.real(archivePath(name))).isFile();
    } catch (err) {
      if (err instanceof UnsafeArchiveError) throw err;
      return false;
    }
  }

  private real(rel: string): string {
    const real = fs.realpathSync(path.join(this.root, rel));
    if (real !== this.root && !real.startsWith(`${this.root}/`)) throw new UnsafeArchiveError(`refusing directory: ${JSON.stringify(rel)} leads outside it`);
    return real;
  }

  resolve(ref: string, what: string): string {
    const rel = archivePath(ref, `${what} (${JSON.stringify(ref)})`);
    let real: string;
    try {
      real = this.real(rel);
    } catch (err) {
      if (err instanceof UnsafeArchiveError) throw err;
      throw new InvalidArgumentError(`invalid layout: ${what} names ${JSON.stringify(ref)}, which is not in the directory`);
    }
    if (!fs.statSync(real).isFile()) throw new InvalidArgumentError(`invalid layout: ${what} names ${JSON.stringify(ref)}, which is not a file`);
    return rel;
  }

  async read(name: string, maxSize: number): Promise<Buffer> {
    const real = this.real(this.resolve(name, JSON.stringify(name)));
    const size = (await fs.promises.stat(real)).size;
    if (size > maxSize) throw new InvalidArgumentError(`invalid layout: ${name} is ${size} bytes, more than the ${maxSize} it may have`);
    return fs.promises.readFile(real);
  }

  open(name: string): Readable {
    return fs.createReadStream(this.real(this.resolve(name, JSON.stringify(name))), { highWaterMark: 1 << 20 });
  }
}

// --- input: compression and spooling -----------------------------------------------------------

/**
 * Waits for the first bytes of a stream and puts them back. The unshift happens in the same
 * tick as the pause: a stream that has already seen its end would otherwise emit 'end' first.
 */
function peek(input: Readable, n: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let have = 0;
    const detach = (): void => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.off('error', onError);
    };
    const onData = (c: Buffer): void => {
      chunks.push(c);
      have += c.length;
      if (have < n) return;
      detach();
      input.pause();
      const head = Buffer.concat(chunks);
      input.unshift(head);
      resolve(head);
    };
    const onEnd = (): void => {
      detach();
      const head = Buffer.concat(chunks);
      // the whole input was shorter than n: hand it over as a fresh stream
      resolve(head);
    };
    const onError = (err: Error): void => {
      detach();
      reject(err);
    };
    input.on('data', onData);
    input.on('end', onEnd);
    input.on('error', onError);
  });
}

/** The uncompressed tar of a (possibly) compressed archive stream. */
export async function decompressArchive(input: Readable): Promise<{ tar: Readable; compressed: boolean }> {
  const head = await peek(input, 6);
  // an input shorter than the magic numbers has ended: it is all in head
  const source = input.readableEnded ? Readable.from(head.length ? [head] : [], { objectMode: false }) : input;
  const kind = sniffCompression(head);
  if (kind === 'xz' || kind === 'bzip2') {
    input.destroy();
    const tool = kind === 'xz' ? 'xz' : 'bunzip2';
    throw new InvalidArgumentError(`${kind}-compressed archives are not supported: decompress it first (${tool} -dc FILE | tspod load)`);
  }
  if (kind === 'none') {
    // a PassThrough gives the consumer a fresh stream that starts with the peeked bytes
    const out = new PassThrough({ highWaterMark: 1 << 20 });
    source.on('error', (err) => out.destroy(err));
    source.pipe(out);
    return { tar: out, compressed: false };
  }
  // declared, not sniffed again: the peek left the stream paused, and sniffing waits for data
  return { tar: decompressStream(source, kind === 'gzip' ? MediaType.OCI_LAYER_GZIP : MediaType.OCI_LAYER_ZSTD), compressed: true };
}

/** Where an archive comes from. */
export interface ArchiveInput {
  /** -i: a file or an OCI / dir layout directory; undefined reads `stdin` */
  input?: string;
  stdin?: Readable;
}

/** Opens the input as an archive reader; the scratch dir holds what had to be spooled. */
export async function openInput(opts: ArchiveInput, scratch: ScratchDir): Promise<ArchiveReader> {
  let stream: Readable;
  if (opts.input !== undefined) {
    let st: fs.Stats;
    try {
      st = await fs.promises.stat(opts.input);
    } catch (err) {
      throw new InvalidArgumentError(`cannot read ${opts.input}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`);
    }
    if (st.isDirectory()) return new DirReader(opts.input);
    if (st.isFile()) {
      const fh = await fs.promises.open(opts.input, 'r');
      const head = Buffer.alloc(6);
      try {
        await fh.read(head, 0, 6, 0);
      } finally {
        await fh.close();
      }
      if (st.size === 0) throw new InvalidArgumentError(`${opts.input} is empty`);
      if (sniffCompression(head) === 'none') return TarFileReader.open(opts.input);
    }
    stream = fs.createReadStream(opts.input, { highWaterMark: 1 << 20 });
  } else {
    stream = opts.stdin ?? process.stdin;
  }
  const { tar } = await decompressArchive(stream);
  const spooled = path.join(scratch.dir, 'archive.tar');
  await pipeline(tar, fs.createWriteStream(spooled, { flags: 'wx', mode: 0o600 }));
  if ((await fs.promises.stat(spooled)).size === 0) throw new InvalidArgumentError('no archive on the input (it is empty)');
  return TarFileReader.open(spooled);
}
