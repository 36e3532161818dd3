// Named volumes: a directory under the graph root and a row in the database. Containers
// create them on first use (`-v name:/path`), as Docker does.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Db, writeTransaction } from '../state/database';

export interface VolumeRecord {
  name: string;
  driver: string;
  mountpoint: string;
  labels: Record<string, string>;
  options: Record<string, string>;
  anonymous: boolean;
  created: number;
}

interface VolumeRow {
  name: string;
  driver: string;
  mountpoint: string;
  labels: string;
  options: string;
  anonymous: number;
  created: number;
}

const toRecord = (r: VolumeRow): VolumeRecord => ({
  name: r.name,
  driver: r.driver,
  mountpoint: r.mountpoint,
  labels: JSON.parse(r.labels) as Record<string, string>,
  options: JSON.parse(r.options) as Record<string, string>,
  anonymous: r.anonymous !== 0,
  created: r.created,
});

export class VolumeStore {
  constructor(
    private readonly db: Db,
    private readonly graphRoot: string,
  ) {}

  get(name: string): VolumeRecord | undefined {
    const row = this.db.prepare('SELECT * FROM volumes WHERE name = ?').get(name) as VolumeRow | undefined;
    return row && toRecord(row);
  }

  list(): VolumeRecord[] {
    return (this.db.prepare('SELECT * FROM volumes ORDER BY name').all() as VolumeRow[]).map(toRecord);
  }

  /** The volume, created when missing; `name` undefined makes an anonymous one. */
  ensure(name: string | undefined, opts: { labels?: Record<string, string>; options?: Record<string, string> } = {}): VolumeRecord {
    const volName = name ?? crypto.randomBytes(32).toString('hex');
    const existing = this.get(volName);
    if (existing) return existing;
    const mountpoint = path.join(this.graphRoot, 'volumes', volName, '_data');
    fs.mkdirSync(mountpoint, { recursive: true, mode: 0o755 });
    writeTransaction(this.db, () =>
      this.db
        .prepare("INSERT OR IGNORE INTO volumes (name, driver, mountpoint, labels, options, anonymous, created) VALUES (?, 'local', ?, ?, ?, ?, ?)")
        .run(volName, mountpoint, JSON.stringify(opts.labels ?? {}), JSON.stringify(opts.options ?? {}), name === undefined ? 1 : 0, Date.now()),
    );
    return this.get(volName) as VolumeRecord;
  }

  remove(name: string): void {
    const rec = this.get(name);
    if (!rec) return;
    writeTransaction(this.db, () => this.db.prepare('DELETE FROM volumes WHERE name = ?').run(name));
    fs.rmSync(path.dirname(rec.mountpoint), { recursive: true, force: true });
  }
}
