// Content digests (`sha256:<hex>`, as in opencontainers/go-digest) and a stream that checks
// one on the fly. Every blob from a registry or an archive passes through a DigestVerifier
// before anything is committed, so a truncated, corrupted or malicious download fails
// instead of landing in the store.
import * as crypto from 'node:crypto';
import { Transform, TransformCallback } from 'node:stream';
import { InvalidArgumentError, TspodError } from '../errors';
import { StreamHasher, WORKER_HASH_MIN } from '../storage/stream-hasher';

/** Hex lengths of the algorithms go-digest accepts; anything else is refused. */
const HEX_LENGTHS: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

export type DigestAlgorithm = 'sha256' | 'sha384' | 'sha512';

export interface ParsedDigest {
  algorithm: DigestAlgorithm;
  hex: string;
}

/** Why `s` is not a valid digest, or undefined when it is. Messages follow go-digest. */
export function digestProblem(s: string): string | undefined {
  const colon = s.indexOf(':');
  if (colon <= 0 || colon === s.length - 1) return 'invalid digest format';
  const algorithm = s.slice(0, colon);
  const hex = s.slice(colon + 1);
  // The grammar allows other algorithm names (e.g. `multihash+base58`); we cannot verify them.
  if (!/^[a-z0-9]+(?:[.+_-][a-z0-9]+)*$/.test(algorithm)) return 'invalid digest format';
  const len = HEX_LENGTHS[algorithm];
  if (len === undefined) return `unsupported digest algorithm "${algorithm}"`;
  if (hex.length !== len) return 'invalid checksum digest length';
  if (!/^[a-f0-9]+$/.test(hex)) return 'invalid checksum digest format';
  return undefined;
}

export function isDigest(s: string): boolean {
  return digestProblem(s) === undefined;
}

/** Checks `s` and splits it; throws InvalidArgumentError naming the problem. */
export function validateDigest(s: string): ParsedDigest {
  const problem = digestProblem(s);
  if (problem) throw new InvalidArgumentError(`${problem}: "${s}"`);
  const colon = s.indexOf(':');
  return { algorithm: s.slice(0, colon) as DigestAlgorithm, hex: s.slice(colon + 1) };
}

export function sha256Digest(data: Buffer | string): string {
  return 'sha256:' + crypto.createHash('sha256').update(data).digest('hex');
}

/** The digest of `data` in the algorithm `like` uses (sha256 when unsure). */
export function digestLike(like: string, data: Buffer): string {
  const { algorithm } = validateDigest(like);
  return `${algorithm}:` + crypto.createHash(algorithm).update(data).digest('hex');
}

/** The content did not match the digest or size it was announced with. */
export class DigestMismatchError extends TspodError {
  constructor(
    readonly expectedDigest: string,
    readonly actualDigest: string | undefined,
    readonly expectedSize: number | undefined,
    readonly actualSize: number,
    what = 'blob',
  ) {
    super(
      actualDigest === undefined || actualDigest === expectedDigest
        ? `${what} ${expectedDigest}: size mismatch: expected ${expectedSize} bytes, got ${actualSize}`
        : `${what} ${expectedDigest}: digest mismatch: got ${actualDigest} (${actualSize} bytes)`,
    );
  }
}

export interface DigestVerifierOptions {
  /** the size the descriptor announced; more bytes fail at once, fewer fail at the end */
  expectedSize?: number;
  /** words for messages ("layer", "config") */
  what?: string;
}

/**
 * Passes bytes through unchanged while hashing and counting them; at the end it errors with
 * DigestMismatchError unless both digest and size match. A consumer writes to disk under a
 * temporary name and commits only after this stream has ended without error.
 */
export class DigestVerifier extends Transform {
  private readonly hash: crypto.Hash | undefined;
  /**
   * A big sha256 blob (a layer) is hashed on the hash worker (stream-hasher.ts): in line it
   * cost ~1.4 ms per MB of the thread that writes the layer's files. Undefined once finished.
   */
  private offThread: StreamHasher | undefined;
  private readonly algorithm: DigestAlgorithm;
  private count = 0;
  private result: string | undefined;

  constructor(
    readonly expectedDigest: string,
    private readonly options: DigestVerifierOptions = {},
  ) {
    super();
    this.algorithm = validateDigest(expectedDigest).algorithm;
    const size = options.expectedSize ?? 0;
    if (this.algorithm === 'sha256' && size >= WORKER_HASH_MIN) this.offThread = new StreamHasher({ sizeHint: size });
    else this.hash = crypto.createHash(this.algorithm);
  }

  private update(chunk: Buffer): void {
    if (this.offThread) this.offThread.update(chunk);
    else this.hash?.update(chunk);
  }

  /** bytes seen so far (including seeded ones) */
  get bytes(): number {
    return this.count;
  }

  /** the digest computed over everything, once the stream has ended */
  get digest(): string | undefined {
    return this.result;
  }

  /**
   * Hashes bytes that were already received earlier (a partial download being resumed with
   * a Range request) without passing them on, so the final check covers the whole blob.
   */
  seed(chunk: Buffer): void {
    this.update(chunk);
    this.count += chunk.length;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.count += chunk.length;
    const max = this.options.expectedSize;
    if (max !== undefined && this.count > max) {
      done(new DigestMismatchError(this.expectedDigest, undefined, max, this.count, this.options.what));
      return;
    }
    try {
      this.update(chunk);
    } catch (err) {
      done(err as Error); // the hash worker died
      return;
    }
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    const check = (result: string): void => {
      this.result = result;
      const size = this.options.expectedSize;
      if (result !== this.expectedDigest || (size !== undefined && size !== this.count)) {
        done(new DigestMismatchError(this.expectedDigest, result, size, this.count, this.options.what));
        return;
      }
      done();
    };
    const offThread = this.offThread;
    if (offThread === undefined) {
      check(`${this.algorithm}:` + (this.hash as crypto.Hash).digest('hex'));
      return;
    }
    this.offThread = undefined;
    offThread.digest().then(check, (err: Error) => done(err));
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    // a stream given up midway: the worker's session for it ends too
    this.offThread?.abort();
    this.offThread = undefined;
    callback(err);
  }
}

/** Passes bytes through unchanged while hashing (sha256) and counting them. */
export class HashTap extends Transform {
  private readonly hash = crypto.createHash('sha256');
  bytes = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    done(null, chunk);
  }

  digest(): string {
    return `sha256:${this.hash.digest('hex')}`;
  }
}
