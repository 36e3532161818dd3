// The digest a registry serves for a tag right now (mirrors first, as a pull would go), without
// pulling: what `auto-update` compares with the digests of the image a container runs.
import { Engine } from '../engine/engine';
import { TspodError } from '../errors';
import type { AuthStoreOptions } from './auth-store';
import { ImageReference, formatReference, manifestReference } from './reference';
import { RegistryClient } from './registry-client';
import { pullEndpoints } from './registry-endpoints';

export async function remoteDigest(engine: Engine, ref: ImageReference, opts: { tlsVerify?: boolean; authStore?: AuthStoreOptions } = {}): Promise<string> {
  let mirrorError: unknown;
  for (const endpoint of pullEndpoints(ref, engine.config.registries, { tlsVerify: opts.tlsVerify })) {
    const client = new RegistryClient(endpoint, { authStore: opts.authStore });
    try {
      // The top manifest's digest (an index's for multi-platform images), as pull records it.
      return (await client.getManifest(endpoint.repository, manifestReference(ref))).digest;
    } catch (err) {
      if (!endpoint.isMirror) throw err;
      mirrorError = err;
    } finally {
      client.close();
    }
  }
  throw mirrorError ?? new TspodError(`${formatReference(ref)}: no registry to ask`);
}
