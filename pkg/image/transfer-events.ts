import { Transform, TransformCallback } from 'node:stream';

// What a pull or push reports while it works. The engine emits these; the CLI decides how
// to show them (bars on a terminal, plain lines otherwise, nothing with -q).

export type TransferEvent =
  | { kind: 'message'; text: string }
  | { kind: 'blob-start'; what: 'blob' | 'config'; digest: string; size: number }
  | { kind: 'blob-progress'; digest: string; done: number }
  | { kind: 'blob-done'; what: 'blob' | 'config'; digest: string; skipped?: 'exists' | 'mounted' };

/** Counts bytes for progress reports without changing them. */
export class ProgressCounter extends Transform {
  private done = 0;
  constructor(private readonly report: (done: number) => void) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.done += chunk.length;
    this.report(this.done);
    cb(null, chunk);
  }
}

export type TransferListener = (event: TransferEvent) => void;

export const silentListener: TransferListener = () => undefined;
