// The content-addressed layer store: <graphRoot>/<driver dir>/<chain-id hex>/diff holds each
// layer's files, the `layers` table its row. A layer shared by two images is stored once.
//
// Many tspod processes use the store at once and any of them may be killed at any moment, so:
// - a layer is claimed by inserting its row as 'incomplete' and creating <hex>.lock (pid and
//   process start time, O_EXCL) in one IMMEDIATE transaction; every claim, commit, removal and
//   gc decision runs in such a transaction, which makes the lock-file checks race-free.
// - the claimer extracts into <hex>.tmp-<pid>, then renames it into place and marks the row
//   'ready' in one transaction. A killed claimer leaves a lock whose pid is dead: the next
//   claimer or gc() takes over, wipes what it left and redoes the work.
// - a second process wanting the same layer waits for the first (polling, bounded) and returns
//   its result; if the first failed, it extracts the layer itself.
// - directories are never deleted in place: a transaction renames them to *.removing-<pid>-N
//   and they are removed after it commits, so a concurrent putLayer of the same layer never
//   sees half a directory.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { NotFoundError, TspodError, errorMessage } from '../errors';
import { DigestMismatchError } from '../image/digest';
import { Db, writeTransaction } from '../state/database';
import { chainId as makeChainId, digestHex } from './chain-id';
import type { GraphDriver } from './graph-driver';
import { ApplyResult, applyTar } from './layer-extract';
import { createLayerHome } from './layer-home';
import { tarLayerDir } from './layer-tar';
import { hasTarSplit, reassembleTar } from './tar-split';

export type LayerState = 'incomplete' | 'ready';

export interface LayerRecord {
  /** chain ID */
  id: string;
  parent: string | null;
  diffId: string;
  compressedDigest: string | null;
  compressedSize: number | null;
  mediaType: string | null;
  /** bytes of file content in this layer's diff */
  size: number;
  state: LayerState;
  /** ms since the epoch */
  created: number;
}

export interface PutLayerOptions {
  /** chain ID of the layer below; it must be ready, unless parentReady is given */
  parent?: string;
  /**
   * The parent is still being stored (by this process): settles when it is stored or failed.
   * Drivers that do not copy the parent (overlay) extract meanwhile, and only the commit waits
   * for it; vfs waits before it starts. The layer fails if this rejects.
   */
  parentReady?: Promise<unknown>;
  /** the diff ID the image config announces: extraction fails unless the tar hashes to it */
  diffId?: string;
  compressedDigest?: string;
  compressedSize?: number;
  mediaType?: string;
  /** the uncompressed tar; consumed, or destroyed when another process already has the layer */
  stream: Readable;
  ignoreChownErrors?: boolean;
}

export interface LayerStoreOptions {
  /** how long putLayer waits for another live process extracting the same layer */
  waitTimeoutMs?: number;
  pollMs?: number;
  /** gc() spares unreferenced layers younger than this: a pull adds its image row last */
  graceMs?: number;
}

export interface GcReport {
  /** unreferenced ready layers removed */
  layers: string[];
  /** incomplete layers of dead processes removed */
  incomplete: string[];
  /** leftover directories and files removed (temp dirs, orphans) */
  paths: string[];
}

interface LayerRow {
  id: string;
  parent: string | null;
  diff_id: string;
  compressed_digest: string | null;
  compressed_size: number | null;
  media_type: string | null;
  size: number;
  state: LayerState;
  created: number;
}

type Claim = { kind: 'ready'; record: LayerRecord } | { kind: 'busy' } | { kind: 'mine' };

const HEX_NAME = /^[0-9a-f]{64}$/;
const TEMP_NAME = /\.tmp-(\d+)$/;
const REMOVING_NAME = /\.removing-(\d+)-\d+$/;
const LOCK_NAME = /^([0-9a-f]{64})\.lock$/;

function toRecord(row: LayerRow): LayerRecord {
  return {
    id: row.id,
    parent: row.parent,
    diffId: row.diff_id,
    compressedDigest: row.compressed_digest,
    compressedSize: row.compressed_size,
    mediaType: row.media_type,
    size: row.size,
    state: row.state,
    created: row.created,
  };
}

/** Field 22 of /proc/PID/stat: the start time in clock ticks, which tells a reused pid apart. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The lock file's owner: alive, dead (or its pid reused), or no lock at all. */
function lockHolder(file: string): 'alive' | 'dead' | 'none' {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'none';
    throw err;
  }
  const [pidText, start] = text.trim().split(' ');
  const pid = Number(pidText);
  if (!Number.isInteger(pid) || pid <= 0 || !pidAlive(pid)) return 'dead';
  const now = processStartTime(pid);
  return start && now !== undefined && now !== start ? 'dead' : 'alive';
}

