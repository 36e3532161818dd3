// Images in the database: the exact config and manifest bytes (so inspect, save and push
// reproduce the same digests), their names (tags) and repo digests. Layers live in the
// layer store; an image points at its top layer's chain ID.
import { Db, writeTransaction } from '../state/database';
import { ConflictError, NotFoundError } from '../errors';

export interface ImageRecord {
  id: string; // sha256:<hex> of the config
  topLayer: string | null;
  config: Buffer;
  manifest: Buffer | null;
  manifestMediaType: string | null;
  manifestDigest: string | null;
  size: number;
  created: number;
  added: number;
  parent: string | null;
  names: string[];
  digests: string[];
  extra: Record<string, unknown>;
}

interface ImageRow {
  id: string;
  top_layer: string | null;
  config: Buffer;
  manifest: Buffer | null;
  manifest_media_type: string | null;
  manifest_digest: string | null;
  size: number;
  created: number;
  added: number;
  parent: string | null;
  extra: string;
}

export interface NewImage {
  id: string;
  topLayer: string | null;
  config: Buffer;
  manifest?: Buffer;
  manifestMediaType?: string;
  manifestDigest?: string;
  size: number;
  created: number;
  parent?: string;
  extra?: Record<string, unknown>;
}

type KeyValue = { k: string; v: string };

function groupBy(rows: KeyValue[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const { k, v } of rows) {
    const list = out.get(k);
    if (list) list.push(v);
    else out.set(k, [v]);
  }
  return out;
}

export class ImageStore {
  constructor(private readonly db: Db) {}

  private hydrate(row: ImageRow, names?: string[], digests?: string[]): ImageRecord {
    names ??= (this.db.prepare('SELECT name FROM image_names WHERE image_id = ? ORDER BY added, name').all(row.id) as { name: string }[]).map((r) => r.name);
    digests ??= (this.db.prepare('SELECT repo_digest FROM image_digests WHERE image_id = ? ORDER BY repo_digest').all(row.id) as { repo_digest: string }[]).map(
      (r) => r.repo_digest,
    );
    return {
      id: row.id,
      topLayer: row.top_layer,
      config: row.config,
      manifest: row.manifest,
      manifestMediaType: row.manifest_media_type,
      manifestDigest: row.manifest_digest,
      size: row.size,
      created: row.created,
      added: row.added,
      parent: row.parent,
      names,
      digests,
      extra: JSON.parse(row.extra) as Record<string, unknown>,
    };
  }

  /**
   * Every image, newest added first. Three queries whatever the count (names and digests are
   * read in bulk and grouped here), in one read transaction so they agree with each other.
   */
  list(): ImageRecord[] {
    return this.db.transaction(() => {
      const rows = this.db.prepare('SELECT * FROM images ORDER BY added DESC, id').all() as ImageRow[];
      const names = groupBy(this.db.prepare('SELECT image_id AS k, name AS v FROM image_names ORDER BY added, name').all() as KeyValue[]);
      const digests = groupBy(this.db.prepare('SELECT image_id AS k, repo_digest AS v FROM image_digests ORDER BY repo_digest').all() as KeyValue[]);
      return rows.map((r) => this.hydrate(r, names.get(r.id) ?? [], digests.get(r.id) ?? []));
    })();
  }

  get(id: string): ImageRecord | undefined {
    const row = this.db.prepare('SELECT * FROM images WHERE id = ?').get(id) as ImageRow | undefined;
    return row && this.hydrate(row);
  }

  /** By full name (`docker.io/library/alpine:latest`). */
  byName(name: string): ImageRecord | undefined {
    const row = this.db.prepare('SELECT images.* FROM images JOIN image_names ON image_names.image_id = images.id WHERE image_names.name = ?').get(name) as
      | ImageRow
      | undefined;
    return row && this.hydrate(row);
  }

  /** By repo digest (`docker.io/library/alpine@sha256:...`). */
  byRepoDigest(repoDigest: string): ImageRecord | undefined {
    const row = this.db.prepare('SELECT images.* FROM images JOIN image_digests ON image_digests.image_id = images.id WHERE repo_digest = ?').get(repoDigest) as
      | ImageRow
      | undefined;
    return row && this.hydrate(row);
  }

  /** By ID or unique ID prefix (with or without `sha256:`), as Docker accepts them. */
  byIdPrefix(prefix: string): ImageRecord | undefined {
    const hex = prefix.startsWith('sha256:') ? prefix.slice(7) : prefix;
    if (!/^[0-9a-f]{1,64}$/.test(hex)) return undefined;
    const rows = this.db.prepare("SELECT * FROM images WHERE id >= ? AND id < ? LIMIT 2").all(`sha256:${hex}`, `sha256:${hex}\uffff`) as ImageRow[];
    if (rows.length > 1) throw new ConflictError(`short ID "${prefix}" is ambiguous: it matches more than one image; give more characters`);
    return rows[0] && this.hydrate(rows[0]);
  }

