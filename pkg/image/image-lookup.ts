// Finding a local image the way a user names it: a full or short ID, a full name, a short
// name (resolved through the same candidates pull would use, localhost/ first), or a
// name@digest. Docker and Podman accept all of these wherever an image is expected.
import { RegistriesConfig } from '../config/registries-conf';
import { InvalidArgumentError, NotFoundError } from '../errors';
import { ImageRecord, ImageStore } from './image-store';
import { formatReference, repositoryName } from './reference';
import { localCandidates } from './short-names';

const FULL_ID = /^(sha256:)?[0-9a-f]{64}$/;
const ID_PREFIX = /^(sha256:)?[0-9a-f]{3,63}$/;

export function findImage(store: ImageStore, name: string, conf: RegistriesConfig): ImageRecord | undefined {
  if (FULL_ID.test(name)) return store.get(name.startsWith('sha256:') ? name : `sha256:${name}`);
  let candidates;
  try {
    candidates = localCandidates(name, conf);
  } catch (err) {
    // Not a valid reference; it may still be a short ID.
    if (ID_PREFIX.test(name)) return store.byIdPrefix(name);
    throw err;
  }
  for (const ref of candidates) {
    if (ref.digest !== undefined) {
      const byDigest = store.byRepoDigest(`${repositoryName(ref)}@${ref.digest}`);
      if (byDigest) return byDigest;
      continue;
    }
    const byName = store.byName(formatReference(ref));
    if (byName) return byName;
  }
  return ID_PREFIX.test(name) ? store.byIdPrefix(name) : undefined;
}

/** Like findImage, but a missing image is a NotFoundError with Podman's wording. */
export function requireImage(store: ImageStore, name: string, conf: RegistriesConfig): ImageRecord {
  if (name.trim() === '') throw new InvalidArgumentError('image name cannot be empty');
  const image = findImage(store, name, conf);
  if (!image) throw new NotFoundError(`${name}: image not known`);
  return image;
}
