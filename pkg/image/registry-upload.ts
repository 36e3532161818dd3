// The push half of the distribution API: blob uploads (cross-repository mount, monolithic
// PUT, or chunked PATCHes closed by a PUT) and manifest PUTs. An upload session lives on the
// registry, so a failed request is not replayed alone: the whole upload starts over, with the
// same backoff as other requests.
import type { IncomingMessage } from 'node:http';
import { Readable, Transform } from 'node:stream';
import { InvalidArgumentError } from '../errors';
import { log } from '../log';
import type { RegistryClient } from './registry-client';
import { DigestMismatchError, digestLike, sha256Digest, validateDigest } from './digest';
import { repositoryScope } from './registry-auth';
import { RegistryError, isTransientNetworkError } from './registry-errors';
import { discard, header, sleep } from './registry-http';

export interface UploadBlobOptions {
  /** upload in PATCH chunks of this many bytes (default: one monolithic PUT) */
  chunkSize?: number;
  /** a repository on the same registry that has the blob: ask for a mount first */
  mountFrom?: string;
  /** false: upload even when a HEAD says the blob is there */
  checkExisting?: boolean;
}

export interface UploadResult {
  digest: string;
  size: number;
  /** what happened: already there, mounted from `mountFrom`, or uploaded */
  status: 'exists' | 'mounted' | 'uploaded';
}

interface Session {
  client: RegistryClient;
  repository: string;
  digest: string;
  size: number;
  scopes: string[];
  name: string;
}

function withDigest(location: URL, digest: string): URL {
  // Appended by hand: re-serialising searchParams would re-encode the registry's opaque state.
  const sep = location.search ? '&' : '?';
  return new URL(`${location.href}${sep}digest=${encodeURIComponent(digest)}`);
}

function nextLocation(s: Session, res: IncomingMessage, current: URL): URL {
  const loc = header(res, 'location');
  if (!loc) throw new RegistryError(`uploading ${s.name}: the registry sent no upload Location`, res.statusCode ?? 0);
  return new URL(loc, current);
}

async function expect(s: Session, res: IncomingMessage, statuses: number[]): Promise<void> {
  if (statuses.includes(res.statusCode ?? 0)) return;
  throw await s.client.responseError(res, 'upload', s.repository, s.name);
}

/** POST to start a session (or mount); a 201 means the mount worked and there is nothing to send. */
async function start(s: Session, mountFrom: string | undefined): Promise<URL | 'mounted'> {
  const query = mountFrom ? `?mount=${encodeURIComponent(s.digest)}&from=${encodeURIComponent(mountFrom)}` : '';
  const target = `/v2/${s.repository}/blobs/uploads/${query}`;
  const res = await s.client.send({ method: 'POST', target, scopes: s.scopes, repository: s.repository, context: `starting upload of ${s.name}` });
  if (mountFrom && res.statusCode === 201) {
    discard(res);
    return 'mounted';
  }
  await expect(s, res, [202]);
  discard(res);
  return nextLocation(s, res, new URL(target, s.client.baseUrl));
}

async function finish(s: Session, res: IncomingMessage): Promise<void> {
  await expect(s, res, [201, 204]);
  discard(res);
  const told = header(res, 'docker-content-digest');
  if (told && told !== s.digest) throw new DigestMismatchError(s.digest, told, s.size, s.size, 'uploaded blob');
}

/**
 * Fails the request when the source yields another size than announced: with a fixed
 * Content-Length, a short body would otherwise leave the registry waiting until a timeout.
 */
function sized(s: Session, source: Readable): Readable {
  let count = 0;
  const check = new Transform({
    transform(chunk: Buffer, _enc, done) {
      count += chunk.length;
      if (count > s.size) done(new DigestMismatchError(s.digest, undefined, s.size, count, 'blob to upload'));
      else done(null, chunk);
    },
    flush(done) {
      done(count === s.size ? null : new DigestMismatchError(s.digest, undefined, s.size, count, 'blob to upload'));
    },
  });
  source.on('error', (err) => check.destroy(err));
  return source.pipe(check);
}

async function putMonolithic(s: Session, location: URL, streamFactory: () => Readable): Promise<void> {
  const res = await s.client.send({
    method: 'PUT',
    target: withDigest(location, s.digest),
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(s.size) },
    body: () => sized(s, streamFactory()),
    scopes: s.scopes,
    repository: s.repository,
    context: `uploading ${s.name}`,
    retry: false,
  });
  await finish(s, res);
}

