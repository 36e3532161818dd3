import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openDatabase, writeTransaction } from '../../pkg/state/database';
import { SCHEMA_VERSION } from '../../pkg/state/schema';

function tempDb(): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tspod-db-')), 'tspod.db');
}

test('a new database is migrated to the current schema in WAL mode', () => {
  const file = tempDb();
  const db = openDatabase(file);
  assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type='table'").all() as { name: string }[]).map((r) => r.name);
  for (const t of ['images', 'layers', 'image_names', 'containers', 'volumes', 'networks', 'exec_sessions']) assert.ok(tables.includes(t), t);
  db.close();
});

test('opening an existing database costs less than 10 ms', () => {
  const file = tempDb();
  openDatabase(file).close();
  const times: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t0 = process.hrtime.bigint();
    openDatabase(file).close();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  assert.ok(times[10] < 10, `median open took ${times[10].toFixed(2)} ms`);
});

test('the write-ahead log stays small: every command (the first to open it) reads all of it', () => {
  const file = tempDb();
  const db = openDatabase(file);
  db.exec('CREATE TABLE filler (id INTEGER PRIMARY KEY, body TEXT)');
  // ~2000 pages written in all, twice SQLite's default checkpoint of 1000 pages.
  for (let i = 0; i < 500; i++) writeTransaction(db, () => db.prepare('INSERT INTO filler (body) VALUES (?)').run('x'.repeat(12_000)));
  const walPages = fs.statSync(`${file}-wal`).size / 4096;
  assert.ok(walPages < 200, `the log grew to ${walPages.toFixed(0)} pages`);
  db.close();
});

test('a database from a newer tspod is refused with a clear message', () => {
  const file = tempDb();
  const db = openDatabase(file);
  db.pragma(`user_version = ${SCHEMA_VERSION + 5}`);
  db.close();
  assert.throws(() => openDatabase(file), /written by a newer tspod/);
});

test('50 processes writing at once never see "database is locked" and lose nothing', async () => {
  const file = tempDb();
  openDatabase(file).close();
  const modulePath = path.resolve(__dirname, '../../pkg/state/database.js');
  const script = `
    const { openDatabase, writeTransaction } = require(${JSON.stringify(modulePath)});
    const db = openDatabase(process.argv[1]);
    for (let i = 0; i < 20; i++) {
      writeTransaction(db, () => {
        const n = db.prepare('SELECT count(*) AS n FROM volumes').get().n;
        db.prepare("INSERT INTO volumes (name, mountpoint, created) VALUES (?, '/x', ?)").run(process.pid + '-' + i + '-' + n, Date.now());
      });
    }
    db.close();
  `;
  const results = await Promise.all(
    Array.from({ length: 50 }, () =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, ['-e', script, file], { stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (d) => (stderr += d));
        child.on('close', (code) => resolve({ code, stderr }));
      }),
    ),
  );
  for (const r of results) assert.equal(r.code, 0, r.stderr);
  const db = openDatabase(file);
  assert.equal((db.prepare('SELECT count(*) AS n FROM volumes').get() as { n: number }).n, 50 * 20);
  assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
  db.close();
});

test('a failed write transaction leaves nothing behind', () => {
  const db = openDatabase(tempDb());
  assert.throws(() =>
    writeTransaction(db, () => {
      db.prepare("INSERT INTO volumes (name, mountpoint, created) VALUES ('a', '/x', 1)").run();
      throw new Error('boom');
    }),
  );
  assert.equal((db.prepare('SELECT count(*) AS n FROM volumes').get() as { n: number }).n, 0);
  db.close();
});
