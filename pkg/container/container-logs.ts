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

function readMaybeCompressed(file: string): Buffer {
  try {
    const data = fs.readFileSync(file);
    return file.endsWith('.gz') ? zlib.gunzipSync(data) : data;
  } catch {
    return Buffer.alloc(0); // rotated away or compressed meanwhile
  }
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

  constructor(
    private readonly logPath: string,
    private readonly format: FileLogFormat,
  ) {}

  /** The rotated files and the live one, as lines. */
  read(): LogLine[] {
    this.open();
    const rotated = rotatedLogFiles(this.logPath).map(readMaybeCompressed);
    return this.remember([...rotated.flatMap((b) => parseLog(b, this.format)), ...this.poll()]);
  }

  /** What was written since the last call (complete lines only). */
  poll(): LogLine[] {
    if (this.fd < 0) this.open();
    if (this.fd < 0) return [];
    const out = this.drain();
    let current: fs.Stats | undefined;
    try {
      current = fs.statSync(this.logPath);
    } catch {
      current = undefined;
    }
    if (current && current.ino !== this.ino) {
      // Rotated: the old file was drained above. Several rotations may have happened since the
      // last poll, so the files rotated after it come next: everything after the last line
      // emitted (all of them when that line's file was dropped already), then the new live file.
      fs.closeSync(this.fd);
      this.fd = -1;
      this.pending = Buffer.alloc(0);
      const last = out.length ? out[out.length - 1] : this.last;
      const rotated = rotatedLogFiles(this.logPath).flatMap((f) => parseLog(readMaybeCompressed(f), this.format));
      let at = rotated.length - 1;
      while (at >= 0 && !(last && rotated[at].time === last.time && rotated[at].text === last.text && rotated[at].stream === last.stream)) at--;
      out.push(...rotated.slice(at + 1));
      // Rotated again since the stat above, before the next live file is made: the next poll
      // opens that one from its start.
      this.open();
      if (this.fd >= 0) out.push(...this.drain());
    }
    return this.remember(out);
  }

  private last?: LogLine;

  private remember(lines: LogLine[]): LogLine[] {
    if (lines.length) this.last = lines[lines.length - 1];
    return lines;
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
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