async function patchChunk(s: Session, location: URL, chunk: Buffer, start: number): Promise<URL> {
  const res = await s.client.send({
    method: 'PATCH',
    target: location,
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${start}-${start + chunk.length - 1}` },
    body: chunk,
    scopes: s.scopes,
    repository: s.repository,
    context: `uploading ${s.name}`,
    retry: false,
  });
  await expect(s, res, [202]);
  discard(res);
  return nextLocation(s, res, location);
}

async function putChunked(s: Session, location: URL, stream: Readable, chunkSize: number): Promise<void> {
  let sent = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const data of stream) {
    pending.push(data as Buffer);
    pendingBytes += (data as Buffer).length;
    while (pendingBytes >= chunkSize) {
      const all = Buffer.concat(pending);
      location = await patchChunk(s, location, all.subarray(0, chunkSize), sent);
      sent += chunkSize;
      pending = [all.subarray(chunkSize)];
      pendingBytes = all.length - chunkSize;
    }
  }
  if (pendingBytes > 0) {
    location = await patchChunk(s, location, Buffer.concat(pending), sent);
    sent += pendingBytes;
  }
  if (sent !== s.size) throw new DigestMismatchError(s.digest, undefined, s.size, sent, 'blob to upload');
  const res = await s.client.send({
    method: 'PUT',
    target: withDigest(location, s.digest),
    scopes: s.scopes,
    repository: s.repository,
    context: `uploading ${s.name}`,
    retry: false,
  });
  await finish(s, res);
}

function retryable(err: unknown): boolean {
  return isTransientNetworkError(err) || (err instanceof RegistryError && (err.status === 429 || err.status >= 500));
}

export async function uploadBlob(
  client: RegistryClient,
  repository: string,
  digest: string,
  size: number,
  streamFactory: () => Readable,
  opts: UploadBlobOptions = {},
): Promise<UploadResult> {
  validateDigest(digest);
  if (!Number.isSafeInteger(size) || size < 0) throw new InvalidArgumentError(`invalid blob size ${size}`);
  if (opts.chunkSize !== undefined && !(opts.chunkSize > 0)) throw new InvalidArgumentError(`invalid chunk size ${opts.chunkSize}`);
  const mountFrom = opts.mountFrom && opts.mountFrom !== repository ? opts.mountFrom : undefined;
  const scopes = [repositoryScope(repository, ['pull', 'push'])];
  if (mountFrom) scopes.push(repositoryScope(mountFrom, ['pull']));
  const s: Session = { client, repository, digest, size, scopes, name: `${client.host}/${repository}@${digest}` };
  if (opts.checkExisting !== false && (await client.blobExists(repository, digest, scopes))) return { digest, size, status: 'exists' };
  for (let attempt = 0; ; attempt++) {
    try {
      const location = await start(s, mountFrom);
      if (location === 'mounted') return { digest, size, status: 'mounted' };
      if (opts.chunkSize && size > opts.chunkSize) await putChunked(s, location, streamFactory(), opts.chunkSize);
      else await putMonolithic(s, location, streamFactory);
      return { digest, size, status: 'uploaded' };
    } catch (err) {
      if (attempt >= client.retryDelays.length || !retryable(err)) throw err;
      log.debug(`retrying upload of ${s.name}: ${(err as Error).message}`);
      await sleep(client.retryDelays[attempt]);
    }
  }
}

/** PUTs manifest bytes as they are (their digest is their identity); returns that digest. */
export async function putManifest(client: RegistryClient, repository: string, reference: string, bytes: Buffer, mediaType: string): Promise<string> {
  const byDigest = reference.includes(':');
  const digest = byDigest ? digestLike(reference, bytes) : sha256Digest(bytes);
  if (byDigest && digest !== reference) throw new DigestMismatchError(reference, digest, bytes.length, bytes.length, 'manifest');
  const name = `${client.host}/${repository}${byDigest ? '@' : ':'}${reference}`;
  const res = await client.send({
    method: 'PUT',
    target: `/v2/${repository}/manifests/${reference}`,
    headers: { 'Content-Type': mediaType },
    body: bytes,
    scopes: [repositoryScope(repository, ['pull', 'push'])],
    repository,
    context: `pushing manifest ${name}`,
  });
  if (res.statusCode !== 201 && res.statusCode !== 200 && res.statusCode !== 202) throw await client.responseError(res, 'upload', repository, name);
  discard(res);
  const told = header(res, 'docker-content-digest');
  if (told && told !== digest) log.warn(`${name}: the registry reports digest ${told} for a manifest whose digest is ${digest}`);
  return digest;
}
