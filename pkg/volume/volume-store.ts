// Named volumes: a directory under the graph root and a row in the database. Containers
// create them on first use (`-v name:/path`), as Docker does; `volume create` makes them ahead.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConflictError, InvalidArgumentError, NotFoundError } from '../errors';
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

export interface VolumeCreateOptions {
  driver?: string;
  labels?: Record<string, string>;
  options?: Record<string, string>;
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

const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
/** the local driver's options (Podman's): a mount type, its device and its mount options */
const LOCAL_OPTIONS = ['type', 'device', 'o', 'size', 'uid', 'gid', 'nocopy'];

function ownerOptions(options: Record<string, string>): { uid?: number; gid?: number } {
  const fields = new Map<string, string>();
  for (const item of (options.o ?? '').split(',')) {
    const eq = item.indexOf('=');
    if (eq > 0) fields.set(item.slice(0, eq), item.slice(eq + 1));
  }
  const id = (key: 'uid' | 'gid'): number | undefined => {
    const value = options[key] ?? fields.get(key);
    if (value === undefined) return undefined;
    if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`invalid volume option ${key}=${value}: use a number`);
    return Number(value);
  };
  return options.type === 'tmpfs' ? {} : { uid: id('uid'), gid: id('gid') };
}

/** A mount of a container, as far as volumes care (ContainerConfig.mounts). */
interface VolumeUser {
  id: string;
  name: string;
  mounts: { type: string; source?: string }[];
}

export class VolumeStore {
  constructor(
    private readonly db: Db,
    private readonly graphRoot: string,
  ) {}

  get(name: string): VolumeRecord | undefined {
    const row = this.db.prepare('SELECT * FROM volumes WHERE name = ?').get(name) as VolumeRow | undefined;
    return row && toRecord(row);
  }

  require(name: string): VolumeRecord {
    const rec = this.get(name);
    if (!rec) throw new NotFoundError(`no volume with name "${name}" found: no such volume`);
    return rec;
  }

  list(): VolumeRecord[] {
    return (this.db.prepare('SELECT * FROM volumes ORDER BY name').all() as VolumeRow[]).map(toRecord);
  }

  /** `volume create`: a new volume; an existing name is a conflict. */
  create(name: string | undefined, opts: VolumeCreateOptions = {}): VolumeRecord {
    if (name !== undefined && !VOLUME_NAME.test(name)) {
      throw new InvalidArgumentError(`invalid volume name "${name}": names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*`);
    }
    const driver = opts.driver ?? 'local';
    if (driver !== 'local') throw new InvalidArgumentError(`volume driver "${driver}" is not supported: only "local" is`);
    for (const key of Object.keys(opts.options ?? {})) {
      if (!LOCAL_OPTIONS.includes(key)) throw new InvalidArgumentError(`invalid mount option ${key} for driver 'local': use ${LOCAL_OPTIONS.join(', ')}`);
    }
    const type = opts.options?.type;
    if (type !== undefined && type !== 'tmpfs' && type !== 'bind' && type !== 'none') {
      throw new InvalidArgumentError(`volume type "${type}" is not supported rootless: use tmpfs or bind`);
    }
    if ((type === 'bind' || type === 'none') && !opts.options?.device) throw new InvalidArgumentError(`volume type "${type}" needs a device (the host directory)`);
    if (opts.options?.device && type !== 'tmpfs' && !fs.statSync(opts.options.device, { throwIfNoEntry: false })?.isDirectory()) {
      throw new InvalidArgumentError(`volume device ${opts.options.device} is not a directory`);
    }
    const owner = ownerOptions(opts.options ?? {});
    if (name !== undefined && this.get(name)) throw new ConflictError(`volume with name ${name} already exists: volume already exists`);
    const vol = this.ensure(name, opts);
    // o=uid=N,gid=N: the volume's root belongs to them (Podman's local driver option).
    if (owner.uid !== undefined || owner.gid !== undefined) fs.chownSync(vol.mountpoint, owner.uid ?? -1, owner.gid ?? -1);
    return vol;
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

  /** The containers (any state) whose mounts name the volume. */
  users(name: string, containers: readonly VolumeUser[]): VolumeUser[] {
    return containers.filter((c) => c.mounts.some((m) => m.type === 'volume' && m.source === name));
  }

  remove(name: string): void {
    const rec = this.get(name);
    if (!rec) return;
    writeTransaction(this.db, () => this.db.prepare('DELETE FROM volumes WHERE name = ?').run(name));
    fs.rmSync(path.dirname(rec.mountpoint), { recursive: true, force: true, maxRetries: 3 });
  }

  /** Bytes under the volume's directory (du's apparent size). */
  size(rec: VolumeRecord): number {
    return treeSize(rec.mountpoint);
  }
}

export function treeSize(dir: string): number {
  let total = 0;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += treeSize(p);
    else {
      try {
        total += fs.lstatSync(p).size;
      } catch {
        // gone meanwhile
      }
    }
  }
  return total;
}
