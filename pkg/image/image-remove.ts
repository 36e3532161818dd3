// Removing images (`rmi`, `image prune`). Each decision (untag or delete, with the untagged
// parents a deleted image leaves) is checked and made in one IMMEDIATE transaction, so a
// concurrent `tag` or `create` cannot slip in between the check and the delete. The layers
// are released afterwards, from the top of the chain down, until one is still used by another
// image; a process killed between the two leaves unreferenced layers that `image prune`
// (LayerStore.gc) collects.
//
// Semantics, per argument:
//   - a name of an image that has other names: untag that name only (`Untagged: NAME`);
//   - the last name, an ID or a digest: delete the image (`Untagged:` for each name, then
//     `Deleted: ID`), and then its untagged parents that nothing else uses (Docker);
//   - by ID when the image has several names: refused without -f (Docker's conflict);
//   - used by a container: refused without -f ("image is in use", exit 2 like Podman); with -f
//     the names go and the image stays for its containers (Docker's rmi -f).
// Exit codes follow Podman 4.3: 2 if any image was in use, else 125 for other failures, else
// 1 when only names were not found.
import { errorMessage, InvalidArgumentError, NotFoundError, TspodError } from '../errors';
import { Db, writeTransaction } from '../state/database';
import { LayerStore } from '../storage/layer-store';
import { RegistriesConfig } from '../config/registries-conf';
import { ImageRecord, ImageStore } from './image-store';
import { formatReference, ImageReference, repositoryName } from './reference';
import { localCandidates } from './short-names';
import { CompiledFilters } from './image-filters';
import { summarizeImages } from './image-list';

/** What removal needs of the engine (Engine has it; tests pass a store on a scratch directory). */
export interface RemovalEngine {
  readonly db: Db;
  readonly images: ImageStore;
  readonly config: { registries: RegistriesConfig };
  layers(): Promise<LayerStore>;
}

export type FailureKind = 'not-found' | 'in-use' | 'conflict' | 'other';

export interface RemoveFailure {
  kind: FailureKind;
  message: string;
}

export interface RemoveReport {
  /** full names, in the order they were removed */
  untagged: string[];
  /** image IDs (hex), in the order they were deleted */
  deleted: string[];
  failures: RemoveFailure[];
}

export interface RemoveOptions {
  force?: boolean;
  /** -i: a missing image is not an error */
  ignore?: boolean;
  /** prune: leave an image that got a name since it was chosen */
  onlyDangling?: boolean;
}

/** How an argument named its image: the untag-or-delete decision depends on it. */
export interface ResolvedTarget {
  image: ImageRecord;
  by: 'id' | 'name' | 'digest';
  /** the full name, when `by` is 'name' */
  name?: string;
  /** what the user typed, for messages */
  arg?: string;
}

const FULL_ID = /^(sha256:)?[0-9a-f]{64}$/;
const ID_PREFIX = /^(sha256:)?[0-9a-f]{3,63}$/;

/** Like findImage (same order: full ID, names, digests, short ID), but says what matched. */
export function resolveTarget(store: ImageStore, arg: string, conf: RegistriesConfig): ResolvedTarget | undefined {
  if (arg.trim() === '') throw new InvalidArgumentError('image name cannot be empty');
  if (FULL_ID.test(arg)) {
    const image = store.get(arg.startsWith('sha256:') ? arg : `sha256:${arg}`);
    return image && { image, by: 'id' };
  }
  let candidates: ImageReference[];
  try {
    candidates = localCandidates(arg, conf);
  } catch (err) {
    if (!ID_PREFIX.test(arg)) throw err;
    candidates = [];
  }
  for (const ref of candidates) {
    if (ref.digest !== undefined) {
      const image = store.byRepoDigest(`${repositoryName(ref)}@${ref.digest}`);
      if (image) return { image, by: 'digest' };
      continue;
    }
    const name = formatReference(ref);
    const image = store.byName(name);
    if (image) return { image, by: 'name', name };
  }
  if (!ID_PREFIX.test(arg)) return undefined;
  const image = store.byIdPrefix(arg);
  return image && { image, by: 'id' };
}

function hex(id: string): string {
  return id.replace(/^sha256:/, '');
}

