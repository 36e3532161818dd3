// Streaming a blob out of a registry into a DigestVerifier. Large layers travel over flaky
// links: when the connection breaks mid-body, the download continues with a Range request
// from the byte it reached (up to the client's retry count), so the consumer sees one stream.
import type { IncomingMessage } from 'node:http';
import type { BlobDownload, RegistryClient } from './registry-client';
import { DigestVerifier } from './digest';
import { RegistryError, connectionError, isTransientNetworkError } from './registry-errors';
import { discard, header, sleep } from './registry-http';
import { repositoryScope } from './registry-auth';

interface OpenedBlob {
  res: IncomingMessage;
  /** bytes at the start of the body to drop (the server ignored our Range) */
  skip: number;
  total?: number;
}

async function openBlob(client: RegistryClient, repository: string, digest: string, from: number, name: string): Promise<OpenedBlob> {
  const res = await client.send({
    method: 'GET',
    target: `/v2/${repository}/blobs/${digest}`,
    headers: from > 0 ? { Range: `bytes=${from}-` } : undefined,
    scopes: [repositoryScope(repository, ['pull'])],
    repository,
    context: `fetching blob ${name}`,
  });
  const length = header(res, 'content-length');
  if (res.statusCode === 200) return { res, skip: from, total: length ? Number(length) : undefined };
  if (res.statusCode === 206) {
    const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header(res, 'content-range') ?? '');
    if (!m || Number(m[1]) !== from) {
      discard(res);
      throw new RegistryError(`fetching blob ${name}: the registry answered a request from byte ${from} with range "${header(res, 'content-range')}"`, 206);
    }
    return { res, skip: 0, total: m[3] === '*' ? undefined : Number(m[3]) };
  }
  throw await client.responseError(res, 'blob', repository, name);
}

/** Waits until `out` wants more data; rejects if it errors or is closed by the consumer. */
function drained(out: DigestVerifier): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: Error) => {
      out.off('drain', onDrain);
      out.off('error', done);
      out.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onDrain = () => done();
    const onClose = () => done(new Error('consumer closed the blob stream'));
    out.on('drain', onDrain);
    out.on('error', done);
    out.on('close', onClose);
  });
}

/** Copies bodies into `out`, re-requesting from the current position after a transient break. */
async function pump(client: RegistryClient, repository: string, digest: string, first: OpenedBlob, from: number, out: DigestVerifier, name: string): Promise<void> {
  let opened = first;
  let position = from;
  let retries = 0;
  for (;;) {
    const { res } = opened;
    let skip = opened.skip;
    try {
      for await (const chunk of res) {
        let c = chunk as Buffer;
        if (skip > 0) {
          const n = Math.min(skip, c.length);
          skip -= n;
          c = c.subarray(n);
          if (!c.length) continue;
        }
        if (out.destroyed) break;
        position += c.length;
        if (!out.write(c)) await drained(out);
      }
      if (out.destroyed) res.destroy();
      else out.end();
      return;
    } catch (err) {
      res.destroy();
      if (out.destroyed) return;
      if (retries >= client.retryDelays.length || !isTransientNetworkError(err)) {
        out.destroy(connectionError(err, `fetching blob ${name}`));
        return;
      }
      await sleep(client.retryDelays[retries++]);
      try {
        opened = await openBlob(client, repository, digest, position, name);
      } catch (reopenErr) {
        out.destroy(reopenErr as Error);
        return;
      }
    }
  }
}

export async function downloadBlob(client: RegistryClient, repository: string, digest: string, offset: number, out: DigestVerifier, name: string): Promise<BlobDownload> {
  const first = await openBlob(client, repository, digest, offset, name);
  void pump(client, repository, digest, first, offset, out, name);
  return { stream: out, size: first.total, offset };
}
