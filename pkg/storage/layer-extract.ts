// Extracts a layer stream into a directory: the tar reader (tar-reader.ts) hands each entry to
// the safe applier (layer-applier.ts), every byte is hashed off this thread (stream-hasher.ts)
// for the diff ID, and, when asked, the tar's structure is recorded (tar-split.ts).
import { Readable } from 'node:stream';
import { TspodError, errorMessage } from '../errors';
import { ApplierOptions, LayerApplier, WhiteoutDriver } from './layer-applier';
import { StreamHasher } from './stream-hasher';
import { TarReader } from './tar-reader';
import { TarSplitWriter } from './tar-split';

// Callers import these from here, as they did before the reader, the applier, the hasher and
// the decompression had modules of their own.
export { InsufficientIdsError, LayerEntryError, UnsafeLayerError } from './layer-errors';
export { Compression, compressionOfMediaType, decompressStream, sniffCompression } from './layer-compression';
export { WhiteoutDriver, normalizeEntryName } from './layer-applier';
export type { EntryType, TarHeader } from './tar-reader';

export interface ApplyOptions extends ApplierOptions {
  /**
   * Records the tar's structure (tar-split.ts) in this directory, the layer dir holding `dir`
   * as its diff, so the exact tar can be given back later.
   */
  tarSplitDir?: string;
  /** about how big the tar is, when known (a lower bound: a layer's compressed size): see StreamHasher */
  sizeHint?: number;
}

/** uncompressed bytes queued for extraction before the stream is paused */
const QUEUE_LIMIT = 1 << 20;

export interface ApplyResult {
  /** sha256 of exactly the bytes read from the stream: the layer's diff ID */
  diffId: string;
  /** bytes of the uncompressed tar */
  tarSize: number;
  /** bytes of regular-file content the layer holds */
  contentSize: number;
  entries: number;
}

/**
 * Extracts an uncompressed layer tar into dir (created by driver.createLayerDir), hashing
 * every byte read. On error the directory is left half-written: the caller removes it.
 */
export async function applyTar(input: Readable, dir: string, driver: WhiteoutDriver, opts: ApplyOptions = {}): Promise<ApplyResult> {
  const split = opts.tarSplitDir === undefined ? undefined : new TarSplitWriter(opts.tarSplitDir, dir);
  const applier = new LayerApplier(dir, driver, opts, split);
  const reader = new TarReader(applier, split);
  const hash = new StreamHasher({ sizeHint: opts.sizeHint });
  let tarSize = 0;
  try {
    applier.init();
    await new Promise<void>((resolve, reject) => {
      let settled = false;
      let ended = false;
      // an entry waiting on a driver call or helper process; 'end' may come meanwhile
      let waiting: Promise<void> | undefined;
      // Chunks are queued and extracted on the next tick, not inside the 'data' event: that
      // event fires within the decompressor's callback, which hands libuv's pool the next
      // chunk to inflate only once it returns. Extracting in the event serialized the two;
      // this way the pool inflates the next chunk while this thread writes the files.
      const queue: Buffer[] = [];
      let queued = 0;
      let scheduled = false;
      let pausedByUs = false;
      const fail = (err: Error): void => {
        if (settled) return;
        settled = true;
        queue.length = 0;
        reject(err);
      };
      let finishing = false;
      const finish = (): void => {
        if (settled || finishing) return;
        finishing = true;
        try {
          reader.end();
        } catch (err) {
          return fail(err as Error);
        }
        // the whiteouts held back for one driver call are recorded before directory metadata
        applier.flushWhiteouts().then(() => {
          if (settled) return;
          try {
            applier.finish();
          } catch (err) {
            return fail(err as Error);
          }
          settled = true;
          resolve();
        }, fail);
      };
      const extract = (chunk: Buffer): Promise<void> | undefined => {
        hash.update(chunk);
        tarSize += chunk.length;
        const pending = reader.write(chunk);
        if (pending === undefined && split?.backlogged) return split.drained();
        return pending;
      };
      const drain = (): void => {
        scheduled = false;
        while (!settled && waiting === undefined && queue.length > 0) {
          const chunk = queue.shift() as Buffer;
          queued -= chunk.length;
          let pending: Promise<void> | undefined;
          try {
            pending = extract(chunk);
          } catch (err) {
            return fail(err as Error);
          }
          if (pending) {
            waiting = pending.then(() => {
              waiting = undefined;
              drain();
            });
            waiting.catch(fail);
          }
        }
        if (settled || waiting !== undefined) return;
        if (pausedByUs && queued < QUEUE_LIMIT) {
          pausedByUs = false;
          input.resume();
        }
        if (ended && queue.length === 0) finish();
      };
      input.on('data', (chunk: Buffer) => {
        if (settled) return;
        queue.push(chunk);
        queued += chunk.length;
        if (queued >= QUEUE_LIMIT && !pausedByUs) {
          pausedByUs = true;
          input.pause();
        }
        if (!scheduled && waiting === undefined) {
          scheduled = true;
          process.nextTick(drain);
        }
      });
      input.on('end', () => {
        ended = true;
        if (!scheduled && waiting === undefined) drain();
      });
      input.on('error', fail);
      input.on('close', () => {
        if (!ended) fail(new TspodError('layer stream closed before its end'));
      });
      // it may have failed before we listened (a download that broke while the store prepared)
      if (input.destroyed) fail(input.errored ?? new TspodError('layer stream closed before its end'));
    });
    await split?.finish(tarSize);
  } catch (err) {
    reader.abort();
    split?.abort();
    hash.abort();
    input.destroy();
    if (err instanceof TspodError) throw err;
    throw new TspodError(errorMessage(err));
  }
  return { diffId: await hash.digest(), tarSize, contentSize: applier.contentSize, entries: applier.entries };
}
