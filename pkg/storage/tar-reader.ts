// The tar reader of layer extraction. tar-stream hands every entry over as a stream object and
// every chunk through promises: on a /usr/share tar (54k entries) that machinery cost about as
// much as all the filesystem calls together. Extraction needs far less: headers decoded in
// place and file data written straight from the input chunks. This reader does that for the
// formats image tars use: ustar, GNU (long names 'L'/'K'), PAX (per-entry and global records),
// old v7 headers. Sparse files and other GNU extensions are refused by name.
import { TspodError } from '../errors';
import { LayerEntryError } from './layer-errors';

export const BLOCK = 512;
const MAX_LONG_HEADER = 1 << 20;

function isZeroBlock(b: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (b[i] !== 0) return false;
  return true;
}

/** NUL-terminated text field. */
function field(b: Buffer, start: number, length: number): string {
  let end = start;
  const max = start + length;
  while (end < max && b[end] !== 0) end++;
  return b.toString('utf8', start, end);
}

/** Octal (space/NUL padded) or base-256 (high bit set) number field. */
function numberField(b: Buffer, start: number, length: number): number {
  if (b[start] & 0x80) {
    const negative = b[start] === 0xff;
    let n = 0;
    for (let i = start; i < start + length; i++) {
      const byte = i === start ? b[i] & 0x7f : b[i];
      n = n * 256 + (negative ? 0xff - byte : byte);
    }
    return negative ? -(n + 1) : n;
  }
  let i = start;
  const end = start + length;
  while (i < end && (b[i] === 0x20 || b[i] === 0)) i++;
  let n = 0;
  for (; i < end; i++) {
    const c = b[i];
    if (c < 0x30 || c > 0x37) break;
    n = n * 8 + (c - 0x30);
  }
  return n;
}

function checksumOk(b: Buffer): boolean {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : b[i];
    unsigned += c;
    signed += c > 127 ? c - 256 : c;
  }
  const stored = numberField(b, 148, 8);
  return stored === unsigned || stored === signed;
}

const TYPES: Record<string, EntryType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file',
  '1': 'link',
  '2': 'symlink',
  '3': 'character-device',
  '4': 'block-device',
  '5': 'directory',
  '6': 'fifo',
};

const TYPE_NAMES: Record<string, string> = {
  S: 'GNU sparse file',
  D: 'GNU dump directory',
  M: 'GNU multi-volume continuation',
  V: 'GNU volume header',
  N: 'GNU old long name',
};

/** PAX records: "LEN key=value\n", LEN counting the whole record. */
export function parsePax(buf: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let off = 0;
  while (off < buf.length) {
    let space = off;
    while (space < buf.length && buf[space] !== 0x20) space++;
    const len = parseInt(buf.toString('latin1', off, space), 10);
    if (!(len > 0) || off + len > buf.length) break;
    const record = buf.toString('utf8', space + 1, off + len - 1);
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    off += len;
  }
  return out;
}

