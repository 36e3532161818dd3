// tar-split: a stored layer gives back the very tar it was stored from, byte for byte, on the
// real overlay and vfs drivers, for tars GNU tar writes in each of its formats; and a layer
// whose files changed on disk fails loudly instead of giving a tar with another digest.
// Overlay whiteouts are 0/0 device nodes: mknod of those needs root or Linux >= 5.8.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import { after, describe, it } from 'node:test';
import * as tar from 'tar-stream';
import { openDatabase } from '../../pkg/state/database';
import type { GraphDriver } from '../../pkg/storage/graph-driver';
import { decompressStream } from '../../pkg/storage/layer-compression';
import { LayerStore } from '../../pkg/storage/layer-store';
import { OverlayDriver } from '../../pkg/storage/overlay-driver';
import { LayerModifiedError, OVERWRITTEN_DIR, TAR_SPLIT_FILE, TarSplitParser, TarSplitRecord, TarSplitWriter } from '../../pkg/storage/tar-split';
import { VfsDriver } from '../../pkg/storage/vfs-driver';

const sha256 = (data: Buffer): string => `sha256:${crypto.createHash('sha256').update(data).digest('hex')}`;

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tspod-tar-split-'));
after(() => {
  execFileSync('chmod', ['-R', 'u+rwX', scratch]);
  fs.rmSync(scratch, { recursive: true, force: true });
});
let counter = 0;
const fresh = (what: string): string => {
  const dir = path.join(scratch, `${what}-${++counter}`);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
};

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function newStore(driver: GraphDriver): LayerStore {
  const root = fresh('store');
  return new LayerStore(openDatabase(path.join(root, 'tspod.db')), path.join(root, 'storage'), driver);
}

/** GNU tar of names in src; `append` adds entries with -r afterwards (a path written twice). */
function gnuTar(format: string, src: string, names: string[], append?: { dir: string; names: string[] }): Buffer {
  const file = path.join(fresh('tarfile'), 'layer.tar');
  execFileSync('tar', [`--format=${format}`, '-cf', file, '-C', src, ...names]);
  if (append) execFileSync('tar', [`--format=${format}`, '-rf', file, '-C', append.dir, ...append.names]);
  return fs.readFileSync(file);
}

/** The parent layer: what the child's whiteouts and opaque marker hide. */
function parentTree(): string {
  const src = fresh('parent-src');
  fs.writeFileSync(path.join(src, 'gone'), 'deleted by the child');
  fs.mkdirSync(path.join(src, 'opq'));
  fs.writeFileSync(path.join(src, 'opq/old'), 'hidden by the child');
  fs.writeFileSync(path.join(src, 'kept'), 'stays');
  fs.writeFileSync(path.join(src, 'dup'), 'the parent one');
  return src;
}

/** Everything the test asks for; `long` adds what ustar and v7 cannot hold. */
function childTree(long: boolean): { src: string; names: string[] } {
  const src = fresh('child-src');
  fs.writeFileSync(path.join(src, 'plain'), 'plain');
  fs.linkSync(path.join(src, 'plain'), path.join(src, 'hard'));
  fs.symlinkSync('plain', path.join(src, 'sym'));
  fs.writeFileSync(path.join(src, 'empty'), '');
  fs.writeFileSync(path.join(src, 'big'), crypto.randomBytes((5 << 20) + 123));
  fs.writeFileSync(path.join(src, 'dup'), 'first occurrence');
  fs.writeFileSync(path.join(src, '.wh.gone'), '');
  fs.mkdirSync(path.join(src, 'opq'));
  fs.writeFileSync(path.join(src, 'opq/.wh..wh..opq'), '');
  fs.writeFileSync(path.join(src, 'opq/new'), 'new in the opaque dir');
  fs.mkdirSync(path.join(src, 'ro'));
  fs.writeFileSync(path.join(src, 'ro/inside'), 'in a 0555 dir', { mode: 0o444 });
  fs.chmodSync(path.join(src, 'ro'), 0o555);
  const names = ['plain', 'hard', 'sym', 'empty', 'big', 'dup', '.wh.gone', 'opq', 'ro'];
  if (long) {
    const deep = path.join(src, 'l'.repeat(90), 'm'.repeat(90), 'n'.repeat(90));
    fs.mkdirSync(deep, { recursive: true });
    fs.writeFileSync(path.join(deep, `${'f'.repeat(120)}.txt`), 'long name');
    fs.symlinkSync(`${'t'.repeat(150)}/target`, path.join(src, 'longlink'));
    fs.writeFileSync(path.join(src, 'ünïcødé-名前'), 'utf8 name');
    fs.utimesSync(path.join(src, 'plain'), 1_000_000_000.25, 1_000_000_000.5);
    names.push('l'.repeat(90), 'longlink', 'ünïcødé-名前');
  }
  return { src, names };
}

