// The attach protocol of tspod-monitor (native/monitor.c): a SOCK_STREAM unix socket carrying
// frames [type u8][length u32 big-endian][payload].
//   monitor -> client: Stdout, Stderr (raw output), Exit (decimal exit code; the monitor then
//                      closes the connection)
//   client -> monitor: Stdin (raw input), Resize ("ROWS COLS"), StdinEof (closes the stdin pipe;
//                      nothing for a tty, where ^D is data), Detach (the client is leaving),
//                      Cleanup (this client removes the container after the exit: the monitor
//                      waits for it to close, and skips its exit command when it sent
//                      CleanupDone first)
// Pure: no sockets here, so the format is unit-tested on its own.

export const FrameType = {
  Stdin: 0,
  Stdout: 1,
  Stderr: 2,
  Resize: 3,
  StdinEof: 4,
  Exit: 5,
  Detach: 6,
  Cleanup: 7,
  CleanupDone: 8,
} as const;

export type FrameTypeValue = (typeof FrameType)[keyof typeof FrameType];

export const FRAME_HEADER_SIZE = 5;
/** The monitor drops a client whose control frame (resize) carries this much or more. */
export const MAX_CONTROL_PAYLOAD = 64;
/** Stdin is sent in frames of at most this much, so neither side needs large buffers. */
export const MAX_STDIN_CHUNK = 16 * 1024;
/** What the decoder accepts from a monitor; anything longer means the stream is garbage. */
export const MAX_DECODED_PAYLOAD = 16 * 1024 * 1024;

/** Ctrl-P Ctrl-Q, Docker's default detach sequence. */
export const DEFAULT_DETACH_KEYS: readonly Buffer[] = [Buffer.from([0x10]), Buffer.from([0x11])];

export interface Frame {
  type: number;
  payload: Buffer;
}

export function encodeFrame(type: number, payload: Buffer | string = Buffer.alloc(0)): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const frame = Buffer.allocUnsafe(FRAME_HEADER_SIZE + body.length);
  frame.writeUInt8(type, 0);
  frame.writeUInt32BE(body.length, 1);
  body.copy(frame, FRAME_HEADER_SIZE);
  return frame;
}

/** Stdin as frames of at most MAX_STDIN_CHUNK bytes. */
export function encodeStdin(data: Buffer): Buffer[] {
  const frames: Buffer[] = [];
  for (let off = 0; off < data.length; off += MAX_STDIN_CHUNK) {
    frames.push(encodeFrame(FrameType.Stdin, data.subarray(off, off + MAX_STDIN_CHUNK)));
  }
  return frames;
}

export function encodeResize(rows: number, cols: number): Buffer {
  for (const [name, v] of [['rows', rows], ['cols', cols]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new RangeError(`invalid terminal ${name}: ${v}`);
  }
  return encodeFrame(FrameType.Resize, `${rows} ${cols}`);
}

/** The exit frame's payload: a decimal exit code. */
export function parseExitCode(payload: Buffer): number {
  const text = payload.toString('utf8').trim();
  if (!/^-?\d+$/.test(text)) throw new Error(`invalid exit frame from the monitor: ${JSON.stringify(text)}`);
  return Number(text);
}

/** Splits a byte stream into frames, whatever the chunk boundaries. */
export class FrameDecoder {
  private buffered: Buffer[] = [];
  private bufferedLength = 0;

  constructor(private readonly maxPayload = MAX_DECODED_PAYLOAD) {}

  /** Bytes received that do not make a whole frame yet. */
  get pending(): number {
    return this.bufferedLength;
  }

  push(chunk: Buffer): Frame[] {
    if (chunk.length === 0) return [];
    this.buffered.push(chunk);
    this.bufferedLength += chunk.length;
    const data = this.buffered.length === 1 ? this.buffered[0] : Buffer.concat(this.buffered, this.bufferedLength);
    const frames: Frame[] = [];
    let off = 0;
    while (data.length - off >= FRAME_HEADER_SIZE) {
      const length = data.readUInt32BE(off + 1);
      if (length > this.maxPayload) throw new Error(`monitor frame of ${length} bytes exceeds ${this.maxPayload}`);
      if (data.length - off < FRAME_HEADER_SIZE + length) break;
      const start = off + FRAME_HEADER_SIZE;
      frames.push({ type: data[off], payload: data.subarray(start, start + length) });
      off = start + length;
    }
    const rest = data.subarray(off);
    this.buffered = rest.length > 0 ? [rest] : [];
    this.bufferedLength = rest.length;
    return frames;
  }
}

/**
 * Finds the detach sequence in stdin as Docker does: bytes that could begin the sequence are
 * held back; they are sent on when the sequence breaks, and dropped when it completes.
 */
export class DetachKeyMatcher {
  private readonly keys: Buffer;
  private matched = 0;

  constructor(keys: readonly Buffer[] = DEFAULT_DETACH_KEYS) {
    this.keys = Buffer.concat(keys as Buffer[]);
  }

  /** forward: what to send to the container now; detached: the sequence completed. */
  feed(chunk: Buffer): { forward: Buffer; detached: boolean } {
    if (this.keys.length === 0) return { forward: chunk, detached: false };
    const out: Buffer[] = [];
    let plainFrom = 0;
    for (let i = 0; i < chunk.length; i++) {
      if (chunk[i] === this.keys[this.matched]) {
        if (this.matched === 0) {
          out.push(chunk.subarray(plainFrom, i));
        }
        this.matched++;
        if (this.matched === this.keys.length) {
          this.matched = 0;
          return { forward: Buffer.concat(out), detached: true };
        }
        plainFrom = i + 1;
        continue;
      }
      if (this.matched > 0) {
        // The held prefix was ordinary input after all; this byte may start a new match.
        out.push(this.keys.subarray(0, this.matched));
        this.matched = 0;
        plainFrom = i;
        i--;
        continue;
      }
    }
    if (this.matched === 0) out.push(chunk.subarray(plainFrom));
    return { forward: Buffer.concat(out), detached: false };
  }
}
