// The build cache: (parent image, step key) → the intermediate image the step produced. A row
// is only a hint: the image (and so its layers) may have been removed since, and then the
// step runs again. Podman finds its cache by walking intermediate images; a keyed table makes
// a fully cached rebuild one indexed lookup per step.
import * as crypto from 'node:crypto';
import { Db, writeTransaction } from '../state/database';
import { ImageStore, ImageRecord } from '../image/image-store';

/** The step key: whatever decides the step's result, hashed. */
export function stepKey(parts: unknown[]): string {
  return crypto.createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

export class BuildCache {
  constructor(
    private readonly db: Db,
    private readonly images: ImageStore,
  ) {}

  /** The cached result of `step` on `parent`, if its image is still stored. */
  lookup(parent: string | undefined, step: string): ImageRecord | undefined {
    const row = this.db.prepare('SELECT image_id FROM build_cache WHERE parent = ? AND step = ?').get(parent ?? '', step) as { image_id: string } | undefined;
    if (!row) return undefined;
    const image = this.images.get(row.image_id);
    if (!image) {
      // the image was removed since: the row can only miss from now on
      writeTransaction(this.db, () => this.db.prepare('DELETE FROM build_cache WHERE parent = ? AND step = ?').run(parent ?? '', step));
      return undefined;
    }
    if (image.topLayer !== null) {
      const layer = this.db.prepare('SELECT state FROM layers WHERE id = ?').get(image.topLayer) as { state: string } | undefined;
      if (layer?.state !== 'ready') return undefined;
    }
    return image;
  }

  record(parent: string | undefined, step: string, imageId: string): void {
    writeTransaction(this.db, () =>
      this.db
        .prepare('INSERT INTO build_cache (parent, step, image_id, created) VALUES (?, ?, ?, ?) ON CONFLICT(parent, step) DO UPDATE SET image_id = excluded.image_id, created = excluded.created')
        .run(parent ?? '', step, imageId, Date.now()),
    );
  }
}