/** A second version of `dup`, appended to the tar. */
function secondDup(): { dir: string; names: string[] } {
  const dir = fresh('dup-src');
  fs.writeFileSync(path.join(dir, 'dup'), 'second occurrence, the one left on disk');
  return { dir, names: ['dup'] };
}

const drivers: [string, () => GraphDriver][] = [
  ['overlay', () => new OverlayDriver()],
  ['vfs', () => new VfsDriver()],
];

describe('tar-split record stream', () => {
  it('decodes what the writer wrote, fed in chunks of any size', async () => {
    const layer = fresh('records');
    fs.mkdirSync(path.join(layer, 'diff'));
    const writer = new TarSplitWriter(layer, path.join(layer, 'diff'));
    const big = crypto.randomBytes(3 << 20);
    writer.raw(Buffer.from('header'), 0, 6);
    writer.raw(Buffer.from('-more'), 0, 5);
    writer.file('a/b', 12345);
    writer.raw(big, 0, big.length);
    writer.file('ü', 0);
    await writer.finish(99);
    const data = zlib.gunzipSync(fs.readFileSync(path.join(layer, TAR_SPLIT_FILE)));
    for (const size of [13, 4096, data.length]) {
      const parser = new TarSplitParser();
      const records: TarSplitRecord[] = [];
      for (let off = 0; off < data.length; off += size) records.push(...parser.feed(data.subarray(off, off + size)));
      parser.end();
      const raw: Buffer[] = [];
      const merged: (string | TarSplitRecord)[] = [];
      for (const r of records) {
        if (r.kind === 'raw') raw.push(r.data);
        else {
          if (raw.length) merged.push(Buffer.concat(raw.splice(0)).toString('latin1'));
          merged.push(r);
        }
      }
      assert.deepEqual(merged, [
        'header-more',
        { kind: 'file', size: 12345, path: 'a/b' },
        big.toString('latin1'),
        { kind: 'file', size: 0, path: 'ü' },
        { kind: 'end', tarSize: 99 },
      ]);
    }
    const truncated = new TarSplitParser();
    truncated.feed(data.subarray(0, data.length - 3));
    assert.throws(() => truncated.end(), /truncated/);
  });
});