function paxNumber(pax: Record<string, string> | undefined, key: string): number | undefined {
  const v = pax?.[key];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

export type EntryType = 'file' | 'link' | 'symlink' | 'character-device' | 'block-device' | 'directory' | 'fifo';

/** One tar entry, long names and PAX records already applied. */
export interface TarHeader {
  name: string;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** seconds, fractional when a PAX header carried more precision */
  mtime: number;
  atime: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  pax: Record<string, string> | undefined;
}

/**
 * What the reader drives. entry() returns the sink a regular file's data goes to, a promise
 * the reader waits for (entries that need a helper process or a driver call; a regular
 * file's promise gives its sink), or nothing.
 */
export interface TarEntryHandler<Sink> {
  entry(h: TarHeader): Sink | Promise<Sink | void> | undefined;
  fileData(sink: Sink, buf: Buffer, off: number, len: number): void;
  endFile(sink: Sink): void;
  /** after a failure: the sink will get nothing more */
  abortFile(sink: Sink): void;
}

/** Sees every byte of the tar that is not a regular file's content, in order (tar-split). */
export interface TarBytesObserver {
  raw(buf: Buffer, off: number, len: number): void;
}

type ReaderState = 'header' | 'data' | 'pad';

/** Pushes the tar's bytes through a handler; write() returns a promise when it must wait. */
export class TarReader<Sink extends object> {
  private state: ReaderState = 'header';
  private readonly block = Buffer.alloc(BLOCK);
  private blockFill = 0;
  private remaining = 0;
  private pad = 0;
  private sink: Sink | undefined;
  /** the data of a PAX or GNU long-name header being collected */
  private long: { kind: string; chunks: Buffer[] } | undefined;
  private pax: Record<string, string> | undefined;
  private globalPax: Record<string, string> | undefined;
  private longName: string | undefined;
  private longLink: string | undefined;

  constructor(
    private readonly handler: TarEntryHandler<Sink>,
    private readonly observer?: TarBytesObserver,
  ) {}

  write(chunk: Buffer): Promise<void> | undefined {
    return this.run(chunk, 0);
  }

  /**
   * The observer sees the chunk's non-content bytes as few ranges as it can: everything from
   * one file's content to the next (padding, PAX and long-name headers, other entries), cut
   * only before a regular file's header is handled, as the applier records that file then.
   */
  private run(chunk: Buffer, off: number): Promise<void> | undefined {
    let shownTo = off;
    const show = (end: number): void => {
      if (this.observer && end > shownTo) this.observer.raw(chunk, shownTo, end - shownTo);
      shownTo = end;
    };
    while (off < chunk.length) {
      if (this.state === 'header') {
        let header: Buffer;
        if (this.blockFill === 0 && chunk.length - off >= BLOCK) {
          header = chunk.subarray(off, off + BLOCK);
          off += BLOCK;
        } else {
          const n = Math.min(BLOCK - this.blockFill, chunk.length - off);
          chunk.copy(this.block, this.blockFill, off, off + n);
          this.blockFill += n;
          off += n;
          if (this.blockFill < BLOCK) break;
          this.blockFill = 0;
          header = this.block;
        }
        const flag = header[156];
        if (flag === 0x30 || flag === 0 || flag === 0x37) show(off);
        const pending = this.header(header);
        if (pending) {
          show(off);
          const resume = off;
          return pending.then(() => this.run(chunk, resume));
        }
      } else if (this.state === 'data') {
        const n = Math.min(this.remaining, chunk.length - off);
        if (this.sink) {
          show(off);
          this.handler.fileData(this.sink, chunk, off, n);
          shownTo = off + n;
        } else if (this.long) {
          this.long.chunks.push(Buffer.from(chunk.subarray(off, off + n)));
        }
        off += n;
        this.remaining -= n;
        if (this.remaining === 0) this.endBody();
      } else {
        const n = Math.min(this.pad, chunk.length - off);
        off += n;
        this.pad -= n;
        if (this.pad === 0) this.state = 'header';
      }
    }
    show(off);
    return undefined;
  }

  private startBody(size: number): void {
    this.remaining = size;
    this.pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if (size > 0) this.state = 'data';
    else this.endBody();
  }

  private endBody(): void {
    if (this.sink) {
      const sink = this.sink;
      this.sink = undefined;
      this.handler.endFile(sink);
    } else if (this.long) {
      this.applyLong(this.long.kind, Buffer.concat(this.long.chunks));
      this.long = undefined;
    }
    this.state = this.pad > 0 ? 'pad' : 'header';
  }

  private applyLong(kind: string, data: Buffer): void {
    if (kind === 'x') this.pax = { ...this.pax, ...parsePax(data) };
    else if (kind === 'g') this.globalPax = { ...this.globalPax, ...parsePax(data) };
    else {
      let end = data.indexOf(0);
      if (end < 0) end = data.length;
      const text = data.toString('utf8', 0, end);
      if (kind === 'L') this.longName = text;
      else this.longLink = text;
    }
  }

  private header(b: Buffer): Promise<void> | undefined {
    if (isZeroBlock(b)) return undefined;
    if (!checksumOk(b)) throw new TspodError('invalid layer tar: bad header checksum (a corrupt tar, or one that still needs decompressing)');
    const flag = String.fromCharCode(b[156]);
    const size = numberField(b, 124, 12);
    if (flag === 'x' || flag === 'g' || flag === 'L' || flag === 'K') {
      if (size > MAX_LONG_HEADER) throw new TspodError(`invalid layer tar: a ${size}-byte extended header`);
      this.long = { kind: flag, chunks: [] };
      this.startBody(size);
      return undefined;
    }
    const pax = this.globalPax || this.pax ? { ...this.globalPax, ...this.pax } : undefined;
    this.pax = undefined;
    let name = field(b, 0, 100);
    // POSIX ustar keeps a name prefix; GNU ("ustar  ") uses those bytes for other things
    if (b.toString('latin1', 257, 263) === 'ustar\0' && b[345] !== 0) name = `${field(b, 345, 155)}/${name}`;
    if (this.longName !== undefined) name = this.longName;
    if (pax?.path !== undefined) name = pax.path;
    let linkname = field(b, 157, 100);
    if (this.longLink !== undefined) linkname = this.longLink;
    if (pax?.linkpath !== undefined) linkname = pax.linkpath;
    this.longName = this.longLink = undefined;
    let type = TYPES[flag];
    if (type === undefined || pax?.['GNU.sparse.major'] !== undefined || pax?.['GNU.sparse.size'] !== undefined) {
      const what = TYPE_NAMES[flag] ?? (type ? 'sparse file' : `type ${JSON.stringify(flag)}`);
      throw new LayerEntryError(name, `unsupported tar entry (${what})`);
    }
    if (type === 'file' && flag !== '7' && name.endsWith('/')) type = 'directory';
    const mtime = paxNumber(pax, 'mtime') ?? numberField(b, 136, 12);
    const h: TarHeader = {
      name,
      type,
      mode: numberField(b, 100, 8),
      uid: paxNumber(pax, 'uid') ?? numberField(b, 108, 8),
      gid: paxNumber(pax, 'gid') ?? numberField(b, 116, 8),
      size: paxNumber(pax, 'size') ?? size,
      mtime,
      atime: paxNumber(pax, 'atime') ?? mtime,
      linkname,
      devmajor: numberField(b, 329, 8),
      devminor: numberField(b, 337, 8),
      pax,
    };
    const result = this.handler.entry(h);
    // a directory's size field is not followed by data; anything else's data is skipped
    const bodySize = type === 'directory' ? 0 : h.size;
    if (result instanceof Promise) {
      // the body (a file's data, or data to skip) is read once the entry is ready for it
      return result.then((sink) => {
        if (sink) this.sink = sink;
        this.startBody(bodySize);
      });
    }
    if (result !== undefined) this.sink = result;
    this.startBody(bodySize);
    return undefined;
  }

  /** The input ended: anything but a clean entry boundary is a truncated tar. */
  end(): void {
    if (this.state !== 'header' || this.blockFill !== 0) throw new TspodError('invalid layer tar: unexpected end of data');
  }

  /** After a failure: do not leave the current file's descriptor open. */
  abort(): void {
    if (this.sink) this.handler.abortFile(this.sink);
    this.sink = undefined;
  }
}