class RemoveError extends TspodError {
  constructor(
    readonly kind: FailureKind,
    message: string,
  ) {
    super(message);
  }
}

function inUse(containerId: string): RemoveError {
  return new RemoveError('in-use', `image used by ${containerId}: image is in use by a container: consider listing external containers and force-removing image`);
}

interface Decision {
  untagged: string[];
  /** the images deleted (the one named, then untagged parents it left), whose layers are to be released */
  deleted: ImageRecord[];
}

/** Checks and applies one removal inside one transaction. `all` is `rmi -a` (names never block). */
function decide(engine: RemovalEngine, target: ResolvedTarget, opts: RemoveOptions, all = false): Decision {
  const store = engine.images;
  return writeTransaction(engine.db, () => {
    const image = store.get(target.image.id);
    if (!image) throw new RemoveError('not-found', `${target.arg ?? target.name ?? hex(target.image.id)}: image not known`);
    if (opts.onlyDangling && image.names.length > 0) throw new RemoveError('conflict', `${hex(image.id)}: image has a name now`);
    const byName = target.by === 'name' && target.name !== undefined;
    if (byName && image.names.length > 1) {
      if (!store.untag(image.id, target.name as string)) throw new RemoveError('not-found', `${target.arg ?? target.name}: image not known`);
      return { untagged: [target.name as string], deleted: [] };
    }
    if (!byName && !all && !opts.force && image.names.length > 1) {
      throw new RemoveError('conflict', `conflict: unable to delete ${hex(image.id).slice(0, 12)} (must be forced) - image is referenced in multiple repositories`);
    }
    const users = store.containersUsing(image.id);
    if (users.length > 0) {
      if (!opts.force) throw inUse(users[0].id);
      // Docker's rmi -f: the names go, the image stays for its containers.
      return { untagged: store.removeAllNames(image.id), deleted: [] };
    }
    if (store.children(image.id).length > 0) {
      if (byName) {
        store.untag(image.id, target.name as string);
        return { untagged: [target.name as string], deleted: [] };
      }
      throw new RemoveError('conflict', `conflict: unable to delete ${hex(image.id).slice(0, 12)} (cannot be forced) - image has dependent child images`);
    }
    store.delete(image.id);
    return { untagged: image.names, deleted: [image, ...dropUnusedParents(store, image)] };
  });
}

/** Frees an image's layers from the top down, stopping at the first one another image still uses. */
export async function releaseLayers(layers: LayerStore, topLayer: string | null): Promise<string[]> {
  const removed: string[] = [];
  for (let id = topLayer; id !== null; ) {
    const parent = layers.get(id)?.parent ?? null;
    if (!(await layers.remove(id))) break;
    removed.push(id);
    id = parent;
  }
  return removed;
}

/** Deletes the untagged parents a deleted image leaves behind, while nothing else uses them (call inside its transaction). */
function dropUnusedParents(store: ImageStore, image: ImageRecord): ImageRecord[] {
  const dropped: ImageRecord[] = [];
  for (let id = image.parent; id !== null; ) {
    const parent = store.get(id);
    if (!parent || parent.names.length > 0 || store.children(id).length > 0 || store.containersUsing(id).length > 0) break;
    store.delete(id);
    dropped.push(parent);
    id = parent.parent;
  }
  return dropped;
}

async function applyDecision(engine: RemovalEngine, decision: Decision, report: RemoveReport): Promise<void> {
  report.untagged.push(...decision.untagged);
  if (decision.deleted.length === 0) return;
  const layers = await engine.layers();
  for (const image of decision.deleted) {
    report.deleted.push(hex(image.id));
    await releaseLayers(layers, image.topLayer);
  }
}

function failure(err: unknown): RemoveFailure {
  if (err instanceof RemoveError) return { kind: err.kind, message: err.message };
  if (err instanceof NotFoundError) return { kind: 'not-found', message: err.message };
  return { kind: 'other', message: errorMessage(err) };
}

/**
 * `rmi NAME...`: removes what it can and reports each failure. Names are looked up first (as
 * Podman does), so lookup failures come before removal failures in the report.
 */