for (const [driverName, makeDriver] of drivers) {
  describe(`tar-split on ${driverName}`, () => {
    for (const format of ['gnu', 'oldgnu', 'posix', 'ustar', 'v7']) {
      it(`gives back a ${format} tar byte for byte, parent and child`, async () => {
        const store = newStore(makeDriver());
        const long = format === 'gnu' || format === 'oldgnu' || format === 'posix';
        const base = gnuTar(format, parentTree(), ['.']);
        const { src, names } = childTree(long);
        const top = gnuTar(format, src, names, secondDup());
        const l1 = await store.putLayer({ diffId: sha256(base), stream: Readable.from([base]) });
        const l2 = await store.putLayer({ parent: l1.id, diffId: sha256(top), stream: Readable.from([top]) });
        const diff = store.diffDir(l2.id);
        assert.equal(fs.readFileSync(path.join(diff, 'dup'), 'utf8'), 'second occurrence, the one left on disk');
        assert.equal(fs.statSync(path.join(diff, 'ro')).mode & 0o777, 0o555);
        if (driverName === 'vfs') {
          assert.ok(!fs.existsSync(path.join(diff, 'gone')), 'the whiteout deleted the parent file');
          assert.deepEqual(fs.readdirSync(path.join(diff, 'opq')), ['new']);
          assert.ok(fs.existsSync(path.join(diff, 'kept')), 'the parent copy is there');
        } else {
          assert.ok(fs.lstatSync(path.join(diff, 'gone')).isCharacterDevice());
        }
        const aside = fs.readdirSync(path.join(store.layerDir(l2.id), OVERWRITTEN_DIR));
        assert.equal(aside.length, 1);
        assert.equal(fs.readFileSync(path.join(store.layerDir(l2.id), OVERWRITTEN_DIR, aside[0]), 'utf8'), 'first occurrence', 'the first dup moved aside');
        const again = await collect(store.tarLayer(l2.id));
        assert.equal(again.length, top.length);
        assert.ok(again.equals(top), 'the child tar comes back byte for byte');
        assert.ok((await collect(store.tarLayer(l1.id))).equals(base), 'the parent tar too');
      });
    }

    it('keeps a tar that came compressed as the uncompressed tar it hashes to', async () => {
      const store = newStore(makeDriver());
      const { src, names } = childTree(true);
      const plain = gnuTar('posix', src, names);
      const layer = await store.putLayer({ diffId: sha256(plain), stream: decompressStream(Readable.from([zlib.gzipSync(plain)])) });
      assert.ok((await collect(store.tarLayer(layer.id))).equals(plain));
    });

    it('fails clearly when an extracted file was changed, or is gone', async () => {
      const store = newStore(makeDriver());
      const { src, names } = childTree(true);
      const buf = gnuTar('gnu', src, names);
      const layer = await store.putLayer({ diffId: sha256(buf), stream: Readable.from([buf]) });
      const big = path.join(store.diffDir(layer.id), 'big');
      const fd = fs.openSync(big, 'r+');
      fs.writeSync(fd, Buffer.from('X'), 0, 1, 4 << 20);
      fs.closeSync(fd);
      await assert.rejects(collect(store.tarLayer(layer.id)), (err: Error) => {
        assert.ok(err instanceof LayerModifiedError, String(err));
        assert.match(err.message, new RegExp(`layer ${layer.id} was modified on disk .*not its diff ID ${layer.diffId}`));
        return true;
      });
      fs.rmSync(path.join(store.diffDir(layer.id), 'plain'));
      fs.rmSync(path.join(store.diffDir(layer.id), 'hard'));
      await assert.rejects(collect(store.tarLayer(layer.id)), /was modified on disk \(cannot read \/plain: ENOENT/);
    });

    it('names the layer and the record when the record itself is damaged', async () => {
      const store = newStore(makeDriver());
      const { src, names } = childTree(false);
      const buf = gnuTar('gnu', src, names);
      const layer = await store.putLayer({ diffId: sha256(buf), stream: Readable.from([buf]) });
      const record = path.join(store.layerDir(layer.id), TAR_SPLIT_FILE);
      const gz = fs.readFileSync(record);
      fs.writeFileSync(record, gz.subarray(0, gz.length - 100));
      await assert.rejects(collect(store.tarLayer(layer.id)), new RegExp(`cannot reassemble the tar of layer ${layer.id} from ${record}: `));
    });

    it('falls back to a tar generated from the files when there is no tar-split record', async () => {
      const store = newStore(makeDriver());
      const { src, names } = childTree(false);
      const buf = gnuTar('gnu', src, names);
      const layer = await store.putLayer({ diffId: sha256(buf), stream: Readable.from([buf]) });
      fs.rmSync(path.join(store.layerDir(layer.id), TAR_SPLIT_FILE));
      const generated = await collect(store.tarLayer(layer.id));
      assert.notEqual(sha256(generated), layer.diffId);
      const again = await store.putLayer({ stream: Readable.from([generated]) });
      assert.equal(fs.readFileSync(path.join(store.diffDir(again.id), 'big')).length, (5 << 20) + 123);
    });

    it('keeps content this tar overwrote: a path written twice, a directory replaced, a file whited out', async () => {
      const store = newStore(makeDriver());
      const entries: { name: string; content?: string; type?: 'directory' | 'symlink'; linkname?: string }[] = [
        { name: 'x', content: 'x one' },
        { name: 'x', content: 'x two' },
        { name: 'd/', type: 'directory' },
        { name: 'd/a', content: 'in d' },
        { name: 'd/sub/b', content: 'deeper in d' },
        { name: 'd', content: 'd is a file now' },
        { name: 'w', content: 'whited out below' },
        { name: '.wh.w' },
        { name: 'l', content: 'becomes a symlink' },
        { name: 'l', type: 'symlink', linkname: 'x' },
        { name: 'x', content: 'x three' },
      ];
      const pack = tar.pack();
      const done = collect(pack as unknown as Readable);
      const ids = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, mtime: new Date(1_600_000_000_000) };
      for (const e of entries) {
        if (e.type) pack.entry({ ...ids, name: e.name, type: e.type, linkname: e.linkname });
        else pack.entry({ ...ids, name: e.name }, e.content ?? '');
      }
      pack.finalize();
      const buf = await done;
      const layer = await store.putLayer({ diffId: sha256(buf), stream: Readable.from([buf]) });
      assert.equal(fs.readFileSync(path.join(store.diffDir(layer.id), 'x'), 'utf8'), 'x three');
      assert.ok((await collect(store.tarLayer(layer.id))).equals(buf));
    });
  });
}
