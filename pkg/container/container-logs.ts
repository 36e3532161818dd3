// Reading a container's log (the monitor writes k8s-file or json-file lines, or local records)
// for `logs`: the rotated files (FILE.N ... FILE.1, gzipped as FILE.N.gz where compress is on)
// then the live one, --tail, --since/--until, -t, and -f following the live file across
// rotations until the container exits.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import type { FileLogFormat } from './log-config';
import { parseLocalRecords } from './log-local-format';

export interface LogLine {
  time: string;
  stream: 'stdout' | 'stderr';
  /** the text, with its newline unless the line was partial */
  text: string;
}

/** `2024-01-02T03:04:05.123456789Z stdout F text` (P: partial, no newline follows). */
export function parseK8sLine(line: string): LogLine | undefined {
  const m = /^(\S+) (stdout|stderr) ([FP]) ?(.*)$/.exec(line);
  if (!m) return undefined;
  return { time: m[1], stream: m[2] as LogLine['stream'], text: m[3] === 'P' ? m[4] : `${m[4]}\n` };
}

export function parseJsonLine(line: string): LogLine | undefined {
  try {
    const o = JSON.parse(line) as { log: string; stream: LogLine['stream']; time: string };
    return { time: o.time, stream: o.stream, text: o.log };
  } catch {
    return undefined;
  }
}

export interface LogFilter {
  tail?: number;
  since?: number;
  until?: number;
}

/** The complete lines (or local records) in buf; `consumed` is where an unfinished one starts. */
export function parseLogChunk(buf: Buffer, format: FileLogFormat): { lines: LogLine[]; consumed: number } {
  if (format === 'local') return parseLocalRecords(buf);
  const end = buf.lastIndexOf(0x0a) + 1;
  const parse = format === 'json-file' ? parseJsonLine : parseK8sLine;
  const out: LogLine[] = [];
  for (const line of buf.subarray(0, end).toString().split('\n')) {
    if (!line) continue;
    const l = parse(line);
    if (l) out.push(l);
  }
  return { lines: out, consumed: end };
}

export function parseLog(text: string | Buffer, format: FileLogFormat): LogLine[] {
  const buf = typeof text === 'string' ? Buffer.from(text) : text;
  // text formats: a last line without its newline still counts when reading a finished file
  return parseLogChunk(format === 'local' || buf[buf.length - 1] === 0x0a ? buf : Buffer.concat([buf, Buffer.from('\n')]), format).lines;
}

/** Nanosecond timestamps compare as Date only to the millisecond: enough for --since/--until. */
export function filterLog(lines: LogLine[], f: LogFilter): LogLine[] {
  let out = lines.filter((l) => {
    const t = Date.parse(l.time);
    return (f.since === undefined || t >= f.since) && (f.until === undefined || t <= f.until);
  });
  if (f.tail !== undefined && f.tail >= 0) {
    // --tail counts whole lines: a partial line belongs to the line it completes.
    let complete = 0;
    let i = out.length;
    while (i > 0) {
      const ends = out[i - 1].text.endsWith('\n');
      if (ends) {
        if (complete === f.tail) break;
        complete++;
      }
      i--;
    }
    out = out.slice(i);
  }
  return out;
}

/** The rotated files of logPath, oldest (highest number) first; FILE.N.gz wins over a leftover FILE.N. */
export function rotatedLogFiles(logPath: string): string[] {
  const dir = path.dirname(logPath);
  const base = path.basename(logPath);
  const found = new Map<number, string>();
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  for (const name of names) {
    if (!name.startsWith(`${base}.`)) continue;
    const m = /^(\d+)(\.gz)?$/.exec(name.slice(base.length + 1));
    if (!m) continue;
    const n = Number(m[1]);
    if (m[2] || !found.has(n)) found.set(n, path.join(dir, name));
  }
  return [...found.entries()].sort((a, b) => b[0] - a[0]).map(([, file]) => file);
}

/**
 * The rotated files' contents, oldest first; undefined when a rotation moved them while they were
 * read (listed again, a path then names another file): the caller reads them again. A file that
 * cannot be read or uncompressed is skipped: the lines after it still count.
 */
