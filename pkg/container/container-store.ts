// Containers in the database: one row each, with what `create` was asked for (config JSON)
// and the runtime facts the lifecycle updates (status, pids, exit code, times). Lookups accept
// what Docker accepts: a full ID, a unique ID prefix, or a name.
import { Db, writeTransaction } from '../state/database';
import { ConflictError, NotFoundError } from '../errors';

export type ContainerStatus = 'created' | 'running' | 'paused' | 'stopping' | 'exited' | 'removing';

export interface ContainerRecord<Config = Record<string, unknown>, State = Record<string, unknown>> {
  id: string;
  name: string;
  imageId: string | null;
  imageName: string;
  status: ContainerStatus;
  pid: number;
  monitorPid: number;
  exitCode: number;
  created: number;
  startedAt: number;
  finishedAt: number;
  restartCount: number;
  stoppedByUser: boolean;
  config: Config;
  state: State;
}

interface ContainerRow {
  id: string;
  name: string;
  image_id: string | null;
  image_name: string;
  status: ContainerStatus;
  pid: number;
  monitor_pid: number;
  exit_code: number;
  created: number;
  started_at: number;
  finished_at: number;
  restart_count: number;
  stopped_by_user: number;
  config: string;
  state: string;
}

function toRecord<C, S>(row: ContainerRow): ContainerRecord<C, S> {
  return {
    id: row.id,
    name: row.name,
    imageId: row.image_id,
    imageName: row.image_name,
    status: row.status,
    pid: row.pid,
    monitorPid: row.monitor_pid,
    exitCode: row.exit_code,
    created: row.created,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    restartCount: row.restart_count,
    stoppedByUser: row.stopped_by_user !== 0,
    config: JSON.parse(row.config) as C,
    state: JSON.parse(row.state) as S,
  };
}

/** Fields the lifecycle changes; config never changes after create (rename aside). */
export interface ContainerUpdate<S = Record<string, unknown>> {
  status?: ContainerStatus;
  pid?: number;
  monitorPid?: number;
  exitCode?: number;
  startedAt?: number;
  finishedAt?: number;
  restartCount?: number;
  stoppedByUser?: boolean;
  state?: S;
  name?: string;
}

const COLUMNS: Record<keyof Omit<ContainerUpdate, 'state'>, string> = {
  status: 'status',
  pid: 'pid',
  monitorPid: 'monitor_pid',
  exitCode: 'exit_code',
  startedAt: 'started_at',
  finishedAt: 'finished_at',
  restartCount: 'restart_count',
  stoppedByUser: 'stopped_by_user',
  name: 'name',
};

export class ContainerStore {
  constructor(private readonly db: Db) {}

  insert<C, S>(rec: Omit<ContainerRecord<C, S>, 'pid' | 'monitorPid' | 'exitCode' | 'startedAt' | 'finishedAt' | 'restartCount' | 'stoppedByUser'>): void {
    writeTransaction(this.db, () => {
      if (this.db.prepare('SELECT 1 FROM containers WHERE name = ?').get(rec.name)) {
        const other = this.db.prepare('SELECT id FROM containers WHERE name = ?').get(rec.name) as { id: string };
        throw new ConflictError(
          `creating container storage: the container name "${rec.name}" is already in use by ${other.id}. You have to remove that container to be able to reuse that name: that name is already in use, or use --replace to instruct tspod to do so.`,
        );
      }
      this.db
        .prepare(
          `INSERT INTO containers (id, name, image_id, image_name, status, created, config, state)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(rec.id, rec.name, rec.imageId, rec.imageName, rec.status, rec.created, JSON.stringify(rec.config), JSON.stringify(rec.state));
    });
  }

  get<C = Record<string, unknown>, S = Record<string, unknown>>(id: string): ContainerRecord<C, S> | undefined {
    const row = this.db.prepare('SELECT * FROM containers WHERE id = ?').get(id) as ContainerRow | undefined;
    return row && toRecord<C, S>(row);
  }

  /** By name, full ID or unique ID prefix; a name wins over a prefix, as in Docker. */
  find<C = Record<string, unknown>, S = Record<string, unknown>>(nameOrId: string): ContainerRecord<C, S> | undefined {
    const byName = this.db.prepare('SELECT * FROM containers WHERE name = ?').get(nameOrId) as ContainerRow | undefined;
    if (byName) return toRecord<C, S>(byName);
    if (!/^[0-9a-f]{1,64}$/.test(nameOrId)) return undefined;
    const rows = this.db.prepare('SELECT * FROM containers WHERE id >= ? AND id < ? LIMIT 2').all(nameOrId, `${nameOrId}\uffff`) as ContainerRow[];
    if (rows.length > 1) throw new ConflictError(`more than one result for container "${nameOrId}": give more of the ID`);
    return rows[0] && toRecord<C, S>(rows[0]);
  }

  require<C = Record<string, unknown>, S = Record<string, unknown>>(nameOrId: string): ContainerRecord<C, S> {
    const rec = this.find<C, S>(nameOrId);
    if (!rec) throw new NotFoundError(`no container with name or ID "${nameOrId}" found: no such container`);
    return rec;
  }

  list<C = Record<string, unknown>, S = Record<string, unknown>>(): ContainerRecord<C, S>[] {
    return (this.db.prepare('SELECT * FROM containers ORDER BY created DESC').all() as ContainerRow[]).map((r) => toRecord<C, S>(r));
  }

  nameTaken(name: string): boolean {
    return this.db.prepare('SELECT 1 FROM containers WHERE name = ?').get(name) !== undefined;
  }

  update<S>(id: string, changes: ContainerUpdate<S>): void {
    const sets: string[] = [];
    const values: unknown[] = [];
    for (const [key, column] of Object.entries(COLUMNS) as [keyof typeof COLUMNS, string][]) {
      const v = changes[key];
      if (v === undefined) continue;
      sets.push(`${column} = ?`);
      values.push(typeof v === 'boolean' ? (v ? 1 : 0) : v);
    }
    if (changes.state !== undefined) {
      sets.push('state = ?');
      values.push(JSON.stringify(changes.state));
    }
    if (!sets.length) return;
    writeTransaction(this.db, () => this.db.prepare(`UPDATE containers SET ${sets.join(', ')} WHERE id = ?`).run(...values, id));
  }

  /**
   * Read-modify-write of one row in one transaction, so that no other process's write slips in
   * between (the exit hook, a refresh and a health check all update the same row). FN gets the
   * current record and returns the changes, or undefined for none. Returns the record FN saw.
   */
  mutate<C = Record<string, unknown>, S = Record<string, unknown>>(id: string, fn: (current: ContainerRecord<C, S>) => ContainerUpdate<S> | undefined): ContainerRecord<C, S> | undefined {
    return writeTransaction(this.db, () => {
      const current = this.get<C, S>(id);
      if (!current) return undefined;
      const changes = fn(current);
      if (changes) this.update<S>(id, changes);
      return current;
    });
  }

  delete(id: string): void {
    writeTransaction(this.db, () => this.db.prepare('DELETE FROM containers WHERE id = ?').run(id));
  }
}
