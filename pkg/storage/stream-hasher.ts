// The sha256 of a byte stream, computed off the main thread: the diff ID of a layer while it
// is extracted, and the check of a tar reassembled from tar-split data.
import * as crypto from 'node:crypto';
import type { Worker } from 'node:worker_threads';

// sha256 runs at about 1 GB/s here: a quarter of the main thread's time on a big layer. So the
// bytes are copied (memcpy is several times faster than hashing) into a session's ring of
// SharedArrayBuffer slots, and one shared worker thread hashes each slot and marks it free
// again. postMessage with a transferred ArrayBuffer was measured at ~0.9 ms per MiB, as slow as
// hashing itself; a shared slot costs a memcpy and a tiny message. A stream shorter than one
// slot is hashed right here: no worker is started for it.
//
// Starting the worker is not free either: 30-60 ms before it hashes its first byte and about
// as much CPU (a new isolate), which is what hashing 30-40 MB costs here. A caller that knows
// roughly how big its stream is (a layer's compressed size) says so: a small one is hashed in
// line from its first byte, a big one goes to the worker from its first byte, and
// prewarmHashWorker() lets the worker start while the stream is still on its way.
const HASH_SLOT = 1 << 20;
const HASH_SLOTS = 8;
/** a stream announced at least this big is hashed on the worker (8 MiB of gzip: ~20 MiB of tar) */
export const WORKER_HASH_MIN = 8 << 20;
const HASH_WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const crypto = require('node:crypto');
const sessions = new Map();
parentPort.on('message', (m) => {
  if (m.open) { sessions.set(m.id, { hash: crypto.createHash('sha256'), data: m.data, ctl: new Int32Array(m.ctl) }); return; }
  const s = sessions.get(m.id);
  if (s === undefined) return;
  if (m.slot !== undefined) {
    s.hash.update(new Uint8Array(m.data ?? s.data, m.slot * ${HASH_SLOT}, m.len));
    Atomics.store(s.ctl, m.slot, 0);
    Atomics.notify(s.ctl, m.slot);
  }
  if (m.end) { sessions.delete(m.id); parentPort.postMessage({ id: m.id, digest: s.hash.digest('hex') }); }
  else if (m.abort) sessions.delete(m.id);
});`;

class HashWorker {
  private static instance: HashWorker | undefined;
  private readonly worker: Worker;
  private readonly waiting = new Map<number, { resolve: (hex: string) => void; reject: (err: Error) => void }>();
  private nextId = 1;
  private active = 0;
  failed: Error | undefined;

  static get(): HashWorker {
    HashWorker.instance ??= new HashWorker();
    return HashWorker.instance;
  }

  private constructor() {
    // Loaded here, not at the top: a start-up snapshot that has node:worker_threads initialized
    // at build time leaves its cwd counter (a SharedArrayBuffer) out, and every worker then
    // dies in process.cwd() ("undefined is not an integer typed array").
    const { Worker: WorkerThread } = require('node:worker_threads') as typeof import('node:worker_threads');
    this.worker = new WorkerThread(HASH_WORKER_SOURCE, { eval: true });
    this.worker.unref();
    this.worker.on('message', (m: { id: number; digest: string }) => {
      this.waiting.get(m.id)?.resolve(m.digest);
      this.waiting.delete(m.id);
      this.release();
    });
    this.worker.on('error', (err) => {
      this.failed = err;
      HashWorker.instance = undefined;
      for (const w of this.waiting.values()) w.reject(err);
      this.waiting.clear();
    });
  }

  open(data: SharedArrayBuffer, ctl: SharedArrayBuffer): number {
    if (this.active++ === 0) this.worker.ref();
    const id = this.nextId++;
    this.worker.postMessage({ id, open: true, data, ctl });
    return id;
  }

  private release(): void {
    if (--this.active === 0) this.worker.unref();
  }

  send(id: number, slot: number, len: number): void {
    this.worker.postMessage({ id, slot, len });
  }

  finish(id: number, slot?: number, len?: number): Promise<string> {
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ id, slot, len, end: true });
    });
  }

  abort(id: number): void {
    this.worker.postMessage({ id, abort: true });
    this.release();
  }
}

/** Starts the hash worker now, so that it is ready when a big stream comes (see WORKER_HASH_MIN). */
export function prewarmHashWorker(): void {
  HashWorker.get();
}

export interface StreamHasherOptions {
  /**
   * About how many bytes the stream holds, when known (a lower bound is fine): below
   * WORKER_HASH_MIN it is hashed on this thread, from WORKER_HASH_MIN on the worker. Unknown:
   * on this thread up to one slot, then on the worker.
   */
  sizeHint?: number;
}

/** Feed with update(); digest() gives "sha256:<hex>"; abort() when giving up. */
export class StreamHasher {
  private readonly head: Buffer[] = [];
  private headLength = 0;
  /** the stream was announced small: hashed here, never buffered */
  private readonly inline: crypto.Hash | undefined;
  private worker: HashWorker | undefined;
  private id = 0;
  private data: Buffer | undefined;
  private ctl: Int32Array | undefined;
  private slot = 0;
  private fill = 0;

  constructor(opts: StreamHasherOptions = {}) {
    const hint = opts.sizeHint;
    if (hint === undefined) return;
    if (hint < WORKER_HASH_MIN) this.inline = crypto.createHash('sha256');
    else this.start();
  }

  update(chunk: Buffer): void {
    if (this.inline !== undefined) {
      this.inline.update(chunk);
      return;
    }
    if (this.data === undefined) {
      this.head.push(chunk);
      this.headLength += chunk.length;
      if (this.headLength < HASH_SLOT) return;
      this.start();
      return;
    }
    this.copyIn(chunk);
  }

  private start(): void {
    const data = new SharedArrayBuffer(HASH_SLOT * HASH_SLOTS);
    const ctl = new SharedArrayBuffer(4 * HASH_SLOTS);
    this.worker = HashWorker.get();
    this.id = this.worker.open(data, ctl);
    this.data = Buffer.from(data);
    this.ctl = new Int32Array(ctl);
    this.claim(0);
    for (const chunk of this.head.splice(0)) this.copyIn(chunk);
  }

  /** Waits (blocking, briefly: the worker outpaces extraction) until the slot is hashed. */
  private claim(slot: number): void {
    const ctl = this.ctl as Int32Array;
    while (Atomics.load(ctl, slot) !== 0) {
      if (this.worker?.failed) throw this.worker.failed;
      Atomics.wait(ctl, slot, 1, 1000);
    }
    Atomics.store(ctl, slot, 1);
    this.slot = slot;
    this.fill = 0;
  }

  private copyIn(chunk: Buffer): void {
    const data = this.data as Buffer;
    let off = 0;
    while (off < chunk.length) {
      const n = Math.min(chunk.length - off, HASH_SLOT - this.fill);
      chunk.copy(data, this.slot * HASH_SLOT + this.fill, off, off + n);
      this.fill += n;
      off += n;
      if (this.fill === HASH_SLOT) {
        this.worker?.send(this.id, this.slot, this.fill);
        this.claim((this.slot + 1) % HASH_SLOTS);
      }
    }
  }

  async digest(): Promise<string> {
    if (this.inline !== undefined) return `sha256:${this.inline.digest('hex')}`;
    if (this.worker === undefined) {
      const hash = crypto.createHash('sha256');
      for (const chunk of this.head) hash.update(chunk);
      return `sha256:${hash.digest('hex')}`;
    }
    return `sha256:${await this.worker.finish(this.id, this.slot, this.fill)}`;
  }

  abort(): void {
    this.worker?.abort(this.id);
    this.worker = undefined;
  }
}