function readRotatedLogs(logPath: string): Buffer[] | undefined {
  const files = rotatedLogFiles(logPath);
  const inodes: number[] = [];
  const contents: Buffer[] = [];
  for (const file of files) {
    let fd: number;
    try {
      fd = fs.openSync(file, 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      inodes.push(-1);
      contents.push(Buffer.alloc(0));
      continue;
    }
    try {
      inodes.push(fs.fstatSync(fd).ino);
      const data = fs.readFileSync(fd);
      contents.push(file.endsWith('.gz') ? zlib.gunzipSync(data) : data);
    } catch {
      contents.push(Buffer.alloc(0));
    } finally {
      fs.closeSync(fd);
    }
  }
  const now = rotatedLogFiles(logPath);
  if (now.length !== files.length || now.some((file, i) => file !== files[i])) return undefined;
  for (let i = 0; i < files.length; i++) {
    if (inodes[i] < 0) continue;
    try {
      if (fs.statSync(files[i]).ino !== inodes[i]) return undefined;
    } catch {
      return undefined;
    }
  }
  return contents;
}

/**
 * Reads a container's log: first everything there is (read()), then what is added (poll()).
 * It keeps the live file open, so a rotation between two polls loses nothing: the rest of the
 * old file is read through the open descriptor (even once it was compressed and removed), then
 * the new file from its start.
 */
export class LogReader {
  private fd = -1;
  private ino = -1;
  private offset = 0;
  private pending = Buffer.alloc(0);
  /** The live file was rotated since the lines emitted last, and the files rotated after them
   * are still to be read (set until a live file is open and known to be the current one). */
  private behind = false;
  private last?: LogLine;

  constructor(
    private readonly logPath: string,
    private readonly format: FileLogFormat,
  ) {}

  /** The rotated files and the live one, as lines. */
  read(): LogLine[] {
    this.close();
    this.last = undefined;
    this.behind = true;
    return this.poll();
  }

  /** What was written since the last call (complete lines only). */
  poll(): LogLine[] {
    if (this.fd < 0 && !this.behind) this.open();
    const out = this.fd >= 0 ? this.drain() : [];
    if (this.fd >= 0 && this.liveIno() !== this.ino) {
      // Rotated: the old file was drained above.
      this.close();
      this.behind = true;
    }
    if (this.behind) out.push(...this.catchUp(out.length ? out[out.length - 1] : this.last));
    return this.remember(out);
  }

  /** After a rotation (several, maybe, since the last poll): the rotated files' lines after LAST
   * (all of them when LAST's file was dropped already, or nothing was read yet), then the live
   * file's. The live file is opened before the scan, so a rotation while this runs shows as a
   * changed inode of the live file or of a rotated one: the scan is then done again, after the
   * lines found. */
  private catchUp(last: LogLine | undefined): LogLine[] {
    const lines: LogLine[] = [];
    for (let tries = 0; tries < 8; tries++) {
      this.open();
      const files = readRotatedLogs(this.logPath);
      if (!files) {
        this.close(); // a rotation is shifting the files: again
        continue;
      }
      const rotated = files.flatMap((data) => parseLog(data, this.format));
      let at = rotated.length - 1;
      while (at >= 0 && !(last && rotated[at].time === last.time && rotated[at].text === last.text && rotated[at].stream === last.stream)) at--;
      lines.push(...rotated.slice(at + 1));
      if (lines.length) last = lines[lines.length - 1];
      // No live file yet (between a rotation's rename and the next file): the next poll goes on.
      if (this.fd < 0) return lines;
      if (this.liveIno() === this.ino) {
        this.behind = false;
        return [...lines, ...this.drain()];
      }
      this.close();
    }
    return lines;
  }

  private liveIno(): number | undefined {
    try {
      return fs.statSync(this.logPath).ino;
    } catch {
      return undefined;
    }
  }

  private remember(lines: LogLine[]): LogLine[] {
    if (lines.length) this.last = lines[lines.length - 1];
    return lines;
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
    this.pending = Buffer.alloc(0);
  }

  private open(): void {
    try {
      this.fd = fs.openSync(this.logPath, 'r');
      this.ino = fs.fstatSync(this.fd).ino;
      this.offset = 0;
    } catch {
      this.fd = -1; // nothing logged yet
    }
  }

  private drain(): LogLine[] {
    if (fs.fstatSync(this.fd).size < this.offset) {
      // truncated in place (max-file 1)
      this.offset = 0;
      this.pending = Buffer.alloc(0);
    }
    const chunks: Buffer[] = [this.pending];
    const buf = Buffer.alloc(64 * 1024);
    for (;;) {
      const n = fs.readSync(this.fd, buf, 0, buf.length, this.offset);
      if (n <= 0) break;
      chunks.push(Buffer.from(buf.subarray(0, n)));
      this.offset += n;
    }
    const data = Buffer.concat(chunks);
    const { lines, consumed } = parseLogChunk(data, this.format);
    this.pending = data.subarray(consumed);
    return lines;
  }
}

/** Docker's --since/--until values: RFC 3339 times, Unix seconds, or durations like 10m. */
export function parseLogTime(value: string, now = Date.now()): number | undefined {
  const dur = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value);
  if (dur) {
    const mult: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
    return now - Number(dur[1]) * mult[dur[2]];
  }
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : t;
}
