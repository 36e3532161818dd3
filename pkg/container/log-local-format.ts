// Reading Docker's `local` log driver records (the monitor writes them: native/monitor-log-local.c):
//   [size: u32 big-endian][LogEntry, protobuf][size: u32 big-endian]
// LogEntry { string source = 1; int64 time_nano = 2; bytes line = 3; bool partial = 4; ... }.
// The line is kept without its newline; a partial record continues in the next one.
import type { LogLine } from './container-logs';

/** A protobuf varint at buf[pos]: its value (as BigInt: time_nano exceeds 2^53) and the next position. */
function varint(buf: Buffer, pos: number, end: number): [bigint, number] {
  let value = 0n;
  let shift = 0n;
  while (pos < end) {
    const b = buf[pos++];
    value |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return [value, pos];
    shift += 7n;
  }
  throw new Error('truncated varint');
}

/** Nanoseconds since the epoch as RFC 3339 with 9 fraction digits (what k8s-file records carry). */
export function nanoTime(ns: bigint): string {
  const seconds = ns / 1_000_000_000n;
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return new Date(Number(seconds) * 1000).toISOString().replace(/\.\d{3}Z$/, `.${frac}Z`);
}

function decodeEntry(buf: Buffer, start: number, end: number): LogLine {
  let stream: LogLine['stream'] = 'stdout';
  let time = 0n;
  let line: Buffer = Buffer.alloc(0);
  let partial = false;
  let pos = start;
  while (pos < end) {
    const [key, next] = varint(buf, pos, end);
    pos = next;
    const field = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (wire === 0) {
      const [v, after] = varint(buf, pos, end);
      pos = after;
      if (field === 2) time = v;
      else if (field === 4) partial = v !== 0n;
    } else if (wire === 2) {
      const [len, after] = varint(buf, pos, end);
      const bytes = buf.subarray(after, after + Number(len));
      pos = after + Number(len);
      if (field === 1) stream = bytes.toString() === 'stderr' ? 'stderr' : 'stdout';
      else if (field === 3) line = bytes;
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else throw new Error(`unknown protobuf wire type ${wire}`);
  }
  return { time: nanoTime(time), stream, text: partial ? line.toString() : `${line.toString()}\n` };
}

/** The whole records in buf; `consumed` says where an incomplete one (still being written) starts. */
export function parseLocalRecords(buf: Buffer): { lines: LogLine[]; consumed: number } {
  const lines: LogLine[] = [];
  let pos = 0;
  while (pos + 4 <= buf.length) {
    const size = buf.readUInt32BE(pos);
    if (pos + 8 + size > buf.length) break;
    try {
      lines.push(decodeEntry(buf, pos + 4, pos + 4 + size));
    } catch {
      // a damaged record: skip it, as Docker's reader does with what it cannot decode
    }
    pos += 8 + size;
  }
  return { lines, consumed: pos };
}