  /** Every image name in the store (for short-name matching and `images`). */
  allNames(): { name: string; imageId: string }[] {
    return (this.db.prepare('SELECT name, image_id FROM image_names').all() as { name: string; image_id: string }[]).map((r) => ({ name: r.name, imageId: r.image_id }));
  }

  /**
   * Stores an image (or finds it stored) and points `names` at it. A name moves from the
   * image that had it, which may leave that one untagged (dangling), as in Docker.
   */
  put(image: NewImage, names: string[] = [], repoDigests: string[] = []): ImageRecord {
    const now = Date.now();
    writeTransaction(this.db, () => {
      this.db
        .prepare(
          `INSERT INTO images (id, top_layer, config, manifest, manifest_media_type, manifest_digest, size, created, added, parent, extra)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT(id) DO UPDATE SET
             manifest = coalesce(excluded.manifest, manifest),
             manifest_media_type = coalesce(excluded.manifest_media_type, manifest_media_type),
             manifest_digest = coalesce(excluded.manifest_digest, manifest_digest)`,
        )
        .run(
          image.id,
          image.topLayer,
          image.config,
          image.manifest ?? null,
          image.manifestMediaType ?? null,
          image.manifestDigest ?? null,
          image.size,
          image.created,
          now,
          image.parent ?? null,
          JSON.stringify(image.extra ?? {}),
        );
      for (const name of names) this.setName(image.id, name, now);
      for (const d of repoDigests) this.db.prepare('INSERT OR IGNORE INTO image_digests (repo_digest, image_id) VALUES (?, ?)').run(d, image.id);
    });
    return this.get(image.id) as ImageRecord;
  }

  /** Also records the name in the image's names history and its last tag time (Podman's NamesHistory, Docker's LastTagTime). */
  private setName(id: string, name: string, now: number): void {
    this.db
      .prepare('INSERT INTO image_names (name, image_id, added) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET image_id = excluded.image_id, added = excluded.added')
      .run(name, id, now);
    const row = this.db.prepare('SELECT extra FROM images WHERE id = ?').get(id) as { extra: string } | undefined;
    if (!row) return;
    const extra = JSON.parse(row.extra) as Record<string, unknown>;
    const history = Array.isArray(extra.namesHistory) ? (extra.namesHistory as unknown[]).filter((n): n is string => typeof n === 'string' && n !== name) : [];
    extra.namesHistory = [name, ...history];
    extra.lastTagTime = now;
    this.db.prepare('UPDATE images SET extra = ? WHERE id = ?').run(JSON.stringify(extra), id);
  }

  tag(id: string, name: string): void {
    if (!this.get(id)) throw new NotFoundError(`image ${id}: image not known`);
    writeTransaction(this.db, () => this.setName(id, name, Date.now()));
  }

  /** Returns false when the image did not have that name. */
  untag(id: string, name: string): boolean {
    return writeTransaction(this.db, () => this.db.prepare('DELETE FROM image_names WHERE image_id = ? AND name = ?').run(id, name).changes > 0);
  }

  removeAllNames(id: string): string[] {
    const rec = this.get(id);
    if (!rec) return [];
    writeTransaction(this.db, () => this.db.prepare('DELETE FROM image_names WHERE image_id = ?').run(id));
    return rec.names;
  }

  /** Replaces an image's manifest and extra data (a manifest list changes in place). */
  updateManifest(id: string, manifest: Buffer, mediaType: string, digest: string, extra: Record<string, unknown>): void {
    writeTransaction(this.db, () =>
      this.db.prepare('UPDATE images SET manifest = ?, manifest_media_type = ?, manifest_digest = ?, extra = ? WHERE id = ?').run(manifest, mediaType, digest, JSON.stringify(extra), id),
    );
  }

  /** Deletes the image row (names and digests go with it); its layers are the caller's to release. */
  delete(id: string): void {
    writeTransaction(this.db, () => this.db.prepare('DELETE FROM images WHERE id = ?').run(id));
  }

  /** Containers created from the image (Docker refuses to remove such an image without -f). */
  containersUsing(id: string): { id: string; name: string }[] {
    return this.db.prepare('SELECT id, name FROM containers WHERE image_id = ?').all(id) as { id: string; name: string }[];
  }

  /** How many containers each image has (images without containers are absent). */
  containerCounts(): Map<string, number> {
    const rows = this.db.prepare('SELECT image_id, count(*) AS n FROM containers WHERE image_id IS NOT NULL GROUP BY image_id').all() as { image_id: string; n: number }[];
    return new Map(rows.map((r) => [r.image_id, r.n]));
  }

  /** Images built on `id` (their `parent`): Docker keeps a parent while it has children. */
  children(id: string): string[] {
    return (this.db.prepare('SELECT id FROM images WHERE parent = ?').all(id) as { id: string }[]).map((r) => r.id);
  }

  /** Images whose top layer chain passes through `chainId` (used to keep shared layers). */
  topLayers(): string[] {
    return (this.db.prepare('SELECT DISTINCT top_layer FROM images WHERE top_layer IS NOT NULL').all() as { top_layer: string }[]).map((r) => r.top_layer);
  }
}
