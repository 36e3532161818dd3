// The layer store: chain IDs, put/get/remove, sharing, gc, and what concurrent or killed
// tspod processes leave behind. Run with the argument `child ...`, this file is such a process.
import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import * as tar from 'tar-stream';
import { DigestMismatchError } from '../../pkg/image/digest';
import { Db, openDatabase } from '../../pkg/state/database';
import { chainId, chainIds, digestHex } from '../../pkg/storage/chain-id';
import { LayerStore } from '../../pkg/storage/layer-store';
import { OverlayDriver } from '../../pkg/storage/overlay-driver';
import { VfsDriver } from '../../pkg/storage/vfs-driver';

const sha256 = (data: Buffer | string): string => `sha256:${crypto.createHash('sha256').update(data).digest('hex')}`;

async function makeTar(files: Record<string, string | Buffer>): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const chunk of pack as unknown as AsyncIterable<Buffer>) chunks.push(chunk);
  })();
  for (const [name, content] of Object.entries(files)) {
    await new Promise<void>((resolve, reject) => {
      const header = { name, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, mode: 0o644, mtime: new Date(1_600_000_000_000) };
      pack.entry(header, content, (err) => (err ? reject(err) : resolve()));
    });
  }
  pack.finalize();
  await collected;
  return Buffer.concat(chunks);
}

/** A tar big enough (~2 MB in 200 files) that extraction takes a while when fed slowly. */
async function bigTar(seed: string): Promise<Buffer> {
  const files: Record<string, Buffer> = {};
  for (let i = 0; i < 200; i++) files[`data/${seed}/f${String(i).padStart(3, '0')}`] = Buffer.alloc(10_000, i);
  return makeTar(files);
}

/** Feeds buf in 32 KiB chunks, pausing between them; with hang, stops halfway and never ends. */
function slowStream(buf: Buffer, delayMs: number, hang = false): Readable {
  let off = 0;
  const stop = hang ? Math.floor(buf.length / 2) : buf.length;
  return new Readable({
    read() {
      if (off >= stop) {
        if (!hang) this.push(null);
        return;
      }
      const chunk = buf.subarray(off, Math.min(off + 32768, stop));
      off += chunk.length;
      setTimeout(() => this.push(chunk), delayMs);
    },
  });
}

async function runChild(args: string[]): Promise<void> {
  const [mode, dbPath, graphRoot, tarPath, diffId] = args;
  const store = new LayerStore(openDatabase(dbPath), graphRoot, new VfsDriver(), { pollMs: 20 });
  const buf = fs.readFileSync(tarPath);
  if (mode === 'hang') setInterval(() => undefined, 1000);
  const record = await store.putLayer({ diffId, stream: slowStream(buf, 5, mode === 'hang') });
  process.stdout.write(JSON.stringify(record));
}