/**
 * rm -rf that also empties directories without write permission (a layer's 0555 dirs): uid 0
 * of the user namespace passes by them, a process outside one needs to chmod them first.
 */
export async function removeTree(target: string): Promise<void> {
  try {
    await fs.promises.rm(target, { recursive: true, force: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM') throw err;
    const open = (dir: string): void => {
      fs.chmodSync(dir, 0o700);
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) open(path.join(dir, entry.name));
    };
    open(target);
    await fs.promises.rm(target, { recursive: true, force: true });
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The content size of a layer that is stored and complete, undefined otherwise: a question for
 * the database alone, which a pull asks before the storage driver is known.
 */
export function readyLayerSize(db: Db, chainId: string): number | undefined {
  const row = db.prepare("SELECT size FROM layers WHERE id = ? AND state = 'ready'").get(chainId) as { size: number } | undefined;
  return row?.size;
}

export class LayerStore {
  /** <graphRoot>/<driver.storageDir>: the layer dirs, their locks and temp dirs */
  readonly home: string;
  private readonly waitTimeoutMs: number;
  private readonly pollMs: number;
  private readonly graceMs: number;
  private readonly lockToken = `${process.pid} ${processStartTime(process.pid) ?? ''}`;
  private asideCounter = 0;
  private homeReady: Promise<void> | undefined;

  constructor(
    private readonly db: Db,
    graphRoot: string,
    private readonly driver: GraphDriver,
    options: LayerStoreOptions = {},
  ) {
    this.home = path.join(graphRoot, driver.storageDir);
    this.waitTimeoutMs = options.waitTimeoutMs ?? 30 * 60_000;
    this.pollMs = options.pollMs ?? 100;
    this.graceMs = options.graceMs ?? 60 * 60_000;
  }

  get(chainId: string): LayerRecord | undefined {
    const row = this.db.prepare('SELECT * FROM layers WHERE id = ?').get(chainId) as LayerRow | undefined;
    return row && toRecord(row);
  }

  /** The layer is stored and complete. */
  has(chainId: string): boolean {
    return this.get(chainId)?.state === 'ready';
  }

  list(): LayerRecord[] {
    return (this.db.prepare('SELECT * FROM layers ORDER BY created').all() as LayerRow[]).map(toRecord);
  }

  /** Size of each ready layer's own content, by chain ID. */
  sizes(): Map<string, number> {
    const rows = this.db.prepare("SELECT id, size FROM layers WHERE state = 'ready'").all() as { id: string; size: number }[];
    return new Map(rows.map((r) => [r.id, r.size]));
  }

  /** Creates the directory of the layer dirs when missing (see layer-home.ts); putLayer does it first. */
  prepareHome(): Promise<void> {
    this.homeReady ??= createLayerHome(this.home).catch((err: unknown) => {
      this.homeReady = undefined;
      throw err;
    });
    return this.homeReady;
  }

  layerDir(chainId: string): string {
    return path.join(this.home, digestHex(chainId));
  }

  diffDir(chainId: string): string {
    return path.join(this.layerDir(chainId), 'diff');
  }

  /** The diff dirs of a layer and everything beneath it, topmost first (overlay's lowerdir order). */
  lowerDirs(chainId: string): string[] {
    const dirs: string[] = [];
    for (let id: string | null = chainId; id !== null; ) {
      const layer = this.get(id);
      if (layer?.state !== 'ready') throw new NotFoundError(`layer ${id} is not in the store`);
      dirs.push(this.diffDir(id));
      id = layer.parent;
    }
    return dirs;
  }

  /**
   * The layer's diff as a tar stream (for push, save and commit): the very tar it was stored
   * from when its tar-split record exists (the stream fails if the files changed since), else
   * a tar generated from its files, whose digest is not its diff ID.
   */
  tarLayer(chainId: string): Readable {
    const layer = this.get(chainId);
    if (layer?.state !== 'ready') throw new NotFoundError(`layer ${chainId} is not in the store`);
    const layerDir = this.layerDir(chainId);
    if (hasTarSplit(layerDir)) return reassembleTar({ layerDir, diffId: layer.diffId, name: chainId });
    // a vfs layer holds its parent's files too: only a comparison tells its own changes
    const parentDir = this.driver.name === 'vfs' && layer.parent !== null ? this.diffDir(layer.parent) : undefined;
    return tarLayerDir(this.diffDir(chainId), this.driver, { parentDir });
  }

  private lockFile(chainId: string): string {
    return `${this.layerDir(chainId)}.lock`;
  }

  /** Takes the lock file; a stale one (dead owner) is replaced. Call inside a transaction. */
  private takeLock(file: string): boolean {
    for (;;) {
      try {
        fs.writeFileSync(file, `${this.lockToken}\n`, { flag: 'wx', mode: 0o600 });
        return true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        if (lockHolder(file) === 'alive') return false;
        fs.rmSync(file, { force: true });
      }
    }
  }

  /** Renames a path out of the way inside a transaction; the caller deletes it afterwards. */
  private moveAside(target: string, doomed: string[]): void {
    const aside = `${target}.removing-${process.pid}-${++this.asideCounter}`;
    try {
      fs.renameSync(target, aside);
      doomed.push(aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  /** <hex>.tmp-<pid> dirs of this layer whose process is gone. Call inside a transaction. */
  private moveAsideDeadTemps(id: string, doomed: string[]): void {
    const prefix = `${digestHex(id)}.tmp-`;
    for (const name of fs.readdirSync(this.home)) {
      if (!name.startsWith(prefix)) continue;
      const pid = Number(name.slice(prefix.length));
      if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid || pidAlive(pid)) continue;
      this.moveAside(path.join(this.home, name), doomed);
    }
  }

  private async removePaths(paths: string[]): Promise<void> {
    for (const p of paths) await removeTree(p);
  }

  /**
   * The parent column of a new row: the parent when it is stored, else NULL until the commit
   * (a parent still being stored may fail, and its row must be deletable then).
   */
  private parentColumn(parent: string | undefined): string | null {
    return parent !== undefined && this.has(parent) ? parent : null;
  }

  private claim(id: string, opts: PutLayerOptions, diffId: string, doomed: string[]): Claim {
    return writeTransaction(this.db, () => {
      const existing = this.get(id);
      if (existing?.state === 'ready') return { kind: 'ready', record: existing };
      const lock = this.lockFile(id);
      if (existing !== undefined && lockHolder(lock) === 'alive') return { kind: 'busy' };
      if (!this.takeLock(lock)) return { kind: 'busy' };
      // a dead claimer's leftovers: its final dir if it died between rename and commit, the
      // temp dirs it was extracting into (removed now: a big layer's half should not wait for gc)
      if (existing !== undefined) {
        this.moveAside(this.layerDir(id), doomed);
        this.moveAsideDeadTemps(id, doomed);
      }
      this.db
        .prepare(
          `INSERT INTO layers (id, parent, diff_id, compressed_digest, compressed_size, media_type, size, state, created)
           VALUES (?, ?, ?, ?, ?, ?, 0, 'incomplete', ?)
           ON CONFLICT(id) DO UPDATE SET state = 'incomplete', parent = excluded.parent, created = excluded.created`,
        )
        .run(id, this.parentColumn(opts.parent), diffId, opts.compressedDigest ?? null, opts.compressedSize ?? null, opts.mediaType ?? null, Date.now());
      return { kind: 'mine' };
    });
  }

  /** Drops our claim after a failure. */
  private release(id: string): void {
    writeTransaction(this.db, () => {
      this.db.prepare("DELETE FROM layers WHERE id = ? AND state = 'incomplete'").run(id);
      fs.rmSync(this.lockFile(id), { force: true });
    });
  }

  /** Moves the extracted tree into place and marks the row ready, atomically for other tspods. */
  private commit(id: string, parent: string | undefined, tmp: string, result: ApplyResult, doomed: string[]): LayerRecord {
    return writeTransaction(this.db, () => {
      if (parent !== undefined && !this.has(parent)) throw new NotFoundError(`parent layer ${parent} is not in the store`);
      this.moveAside(this.layerDir(id), doomed);
      fs.renameSync(tmp, this.layerDir(id));
      this.db.prepare("UPDATE layers SET state = 'ready', size = ?, parent = ? WHERE id = ?").run(result.contentSize, parent ?? null, id);
      fs.rmSync(this.lockFile(id), { force: true });
      return this.get(id) as LayerRecord;
    });
  }

  private async extractInto(tmp: string, opts: PutLayerOptions): Promise<ApplyResult> {
    await removeTree(tmp);
    await fs.promises.mkdir(tmp, { recursive: true, mode: 0o700 });
    const diff = path.join(tmp, 'diff');
    await this.driver.createLayerDir(diff, opts.parent !== undefined && this.driver.copiesParent ? this.diffDir(opts.parent) : undefined);
    const result = await applyTar(opts.stream, diff, this.driver, {
      ignoreChownErrors: opts.ignoreChownErrors,
      tarSplitDir: tmp,
      sizeHint: opts.compressedSize,
    });
    if (opts.diffId !== undefined && result.diffId !== opts.diffId) {
      throw new DigestMismatchError(opts.diffId, result.diffId, undefined, result.tarSize, 'layer diff ID');
    }
    return result;
  }

  /**
   * Stores a layer from its uncompressed tar and returns its ready record. A layer already
   * stored is returned as it is (the stream is destroyed unread); one being stored by another
   * live process is waited for.
   */
  async putLayer(opts: PutLayerOptions): Promise<LayerRecord> {
    const { parent, parentReady } = opts;
    // handled here whatever happens: a failed parent must not become an unhandled rejection
    parentReady?.catch(() => undefined);
    if (parent !== undefined) {
      try {
        if (parentReady !== undefined && this.driver.copiesParent) await this.parentStored(parent, parentReady);
        if ((parentReady === undefined || this.driver.copiesParent) && !this.has(parent)) {
          throw new NotFoundError(`parent layer ${parent} is not in the store`);
        }
      } catch (err) {
        opts.stream.destroy();
        throw err;
      }
    } else if (parentReady !== undefined) {
      opts.stream.destroy();
      throw new TspodError('internal: parentReady without a parent');
    }
    await this.prepareHome();
    if (opts.diffId === undefined) return this.putUnannounced(opts);
    const id = makeChainId(opts.parent, opts.diffId);
    const deadline = Date.now() + this.waitTimeoutMs;
    for (;;) {
      const doomed: string[] = [];
      const claim = this.claim(id, opts, opts.diffId, doomed);
      await this.removePaths(doomed);
      if (claim.kind === 'ready') {
        opts.stream.destroy();
        return claim.record;
      }
      if (claim.kind === 'mine') break;
      // the caller gave up meanwhile (a pull aborting after another layer failed)
      if (opts.stream.destroyed) throw opts.stream.errored ?? new TspodError(`layer ${id}: its stream was closed while waiting for another tspod process`);
      if (Date.now() > deadline) {
        opts.stream.destroy();
        throw new TspodError(`timed out after ${Math.round(this.waitTimeoutMs / 1000)}s waiting for another tspod process to store layer ${id}`);
      }
      await sleep(this.pollMs);
    }
    const tmp = `${this.layerDir(id)}.tmp-${process.pid}`;
    try {
      const result = await this.extractInto(tmp, opts);
      if (parent !== undefined && parentReady !== undefined && !this.driver.copiesParent) await this.parentStored(parent, parentReady);
      const doomed: string[] = [];
      const record = this.commit(id, parent, tmp, result, doomed);
      await this.removePaths(doomed);
      return record;
    } catch (err) {
      opts.stream.destroy();
      await removeTree(tmp);
      this.release(id);
      throw err;
    }
  }

  private async parentStored(parent: string, parentReady: Promise<unknown>): Promise<void> {
    try {
      await parentReady;
    } catch (err) {
      throw new TspodError(`parent layer ${parent} was not stored: ${errorMessage(err)}`);
    }
  }

  /** No diff ID given (a tar from commit or import): extract first, then file it under its chain ID. */
  private async putUnannounced(opts: PutLayerOptions): Promise<LayerRecord> {
    const tmp = path.join(this.home, `anon-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}.tmp-${process.pid}`);
    let result: ApplyResult;
    try {
      result = await this.extractInto(tmp, opts);
      if (opts.parent !== undefined && opts.parentReady !== undefined && !this.driver.copiesParent) await this.parentStored(opts.parent, opts.parentReady);
    } catch (err) {
      opts.stream.destroy();
      await removeTree(tmp);
      throw err;
    }
    const id = makeChainId(opts.parent, result.diffId);
    const deadline = Date.now() + this.waitTimeoutMs;
    try {
      for (;;) {
        const doomed: string[] = [];
        const outcome = writeTransaction(this.db, (): LayerRecord | 'busy' => {
          const existing = this.get(id);
          if (existing?.state === 'ready') return existing;
          const lock = this.lockFile(id);
          if (lockHolder(lock) === 'alive') return 'busy';
          fs.rmSync(lock, { force: true });
          this.db
            .prepare(
              `INSERT INTO layers (id, parent, diff_id, compressed_digest, compressed_size, media_type, size, state, created)
               VALUES (?, ?, ?, ?, ?, ?, 0, 'incomplete', ?)
               ON CONFLICT(id) DO UPDATE SET state = 'incomplete', parent = excluded.parent`,
            )
            .run(id, this.parentColumn(opts.parent), result.diffId, opts.compressedDigest ?? null, opts.compressedSize ?? null, opts.mediaType ?? null, Date.now());
          return this.commit(id, opts.parent, tmp, result, doomed);
        });
        await this.removePaths(doomed);
        if (outcome !== 'busy') return outcome;
        if (Date.now() > deadline) throw new TspodError(`timed out waiting for another tspod process to store layer ${id}`);
        await sleep(this.pollMs);
      }
    } finally {
      await removeTree(tmp);
    }
  }

  /**
   * Removes a layer unless an image or another layer builds on it (false then). An unknown
   * layer counts as removed.
   */
  async remove(chainId: string): Promise<boolean> {
    const doomed: string[] = [];
    const removed = writeTransaction(this.db, () => {
      const row = this.get(chainId);
      if (row === undefined) return true;
      if (this.referenced(chainId)) return false;
      if (row.state === 'incomplete' && lockHolder(this.lockFile(chainId)) === 'alive') return false;
      this.moveAside(this.layerDir(chainId), doomed);
      this.db.prepare('DELETE FROM layers WHERE id = ?').run(chainId);
      fs.rmSync(this.lockFile(chainId), { force: true });
      return true;
    });
    await this.removePaths(doomed);
    return removed;
  }

  private referenced(chainId: string): boolean {
    const image = this.db.prepare('SELECT 1 FROM images WHERE top_layer = ? LIMIT 1').get(chainId);
    const child = this.db.prepare('SELECT 1 FROM layers WHERE parent = ? LIMIT 1').get(chainId);
    return image !== undefined || child !== undefined;
  }

  /**
   * Repairs what killed processes left and frees space: incomplete layers whose owner is dead,
   * their temp dirs, directories without a row, and ready layers no image or layer uses that
   * are older than the grace period (a running pull has not written its image row yet).
   */
  async gc(options: { graceMs?: number; now?: number } = {}): Promise<GcReport> {
    const cutoff = (options.now ?? Date.now()) - (options.graceMs ?? this.graceMs);
    const report: GcReport = { layers: [], incomplete: [], paths: [] };
    if (!fs.existsSync(this.home)) return report;
    const doomed: string[] = [];
    writeTransaction(this.db, () => {
      const incomplete = this.db.prepare("SELECT id FROM layers WHERE state = 'incomplete'").all() as { id: string }[];
      for (const { id } of incomplete) {
        if (lockHolder(this.lockFile(id)) === 'alive' || this.referenced(id)) continue;
        this.moveAside(this.layerDir(id), doomed);
        this.db.prepare('DELETE FROM layers WHERE id = ?').run(id);
        fs.rmSync(this.lockFile(id), { force: true });
        report.incomplete.push(id);
      }
      const unused = this.db.prepare(
        `SELECT id FROM layers l WHERE state = 'ready' AND created < ?
           AND NOT EXISTS (SELECT 1 FROM images i WHERE i.top_layer = l.id)
           AND NOT EXISTS (SELECT 1 FROM layers c WHERE c.parent = l.id)`,
      );
      // removing a top layer may leave its parent unused: repeat until nothing changes
      for (let rows = unused.all(cutoff) as { id: string }[]; rows.length > 0; rows = unused.all(cutoff) as { id: string }[]) {
        for (const { id } of rows) {
          this.moveAside(this.layerDir(id), doomed);
          this.db.prepare('DELETE FROM layers WHERE id = ?').run(id);
          report.layers.push(id);
        }
      }
      const known = new Set((this.db.prepare('SELECT id FROM layers').all() as { id: string }[]).map((r) => digestHex(r.id)));
      for (const name of fs.readdirSync(this.home)) {
        const file = path.join(this.home, name);
        const removing = REMOVING_NAME.exec(name);
        const temp = TEMP_NAME.exec(name);
        const lock = LOCK_NAME.exec(name);
        if (removing) {
          if (!pidAlive(Number(removing[1]))) doomed.push(file);
        } else if (temp) {
          if (!pidAlive(Number(temp[1]))) this.moveAside(file, doomed);
        } else if (lock) {
          if (!known.has(lock[1]) && lockHolder(file) !== 'alive') fs.rmSync(file, { force: true });
        } else if (HEX_NAME.test(name) && !known.has(name)) {
          this.moveAside(file, doomed);
        }
      }
    });
    report.paths = doomed;
    await this.removePaths(doomed);
    return report;
  }
}
