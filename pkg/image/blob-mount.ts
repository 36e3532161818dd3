// Reusing a blob a registry already holds, without having its bytes: a HEAD in the target
// repository, or a cross-repository mount from another repository on the same registry.
// registry-upload.ts mounts too, but falls back to uploading the bytes it was given; a push
// that no longer has a layer's original compressed blob must instead learn that the mount
// failed, cancel the upload session the registry opened instead, and compress the layer anew.
import { errorMessage } from '../errors';
import { log } from '../log';
import { repositoryScope } from './registry-auth';
import type { RegistryClient } from './registry-client';
import { UnauthorizedError } from './registry-errors';
import { discard, header } from './registry-http';

/** The scopes a push asks for: one token then serves HEADs, mounts and uploads alike. */
export function pushScopes(repository: string, mountFrom?: string): string[] {
  const scopes = [repositoryScope(repository, ['pull', 'push'])];
  if (mountFrom && mountFrom !== repository) scopes.push(repositoryScope(mountFrom, ['pull']));
  return scopes;
}

/** True when `repository` already holds the blob. */
export function blobPresent(client: RegistryClient, repository: string, digest: string): Promise<boolean> {
  return client.blobExists(repository, digest, pushScopes(repository));
}

/**
 * Asks the registry to link `digest` from `from` into `repository`. True when it did (201);
 * false when it opened an upload session instead (202: the source lacks the blob or we may
 * not read it), which is cancelled. Refused credentials are an error; other failures only
 * mean "not mounted".
 */
export async function mountBlob(client: RegistryClient, repository: string, digest: string, from: string): Promise<boolean> {
  const target = `/v2/${repository}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`;
  const name = `${client.host}/${repository}@${digest}`;
  const res = await client.send({ method: 'POST', target, scopes: pushScopes(repository, from), repository, context: `mounting ${name} from ${from}`, retry: false });
  const status = res.statusCode ?? 0;
  if (status === 201) {
    discard(res);
    return true;
  }
  if (status === 401 || status === 403) {
    const err = await client.responseError(res, 'upload', repository, name);
    if (err instanceof UnauthorizedError) throw err;
    return false;
  }
  const location = header(res, 'location');
  discard(res);
  if (status === 202 && location) await cancelUpload(client, repository, new URL(location, client.baseUrl));
  else log.debug(`mounting ${name} from ${from}: HTTP ${status}`);
  return false;
}

/** DELETE on an upload session: best effort, the registry expires abandoned ones anyway. */
async function cancelUpload(client: RegistryClient, repository: string, location: URL): Promise<void> {
  try {
    const res = await client.send({ method: 'DELETE', target: location, scopes: pushScopes(repository), repository, context: 'cancelling an upload', retry: false });
    discard(res);
  } catch (err) {
    log.debug(`cancelling upload ${location.pathname}: ${errorMessage(err)}`);
  }
}