export async function removeImages(engine: RemovalEngine, args: readonly string[], opts: RemoveOptions = {}): Promise<RemoveReport> {
  const report: RemoveReport = { untagged: [], deleted: [], failures: [] };
  const store = engine.images;
  const targets: ResolvedTarget[] = [];
  for (const arg of args) {
    try {
      const target = resolveTarget(store, arg, engine.config.registries);
      if (target) targets.push({ ...target, arg });
      else if (!opts.ignore && !opts.force) report.failures.push({ kind: 'not-found', message: `${arg}: image not known` });
    } catch (err) {
      report.failures.push(failure(err));
    }
  }
  for (const target of targets) {
    try {
      await applyDecision(engine, decide(engine, target, opts), report);
    } catch (err) {
      const f = failure(err);
      if (f.kind === 'not-found' && (opts.ignore || opts.force)) continue;
      report.failures.push(f);
    }
  }
  return report;
}

/** Children first, so a parent is never refused for having them. */
function childrenFirst(images: ImageRecord[]): ImageRecord[] {
  const out: ImageRecord[] = [];
  const placed = new Set<string>();
  let rest = images;
  while (rest.length > 0) {
    const pending = new Set(rest.map((i) => i.parent).filter((p): p is string => p !== null));
    const ready = rest.filter((i) => !pending.has(i.id));
    if (ready.length === 0) return [...out, ...rest]; // a cycle cannot happen; never loop on one
    for (const i of ready) placed.add(i.id);
    out.push(...ready);
    rest = rest.filter((i) => !placed.has(i.id));
  }
  return out;
}

/** `rmi -a`: every image, names and all. */
export async function removeAllImages(engine: RemovalEngine, opts: RemoveOptions = {}): Promise<RemoveReport> {
  const report: RemoveReport = { untagged: [], deleted: [], failures: [] };
  const store = engine.images;
  for (const image of childrenFirst(store.list())) {
    try {
      if (!store.get(image.id)) continue; // went with a child
      await applyDecision(engine, decide(engine, { image, by: 'id' }, opts, true), report);
    } catch (err) {
      const f = failure(err);
      if (f.kind !== 'not-found') report.failures.push(f);
    }
  }
  return report;
}

/** Podman 4.3's rmi exit code: 2 if any image was in use, 125 for other failures, 1 for missing images only. */
export function removeExitCode(report: RemoveReport): number {
  const kinds = new Set(report.failures.map((f) => f.kind));
  if (kinds.has('in-use')) return 2;
  if (kinds.has('conflict') || kinds.has('other')) return 125;
  if (kinds.has('not-found')) return 1;
  return 0;
}

export interface PruneOptions {
  /** -a: every image no container uses, not only dangling ones */
  all?: boolean;
  filters?: CompiledFilters;
}

export interface PruneReport {
  /** image IDs (hex) */
  deleted: string[];
  untagged: string[];
}

/**
 * `image prune`: dangling images (with `all`, every image without containers), repeated while
 * removing a child leaves its parent prunable; then the layer store's garbage collection.
 */
export async function pruneImages(engine: RemovalEngine, opts: PruneOptions = {}): Promise<PruneReport> {
  const store = engine.images;
  const report: PruneReport = { deleted: [], untagged: [] };
  const tried = new Set<string>();
  for (;;) {
    const summaries = summarizeImages(store.list(), store.containerCounts());
    const candidates = summaries.filter(
      (s) => !tried.has(s.id) && s.containers === 0 && (opts.all ? !summaries.some((c) => c.parent === s.id) : s.dangling) && (!opts.filters || opts.filters.matches(s)),
    );
    if (candidates.length === 0) break;
    for (const c of candidates) {
      tried.add(c.id);
      const image = store.get(c.id);
      if (!image) continue;
      const partial: RemoveReport = { untagged: [], deleted: [], failures: [] };
      try {
        await applyDecision(engine, decide(engine, { image, by: 'id' }, { onlyDangling: !opts.all }, true), partial);
      } catch (err) {
        // a container created meanwhile, or a new name: the image is no longer prunable
        if (failure(err).kind === 'other') throw err;
        continue;
      }
      report.untagged.push(...partial.untagged);
      report.deleted.push(...partial.deleted);
    }
  }
  await (await engine.layers()).gc();
  return report;
}
