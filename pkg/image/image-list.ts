// `images`: what the list shows, as pure functions over image summaries. One row per name
// (an untagged image is one `<none> <none>` row), Podman's columns and sort keys, Docker's
// filters. The summaries come from one batched read of the store (ImageStore.list), never a
// query per image: `images` must stay fast with hundreds of names.
import { InvalidArgumentError } from '../errors';
import { humanSize, timeAgo } from '../format/human-units';
import { CompiledFilters, FilterableImage } from './image-filters';
import { ImageRecord, ImageStore } from './image-store';
import { EngineConfig } from '../config/engine-config';
import { openDatabase } from '../state/database';

/** One image, as `images` and its filters see it. */
export interface ImageSummary extends FilterableImage {
  /** sha256:<hex> */
  id: string;
  parent: string | null;
  /** bytes: the image's layers' content */
  size: number;
  /** ms since the epoch */
  added: number;
  /** every name the image has had, newest first (Podman's NamesHistory) */
  namesHistory: string[];
}

export const SORT_KEYS = ['created', 'id', 'repository', 'size', 'tag'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

export interface ListOptions {
  /** -a: intermediate images (untagged parents of other images) too */
  all?: boolean;
  filters?: CompiledFilters;
  sort?: string;
}

/** One line of `images`: an image under one of its names. */
export interface ListEntry {
  image: ImageSummary;
  repository: string;
  tag: string;
}

/** The fields a `--format` template sees for each row (Docker's names, Podman's extras). */
export interface ImageRowView {
  ID: string;
  Id: string;
  Repository: string;
  Tag: string;
  Digest: string;
  Digests: string[];
  CreatedSince: string;
  CreatedAt: string;
  Created: number;
  Size: string;
  VirtualSize: number;
  SharedSize: number;
  Labels: Record<string, string>;
  Names: string[];
  Dangling: boolean;
  Containers: number;
  ReadOnly: boolean;
  History: string;
}

/** Table titles for the row fields (`table {{.ID}}` prints `IMAGE ID`). */
export const IMAGE_HEADERS: Record<string, string> = {
  ID: 'IMAGE ID',
  Id: 'IMAGE ID',
  Repository: 'REPOSITORY',
  Tag: 'TAG',
  Digest: 'DIGEST',
  Digests: 'DIGESTS',
  CreatedSince: 'CREATED',
  CreatedAt: 'CREATED AT',
  Created: 'CREATED',
  Size: 'SIZE',
  VirtualSize: 'VIRTUAL SIZE',
  SharedSize: 'SHARED SIZE',
  Labels: 'LABELS',
  Names: 'NAMES',
  Dangling: 'DANGLING',
  Containers: 'CONTAINERS',
  ReadOnly: 'READ ONLY',
  History: 'HISTORY',
};

/** The default table's fields (Podman's), and with --digests. */
export const DEFAULT_COLUMNS: readonly (keyof ImageRowView)[] = ['Repository', 'Tag', 'ID', 'CreatedSince', 'Size'];
export const DIGESTS_COLUMNS: readonly (keyof ImageRowView)[] = ['Repository', 'Tag', 'Digest', 'ID', 'CreatedSince', 'Size'];

/** The config's labels, or none when the config cannot be read (a listing must not fail on one image). */
export function configLabels(config: Buffer): Record<string, string> {
  try {
    const doc = JSON.parse(config.toString()) as { config?: { Labels?: unknown } | null };
    const labels = doc.config?.Labels;
    return labels && typeof labels === 'object' && !Array.isArray(labels) ? (labels as Record<string, string>) : {};
  } catch {
    return {};
  }
}

export function summarizeImages(records: readonly ImageRecord[], containerCounts: ReadonlyMap<string, number>): ImageSummary[] {
  const parents = new Set(records.map((r) => r.parent).filter((p): p is string => p !== null));
  return records.map((r) => {
    const untagged = r.names.length === 0;
    const history = Array.isArray(r.extra.namesHistory) ? (r.extra.namesHistory as string[]) : [...r.names].reverse();
    return {
      id: r.id,
      names: r.names,
      digests: r.digests,
      manifestDigest: r.manifestDigest,
      created: r.created,
      added: r.added,
      size: r.size,
      parent: r.parent,
      labels: configLabels(r.config),
      containers: containerCounts.get(r.id) ?? 0,
      dangling: untagged && !parents.has(r.id),
      intermediate: untagged && parents.has(r.id),
      namesHistory: history,
    };
  });
}

/** Every image in the store, summarised, from four queries. */
export function loadImageSummaries(store: ImageStore): ImageSummary[] {
  return summarizeImages(store.list(), store.containerCounts());
}

/**
 * Runs `fn` on the image store alone. Commands that only read and write image rows (images,
 * tag, untag, image exists) use this instead of Engine: Engine's module loads the storage
 * drivers and the tar code, which costs such a command more time than its work.
 */
export function withImageStore<T>(config: EngineConfig, fn: (store: ImageStore) => T): T {
  const db = openDatabase(config.databasePath);
  try {
    return fn(new ImageStore(db));
  } finally {
    db.close();
  }
}

/** `docker.io/library/busybox:latest` → repository and tag (`<none>` when the name has none). */
export function splitName(name: string): { repository: string; tag: string } {
  const at = name.indexOf('@');
  const base = at >= 0 ? name.slice(0, at) : name;
  const colon = base.lastIndexOf(':');
  if (colon > base.lastIndexOf('/')) return { repository: base.slice(0, colon), tag: base.slice(colon + 1) };
  return { repository: base, tag: '<none>' };
}

export function checkSortKey(sort: string): SortKey {
  if (!(SORT_KEYS as readonly string[]).includes(sort)) {
    throw new InvalidArgumentError(`"${sort}" is not a valid field for sorting. Choose from: ${SORT_KEYS.join(', ')}`);
  }
  return sort as SortKey;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const SORTERS: Record<SortKey, (a: ListEntry, b: ListEntry) => number> = {
  created: (a, b) => b.image.created - a.image.created,
  id: (a, b) => compareStrings(a.image.id, b.image.id),
  repository: (a, b) => compareStrings(a.repository, b.repository),
  size: (a, b) => a.image.size - b.image.size,
  tag: (a, b) => compareStrings(a.tag, b.tag),
};

/**
 * The rows of `images`, sorted (newest first by default). Ties keep the store's order: most
 * recently added image first, an image's names in the order they were given.
 */
export function listImages(images: readonly ImageSummary[], opts: ListOptions = {}): ListEntry[] {
  const sortKey = checkSortKey(opts.sort ?? 'created');
  const entries: ListEntry[] = [];
  for (const image of images) {
    if (image.intermediate && !opts.all) continue;
    if (opts.filters && !opts.filters.matches(image)) continue;
    const names = opts.filters ? opts.filters.names(image) : image.names;
    if (image.names.length === 0) {
      entries.push({ image, repository: '<none>', tag: '<none>' });
      continue;
    }
    for (const name of names) entries.push({ image, ...splitName(name) });
  }
  // Array.prototype.sort is stable, so equal keys keep the order above.
  return entries.sort(SORTERS[sortKey]);
}

function hex(id: string): string {
  return id.startsWith('sha256:') ? id.slice(7) : id;
}

/** Go's time.Time String() in UTC, which Docker and Podman print for CreatedAt. */
export function goTimeString(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)} +0000 UTC`;
}

/** A row's fields; History and CreatedAt are computed when read (a template or `{{json .}}`):
 * the default table never shows them, and History joins every name of the image, which for an
 * image with 100 names is 100 joins of 100 names, ~3 ms of `images`. */
export function rowView(entry: ListEntry, opts: { noTrunc?: boolean; now?: number } = {}): ImageRowView {
  const { image } = entry;
  return {
    ID: opts.noTrunc ? image.id : hex(image.id).slice(0, 12),
    Id: hex(image.id),
    Repository: entry.repository,
    Tag: entry.tag,
    Digest: image.manifestDigest ?? '<none>',
    Digests: image.digests,
    CreatedSince: timeAgo(image.created, opts.now),
    get CreatedAt() {
      return goTimeString(image.created);
    },
    Created: Math.floor(image.created / 1000),
    Size: humanSize(image.size),
    VirtualSize: image.size,
    SharedSize: 0,
    Labels: image.labels,
    Names: image.names,
    Dangling: image.dangling,
    Containers: image.containers,
    ReadOnly: false,
    get History() {
      return image.namesHistory.join(', ');
    },
  };
}

/** `images -q`: each image's ID once, in row order. */
export function quietIds(entries: readonly ListEntry[], noTrunc = false): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const { image } of entries) {
    if (seen.has(image.id)) continue;
    seen.add(image.id);
    out.push(noTrunc ? image.id : hex(image.id).slice(0, 12));
  }
  return out;
}

/** `images --format json`: one object per image (Podman's ImageSummary), in row order. */
export function jsonSummaries(entries: readonly ListEntry[]): Record<string, unknown>[] {
  const seen = new Set<string>();
  const out: Record<string, unknown>[] = [];
  for (const { image } of entries) {
    if (seen.has(image.id)) continue;
    seen.add(image.id);
    out.push({
      Id: hex(image.id),
      ParentId: image.parent ? hex(image.parent) : '',
      RepoTags: image.names,
      RepoDigests: image.digests,
      Size: image.size,
      SharedSize: 0,
      VirtualSize: image.size,
      Labels: image.labels,
      Containers: image.containers,
      ReadOnly: false,
      Dangling: image.dangling,
      Names: image.names,
      Digest: image.manifestDigest ?? '',
      History: image.namesHistory,
      Created: Math.floor(image.created / 1000),
      CreatedAt: new Date(image.created).toISOString().replace('.000Z', 'Z'),
    });
  }
  return out;
}
