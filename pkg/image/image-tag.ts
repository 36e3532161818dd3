// `tag` and `untag`. Podman's naming rule for new names: a name without a registry is a local
// one, `localhost/NAME:latest` (Docker would say docker.io/library/NAME, but nothing built or
// tagged here came from Docker Hub). Names to untag are read the same way, then as the short
// names `images` shows (`busybox` finds docker.io/library/busybox:latest).
import { RegistriesConfig } from '../config/registries-conf';
import { InvalidArgumentError, NotFoundError } from '../errors';
import { requireImage } from './image-lookup';
import { ImageRecord, ImageStore } from './image-store';
import { formatReference, isShortName, parseReference, qualifyReference, withDefaultTag } from './reference';
import { localCandidates } from './short-names';

/** The full name a new tag gets: `myapp` → `localhost/myapp:latest`, `quay.io/a/b` → `quay.io/a/b:latest`. */
export function normalizeTagName(name: string): string {
  const ref = parseReference(name);
  if (ref.digest !== undefined) throw new InvalidArgumentError(`${name}: tag by digest not supported`);
  return formatReference(withDefaultTag(isShortName(name) ? qualifyReference(ref, 'localhost') : ref));
}

/** Gives the image `source` each of `targets` (moving a name that another image had). */
export function tagImage(store: ImageStore, conf: RegistriesConfig, source: string, targets: readonly string[]): { image: ImageRecord; names: string[] } {
  const names = targets.map(normalizeTagName);
  const image = requireImage(store, source, conf);
  for (const name of names) store.tag(image.id, name);
  return { image, names };
}

/** The image's own name that `name` means, if any. */
function ownName(image: ImageRecord, name: string, conf: RegistriesConfig): string | undefined {
  const candidates = [normalizeTagName(name), ...localCandidates(name, conf).map(formatReference)];
  return candidates.find((c) => image.names.includes(c));
}

/** `untag IMAGE [NAME...]`: the given names, or every name when none is given. Returns the names removed. */
export function untagImage(store: ImageStore, conf: RegistriesConfig, source: string, names: readonly string[]): string[] {
  const image = requireImage(store, source, conf);
  if (names.length === 0) return store.removeAllNames(image.id);
  const resolved = names.map((n) => {
    const own = ownName(image, n, conf);
    if (!own) throw new NotFoundError(`${normalizeTagName(n)}: tag not known`);
    return own;
  });
  for (const n of resolved) store.untag(image.id, n);
  return resolved;
}
