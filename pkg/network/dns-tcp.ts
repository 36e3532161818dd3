// DNS over TCP frames each message with its length (RFC 1035 4.2.2: two bytes, big-endian).
// Pure, so the framing is unit-tested on its own.

/** MESSAGE with its length in front. */
export function tcpMessage(message: Buffer): Buffer {
  const out = Buffer.allocUnsafe(2 + message.length);
  out.writeUInt16BE(message.length, 0);
  message.copy(out, 2);
  return out;
}

/** Splits a TCP byte stream into messages, whatever the chunk boundaries. */
export class TcpMessageReader {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly onMessage: (message: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    while (this.pending.length >= 2) {
      const length = this.pending.readUInt16BE(0);
      if (this.pending.length < 2 + length) return;
      const message = this.pending.subarray(2, 2 + length);
      this.pending = this.pending.subarray(2 + length);
      this.onMessage(message);
    }
  }
}