if (process.argv[2] === 'child') {
  runChild(process.argv.slice(3)).catch((err) => {
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exit(1);
  });
} else {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tspod-layers-'));
  after(() => fs.rmSync(scratch, { recursive: true, force: true }));
  let n = 0;

  interface Env {
    root: string;
    dbPath: string;
    graphRoot: string;
    db: Db;
    store: LayerStore;
  }

  const newEnv = (): Env => {
    const root = path.join(scratch, `env-${++n}`);
    const dbPath = path.join(root, 'tspod.db');
    const graphRoot = path.join(root, 'storage');
    const db = openDatabase(dbPath);
    return { root, dbPath, graphRoot, db, store: new LayerStore(db, graphRoot, new VfsDriver(), { pollMs: 20 }) };
  };

  const child = (env: Env, mode: 'put' | 'hang', tarPath: string, diffId: string): ChildProcess =>
    spawn(process.execPath, [__filename, 'child', mode, env.dbPath, env.graphRoot, tarPath, diffId], { stdio: ['ignore', 'pipe', 'pipe'] });

  const exited = (proc: ChildProcess): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      let stdout = '';
      let stderr = '';
      proc.stdout?.on('data', (d) => (stdout += d));
      proc.stderr?.on('data', (d) => (stderr += d));
      proc.on('exit', (code, signal) => setImmediate(() => resolve({ code, signal, stdout, stderr })));
    });

  const addImage = (db: Db, topLayer: string): void => {
    db.prepare('INSERT INTO images (id, top_layer, config, created, added) VALUES (?, ?, ?, ?, ?)').run(sha256(topLayer), topLayer, Buffer.from('{}'), 0, Date.now());
  };

  describe('chain IDs', () => {
    it('follows the OCI definition', () => {
      const a = sha256('a');
      const b = sha256('b');
      const c = sha256('c');
      assert.equal(chainId(undefined, a), a);
      const ab = sha256(`${a} ${b}`);
      assert.equal(chainId(a, b), ab);
      assert.deepEqual(chainIds([a, b, c]), [a, ab, sha256(`${ab} ${c}`)]);
      assert.equal(digestHex(a), a.slice(7));
      assert.throws(() => chainId(undefined, 'sha256:xyz'), /invalid diff ID/);
    });
  });

  describe('LayerStore', () => {
    it('stores a layer under its chain ID and returns the stored one for a second put', async () => {
      const { store } = newEnv();
      const buf = await makeTar({ 'etc/os-release': 'ID=test\n', 'bin/sh': 'shell' });
      const diffId = sha256(buf);
      const record = await store.putLayer({ diffId, compressedDigest: sha256('blob'), compressedSize: 42, mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', stream: Readable.from([buf]) });
      assert.equal(record.id, diffId);
      assert.equal(record.state, 'ready');
      assert.equal(record.size, 'ID=test\n'.length + 'shell'.length);
      assert.equal(record.compressedSize, 42);
      assert.ok(store.has(diffId));
      assert.equal(fs.readFileSync(path.join(store.diffDir(diffId), 'etc/os-release'), 'utf8'), 'ID=test\n');
      assert.equal(store.diffDir(diffId), path.join(store.home, diffId.slice(7), 'diff'));
      const unread = Readable.from([buf]);
      const again = await store.putLayer({ diffId, stream: unread });
      assert.deepEqual(again, record);
      assert.ok(unread.destroyed, 'an unneeded stream is destroyed');
      assert.deepEqual(fs.readdirSync(store.home), [diffId.slice(7)]);
      assert.deepEqual(store.sizes(), new Map([[diffId, record.size]]));
    });

    it('computes the diff ID when none is given', async () => {
      const { store } = newEnv();
      const buf = await makeTar({ a: 'a' });
      const record = await store.putLayer({ stream: Readable.from([buf]) });
      assert.equal(record.diffId, sha256(buf));
      assert.equal(record.id, sha256(buf));
      assert.deepEqual(fs.readdirSync(store.home), [record.id.slice(7)]);
      const again = await store.putLayer({ stream: Readable.from([buf]) });
      assert.equal(again.id, record.id);
      assert.deepEqual(fs.readdirSync(store.home), [record.id.slice(7)]);
    });

    it('rejects a diff ID mismatch and keeps nothing', async () => {
      const { store } = newEnv();
      const buf = await makeTar({ a: 'a' });
      const wrong = sha256('something else');
      await assert.rejects(store.putLayer({ diffId: wrong, stream: Readable.from([buf]) }), (err: Error) => {
        assert.ok(err instanceof DigestMismatchError, String(err));
        assert.match(err.message, /layer diff ID .*digest mismatch/);
        return true;
      });
      assert.deepEqual(store.list(), []);
      assert.deepEqual(fs.readdirSync(store.home), []);
    });

    it('stacks layers on parents (vfs copies the parent) and lists lower dirs top first', async () => {
      const { store } = newEnv();
      const base = await makeTar({ 'etc/base': 'b' });
      const top = await makeTar({ 'etc/top': 't' });
      const l1 = await store.putLayer({ diffId: sha256(base), stream: Readable.from([base]) });
      const l2 = await store.putLayer({ parent: l1.id, diffId: sha256(top), stream: Readable.from([top]) });
      assert.equal(l2.id, chainId(l1.id, sha256(top)));
      assert.equal(l2.parent, l1.id);
      assert.deepEqual(fs.readdirSync(path.join(store.diffDir(l2.id), 'etc')).sort(), ['base', 'top']);
      assert.deepEqual(store.lowerDirs(l2.id), [store.diffDir(l2.id), store.diffDir(l1.id)]);
      await assert.rejects(store.putLayer({ parent: sha256('missing'), diffId: sha256(top), stream: Readable.from([top]) }), /parent layer .* is not in the store/);
    });

    it('removes a layer only when no image or layer uses it', async () => {
      const { store, db } = newEnv();
      const base = await makeTar({ base: 'b' });
      const top = await makeTar({ top: 't' });
      const l1 = await store.putLayer({ diffId: sha256(base), stream: Readable.from([base]) });
      const l2 = await store.putLayer({ parent: l1.id, diffId: sha256(top), stream: Readable.from([top]) });
      addImage(db, l2.id);
      assert.equal(await store.remove(l1.id), false, 'a child layer uses it');
      assert.equal(await store.remove(l2.id), false, 'an image uses it');
      db.prepare('DELETE FROM images').run();
      assert.equal(await store.remove(l2.id), true);
      assert.equal(await store.remove(l1.id), true);
      assert.equal(await store.remove(l1.id), true, 'already gone');
      assert.deepEqual(store.list(), []);
      assert.deepEqual(fs.readdirSync(store.home), []);
    });

    it('removes layers holding read-only directories, and discards failed ones too', async () => {
      const { store } = newEnv();
      const pack = tar.pack();
      const chunks: Buffer[] = [];
      const collected = (async () => {
        for await (const chunk of pack as unknown as AsyncIterable<Buffer>) chunks.push(chunk);
      })();
      const ids = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
      pack.entry({ name: 'ro/', type: 'directory', mode: 0o555, ...ids });
      pack.entry({ name: 'ro/inner/', type: 'directory', mode: 0o500, ...ids });
      pack.entry({ name: 'ro/inner/file', mode: 0o444, ...ids }, 'x');
      pack.finalize();
      await collected;
      const buf = Buffer.concat(chunks);
      await assert.rejects(store.putLayer({ diffId: sha256('not it'), stream: Readable.from([buf]) }), DigestMismatchError);
      assert.deepEqual(fs.readdirSync(store.home), []);
      const layer = await store.putLayer({ stream: Readable.from([buf]) });
      assert.equal(fs.statSync(path.join(store.diffDir(layer.id), 'ro')).mode & 0o777, 0o555);
      assert.equal(await store.remove(layer.id), true);
      assert.deepEqual(fs.readdirSync(store.home), []);
    });

    it('gc removes unreferenced layers past the grace period and keeps used or young ones', async () => {
      const { store, db } = newEnv();
      const a = await makeTar({ a: 'a' });
      const b = await makeTar({ b: 'b' });
      const c = await makeTar({ c: 'c' });
      const la = await store.putLayer({ diffId: sha256(a), stream: Readable.from([a]) });
      const lb = await store.putLayer({ parent: la.id, diffId: sha256(b), stream: Readable.from([b]) });
      const lc = await store.putLayer({ diffId: sha256(c), stream: Readable.from([c]) });
      addImage(db, lc.id);
      const young = await store.gc();
      assert.deepEqual(young.layers, [], 'within the grace period nothing goes');
      const report = await store.gc({ graceMs: 0, now: Date.now() + 1000 });
      assert.deepEqual(report.layers.sort(), [la.id, lb.id].sort());
      assert.deepEqual(store.list().map((l) => l.id), [lc.id]);
      assert.deepEqual(fs.readdirSync(store.home), [lc.id.slice(7)]);
    });

    it('tars a layer as the very tar it was stored from (tar-split)', async () => {
      const { store } = newEnv();
      const base = await makeTar({ keep: 'k', 'dir/a': 'a' });
      const l1 = await store.putLayer({ stream: Readable.from([base]) });
      const top = await makeTar({ '.wh.keep': '', 'dir/a': 'changed' });
      const l2 = await store.putLayer({ parent: l1.id, stream: Readable.from([top]) });
      for (const [layer, buf] of [[l1, base], [l2, top]] as const) {
        const chunks: Buffer[] = [];
        for await (const chunk of store.tarLayer(layer.id)) chunks.push(chunk as Buffer);
        assert.ok(Buffer.concat(chunks).equals(buf));
      }
    });

    // layers stored before tar-split records existed, and the generator's own properties
    it('without a tar-split record, tars a vfs layer as its diff against the parent, and that diff rebuilds it', async () => {
      const { store } = newEnv();
      const base = await makeTar({ keep: 'k', modify: 'old', delete: 'd', 'deldir/a': 'a', 'deldir/b': 'b', 'dir/sub/same': 's' });
      const l1 = await store.putLayer({ stream: Readable.from([base]) });
      const top = await makeTar({ modify: 'new content', '.wh.delete': '', '.wh.deldir': '', 'dir/sub/new': 'n' });
      const l2 = await store.putLayer({ parent: l1.id, stream: Readable.from([top]) });
      for (const layer of [l1, l2]) fs.rmSync(path.join(store.layerDir(layer.id), 'tar-split.gz'));
      const diff: Buffer[] = [];
      for await (const chunk of store.tarLayer(l2.id)) diff.push(chunk as Buffer);
      const names: string[] = [];
      const ex = tar.extract();
      ex.on('entry', (h, body, next) => {
        names.push(h.name);
        body.on('end', () => next());
        body.resume();
      });
      await new Promise<void>((resolve, reject) => {
        ex.on('finish', () => resolve());
        ex.on('error', reject);
        ex.end(Buffer.concat(diff));
      });
      assert.deepEqual(names, ['.wh.deldir', '.wh.delete', 'dir/', 'dir/sub/', 'dir/sub/new', 'modify']);
      // the diff on a fresh copy of the parent gives the same tree
      const l3 = await store.putLayer({ parent: l1.id, stream: Readable.from([Buffer.concat(diff)]) });
      const tree = (dir: string): string[] =>
        (fs.readdirSync(dir, { recursive: true }) as string[]).sort().map((rel) => {
          const st = fs.lstatSync(path.join(dir, rel));
          return `${rel} ${st.mode.toString(8)} ${st.isFile() ? fs.readFileSync(path.join(dir, rel), 'utf8') : ''}`;
        });
      assert.deepEqual(tree(store.diffDir(l3.id)), tree(store.diffDir(l2.id)));
      // a bottom layer is its whole tree
      const full: Buffer[] = [];
      for await (const chunk of store.tarLayer(l1.id)) full.push(chunk as Buffer);
      assert.ok(Buffer.concat(full).includes(Buffer.from('deldir/b')));
    });

    // Linux >= 5.8 lets anyone mknod the 0/0 whiteout device, and a file's owner set user.* xattrs
    it('keeps overlay whiteouts as 0/0 devices and opaque xattrs, and tars them back (without a tar-split record)', async () => {
      const root = path.join(scratch, `env-${++n}`);
      const store = new LayerStore(openDatabase(path.join(root, 'tspod.db')), path.join(root, 'storage'), new OverlayDriver());
      const base = await makeTar({ 'gone': 'g', 'dir/old': 'o' });
      const l1 = await store.putLayer({ stream: Readable.from([base]) });
      const top = await makeTar({ '.wh.gone': '', 'dir/.wh..wh..opq': '', 'dir/new': 'n' });
      const l2 = await store.putLayer({ parent: l1.id, stream: Readable.from([top]) });
      fs.rmSync(path.join(store.layerDir(l2.id), 'tar-split.gz'));
      const whiteout = fs.lstatSync(path.join(store.diffDir(l2.id), 'gone'));
      assert.ok(whiteout.isCharacterDevice() && whiteout.rdev === 0);
      assert.deepEqual(fs.readdirSync(path.join(store.diffDir(l2.id), 'dir')), ['new']);
      const names: string[] = [];
      const ex = tar.extract();
      ex.on('entry', (h, body, next) => {
        names.push(h.name);
        body.on('end', () => next());
        body.resume();
      });
      const chunks: Buffer[] = [];
      for await (const chunk of store.tarLayer(l2.id)) chunks.push(chunk as Buffer);
      await new Promise<void>((resolve, reject) => {
        ex.on('finish', () => resolve());
        ex.on('error', reject);
        ex.end(Buffer.concat(chunks));
      });
      assert.deepEqual(names, ['dir/', 'dir/.wh..wh..opq', 'dir/new', '.wh.gone']);
    });

    const overlayEnv = (): Env => {
      const env = newEnv();
      return { ...env, store: new LayerStore(env.db, env.graphRoot, new OverlayDriver(), { pollMs: 20 }) };
    };

    it('overlay: a child extracts while its parent is still being stored, and commits after it', async () => {
      const { store, db } = overlayEnv();
      const base = await bigTar('base');
      const top = await makeTar({ 'etc/top': 't' });
      const parentId = sha256(base);
      const order: string[] = [];
      const parentDone = store.putLayer({ diffId: parentId, stream: slowStream(base, 2) }).then((r) => {
        order.push('parent');
        return r;
      });
      const childDone = store.putLayer({ parent: parentId, parentReady: parentDone, diffId: sha256(top), stream: Readable.from([top]) }).then((r) => {
        order.push('child');
        return r;
      });
      const childId = chainId(parentId, sha256(top));
      // the child's files are extracted before the parent is done; its row waits without a parent
      const deadline = Date.now() + 20_000;
      while (!fs.existsSync(path.join(store.home, `${childId.slice(7)}.tmp-${process.pid}`, 'diff/etc/top'))) {
        assert.ok(Date.now() < deadline, 'the child extracted');
        await new Promise((r) => setTimeout(r, 5));
      }
      assert.equal(store.get(parentId)?.state, 'incomplete', 'the parent is still being stored');
      assert.equal(store.get(childId)?.parent, null);
      const [parent, child] = await Promise.all([parentDone, childDone]);
      assert.deepEqual(order, ['parent', 'child']);
      assert.equal(child.parent, parent.id);
      assert.equal(child.state, 'ready');
      assert.deepEqual(store.lowerDirs(child.id), [store.diffDir(child.id), store.diffDir(parent.id)]);
      assert.equal((db.prepare('SELECT parent FROM layers WHERE id = ?').get(child.id) as { parent: string }).parent, parent.id);
    });

    it('overlay: a child whose parent fails fails too, and neither leaves anything behind', async () => {
      const { store } = overlayEnv();
      const base = await bigTar('failing');
      const top = await makeTar({ 'etc/top': 't' });
      const wrong = sha256('not the base');
      const parentDone = store.putLayer({ diffId: wrong, stream: slowStream(base, 1) });
      const childDone = store.putLayer({ parent: wrong, parentReady: parentDone, diffId: sha256(top), stream: Readable.from([top]) });
      await assert.rejects(parentDone, DigestMismatchError);
      await assert.rejects(childDone, /parent layer sha256:[0-9a-f]+ was not stored: .*digest mismatch/);
      assert.deepEqual(store.list(), []);
      assert.deepEqual(fs.readdirSync(store.home), []);
    });

    it('vfs: a child given parentReady waits for the parent before copying it', async () => {
      const { store } = newEnv();
      const base = await bigTar('vfsbase');
      const top = await makeTar({ 'etc/top': 't' });
      const parentId = sha256(base);
      const parentDone = store.putLayer({ diffId: parentId, stream: slowStream(base, 1) });
      const child = await store.putLayer({ parent: parentId, parentReady: parentDone, diffId: sha256(top), stream: Readable.from([top]) });
      assert.equal(child.parent, parentId);
      assert.equal(fs.readdirSync(path.join(store.diffDir(child.id), 'data/vfsbase')).length, 200, 'the full parent copy');
      assert.equal(fs.readFileSync(path.join(store.diffDir(child.id), 'etc/top'), 'utf8'), 't');
    });

    it('two processes putting the same layer at once end with one good copy and no error', async () => {
      const env = newEnv();
      const buf = await bigTar('same');
      const tarPath = path.join(env.root, 'layer.tar');
      fs.writeFileSync(tarPath, buf);
      const diffId = sha256(buf);
      const results = await Promise.all([exited(child(env, 'put', tarPath, diffId)), exited(child(env, 'put', tarPath, diffId))]);
      for (const r of results) assert.equal(r.code, 0, r.stderr);
      const records = results.map((r) => JSON.parse(r.stdout));
      assert.deepEqual(records[0], records[1]);
      assert.equal(records[0].state, 'ready');
      assert.deepEqual(env.store.list().map((l) => [l.id, l.state]), [[diffId, 'ready']]);
      assert.deepEqual(fs.readdirSync(env.store.home), [diffId.slice(7)]);
      assert.equal(fs.readdirSync(path.join(env.store.diffDir(diffId), 'data/same')).length, 200);
    });

    const killMidExtract = async (env: Env, tarPath: string, diffId: string): Promise<number> => {
      const proc = child(env, 'hang', tarPath, diffId);
      const done = exited(proc);
      const tmp = path.join(env.store.home, `${diffId.slice(7)}.tmp-${proc.pid}`);
      const deadline = Date.now() + 20_000;
      while (!(fs.existsSync(path.join(tmp, 'diff/data/killed')) && fs.readdirSync(path.join(tmp, 'diff/data/killed')).length >= 20)) {
        assert.ok(Date.now() < deadline, 'the child started extracting');
        await new Promise((r) => setTimeout(r, 20));
      }
      proc.kill('SIGKILL');
      const r = await done;
      assert.equal(r.signal, 'SIGKILL');
      return proc.pid as number;
    };

    it('a putLayer killed mid-extract leaves state that gc cleans, and a later put completes', async () => {
      const env = newEnv();
      const buf = await bigTar('killed');
      const tarPath = path.join(env.root, 'layer.tar');
      fs.writeFileSync(tarPath, buf);
      const diffId = sha256(buf);
      const pid = await killMidExtract(env, tarPath, diffId);
      const hex = diffId.slice(7);
      assert.equal(env.store.get(diffId)?.state, 'incomplete');
      assert.equal(env.store.has(diffId), false);
      assert.deepEqual(fs.readdirSync(env.store.home).sort(), [`${hex}.lock`, `${hex}.tmp-${pid}`]);
      const report = await env.store.gc();
      assert.deepEqual(report.incomplete, [diffId]);
      assert.deepEqual(env.store.list(), []);
      assert.deepEqual(fs.readdirSync(env.store.home), []);
      const record = await env.store.putLayer({ diffId, stream: Readable.from([buf]) });
      assert.equal(record.state, 'ready');
      assert.equal(fs.readdirSync(path.join(env.store.diffDir(diffId), 'data/killed')).length, 200);
    });

    it('a later putLayer takes over a killed one without gc, removing its temp dir', async () => {
      const env = newEnv();
      const buf = await bigTar('killed');
      const tarPath = path.join(env.root, 'layer.tar');
      fs.writeFileSync(tarPath, buf);
      const diffId = sha256(buf);
      const pid = await killMidExtract(env, tarPath, diffId);
      const record = await env.store.putLayer({ diffId, stream: Readable.from([buf]) });
      assert.equal(record.state, 'ready');
      const hex = diffId.slice(7);
      assert.ok(!fs.existsSync(path.join(env.store.home, `${hex}.tmp-${pid}`)), 'the dead claimer\'s temp dir is gone');
      assert.deepEqual(fs.readdirSync(env.store.home), [hex]);
      await env.store.gc();
      assert.deepEqual(fs.readdirSync(env.store.home), [hex]);
      assert.ok(env.store.has(diffId));
    });

    it('waits for a live process storing the same layer and returns its result', async () => {
      const env = newEnv();
      const buf = await bigTar('waited');
      const tarPath = path.join(env.root, 'layer.tar');
      fs.writeFileSync(tarPath, buf);
      const diffId = sha256(buf);
      const proc = child(env, 'put', tarPath, diffId);
      const done = exited(proc);
      while (env.store.get(diffId) === undefined) await new Promise((r) => setTimeout(r, 10));
      const mine = Readable.from([buf]);
      const record = await env.store.putLayer({ diffId, stream: mine });
      const r = await done;
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(record, JSON.parse(r.stdout));
      assert.ok(mine.destroyed, 'our stream was not needed');
    });
  });
}
