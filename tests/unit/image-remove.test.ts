// rmi and image prune on a real store (SQLite + vfs layers in a scratch directory): untag vs
// delete, shared layers kept, containers blocking, untagged parents going with their child,
// Podman's exit codes, tag/untag naming.
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { after, beforeEach, describe, it } from 'node:test';
import * as tar from 'tar-stream';
import { RegistriesConfig } from '../../pkg/config/registries-conf';
import { ImageStore } from '../../pkg/image/image-store';
import { pruneImages, RemovalEngine, removeAllImages, removeExitCode, removeImages } from '../../pkg/image/image-remove';
import { normalizeTagName, tagImage, untagImage } from '../../pkg/image/image-tag';
import { compileImageFilters, parseImageFilters } from '../../pkg/image/image-filters';
import { Db, openDatabase } from '../../pkg/state/database';
import { LayerStore } from '../../pkg/storage/layer-store';
import { VfsDriver } from '../../pkg/storage/vfs-driver';

const conf: RegistriesConfig = { unqualifiedSearch: ['docker.io'], shortNameMode: 'permissive', registries: [], aliases: {}, files: [] };
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tspod-rmi-'));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));

async function layerTar(content: string): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack as unknown as AsyncIterable<Buffer>) chunks.push(c);
  })();
  pack.entry({ name: `${content}.txt`, mode: 0o644, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 }, content);
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

let n = 0;
let db: Db;
let layers: LayerStore;
let store: ImageStore;
let engine: RemovalEngine;

beforeEach(() => {
  const dir = path.join(scratch, String(++n));
  db = openDatabase(path.join(dir, 'tspod.db'));
  layers = new LayerStore(db, dir, new VfsDriver());
  store = new ImageStore(db);
  engine = { db, images: store, config: { registries: conf }, layers: async () => layers };
});

/** An image of layers with the given contents (bottom first); returns its ID and top layer. */
async function addImage(contents: string[], names: string[], opts: { parent?: string; tag?: string } = {}): Promise<{ id: string; top: string | null }> {
  let parent: string | undefined;
  const diffIds: string[] = [];
  for (const c of contents) {
    const buf = await layerTar(c);
    const diffId = `sha256:${crypto.createHash('sha256').update(buf).digest('hex')}`;
    diffIds.push(diffId);
    parent = (await layers.putLayer({ parent, diffId, stream: Readable.from([buf]) })).id;
  }
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds }, tag: opts.tag ?? names.join() }));
  const id = `sha256:${crypto.createHash('sha256').update(config).digest('hex')}`;
  store.put({ id, topLayer: parent ?? null, config, size: 1, created: Date.now(), parent: opts.parent }, names);
  return { id, top: parent ?? null };
}

function addContainer(imageId: string, name: string): string {
  const id = crypto.randomBytes(32).toString('hex');
  db.prepare("INSERT INTO containers (id, name, image_id, status, created, config) VALUES (?, ?, ?, 'created', 0, '{}')").run(id, name, imageId);
  return id;
}

const hex = (id: string): string => id.slice(7);

describe('rmi', () => {
  it('a name of an image with several names only untags', async () => {
    const img = await addImage(['a'], ['docker.io/library/busybox:latest', 'localhost/myapp:latest']);
    const r = await removeImages(engine, ['myapp']);
    assert.deepEqual(r, { untagged: ['localhost/myapp:latest'], deleted: [], failures: [] });
    assert.deepEqual(store.get(img.id)?.names, ['docker.io/library/busybox:latest']);
  });

  it('the last name deletes the image and the layers no other image uses', async () => {
    const base = await addImage(['a'], ['docker.io/library/busybox:latest']);
    const multi = await addImage(['a', 'b', 'c'], ['docker.io/library/multilayer:latest']);
    const r = await removeImages(engine, ['multilayer']);
    assert.deepEqual(r.untagged, ['docker.io/library/multilayer:latest']);
    assert.deepEqual(r.deleted, [hex(multi.id)]);
    assert.equal(removeExitCode(r), 0);
    assert.deepEqual(layers.list().map((l) => l.id), [base.top], 'the shared base layer stays');
    assert.deepEqual(fs.readdirSync(layers.home).filter((f) => /^[0-9a-f]{64}$/.test(f)), [hex(base.top as string)]);
    const again = await removeImages(engine, ['busybox']);
    assert.deepEqual(again.deleted, [hex(base.id)]);
    assert.deepEqual(layers.list(), []);
  });

  it('by ID with several names needs -f', async () => {
    const img = await addImage(['a'], ['localhost/a:1', 'localhost/b:1']);
    const r = await removeImages(engine, [hex(img.id).slice(0, 12)]);
    assert.equal(r.failures.length, 1);
    assert.match(r.failures[0].message, /^conflict: unable to delete [0-9a-f]{12} \(must be forced\) - image is referenced in multiple repositories$/);
    assert.equal(removeExitCode(r), 125);
    const forced = await removeImages(engine, [hex(img.id).slice(0, 12)], { force: true });
    assert.deepEqual(forced.untagged, ['localhost/a:1', 'localhost/b:1']);
    assert.deepEqual(forced.deleted, [hex(img.id)]);
  });

  it('an image a container uses is refused (exit 2); -f untags and keeps it', async () => {
    const img = await addImage(['a'], ['localhost/used:1']);
    const ctr = addContainer(img.id, 'c1');
    const r = await removeImages(engine, ['used:1']);
    assert.deepEqual(r.failures, [
      { kind: 'in-use', message: `image used by ${ctr}: image is in use by a container: consider listing external containers and force-removing image` },
    ]);
    assert.equal(removeExitCode(r), 2);
    const forced = await removeImages(engine, ['used:1'], { force: true });
    assert.deepEqual(forced, { untagged: ['localhost/used:1'], deleted: [], failures: [] });
    assert.ok(store.get(img.id), 'the image stays for its container');
    assert.ok(layers.has(img.top as string));
  });

  it('several arguments: removes what it can, reports every failure, exit codes like Podman', async () => {
    const a = await addImage(['a'], ['localhost/a:1']);
    const b = await addImage(['b'], ['localhost/b:1']);
    addContainer(b.id, 'cb');
    const r = await removeImages(engine, ['a:1', 'nosuch', 'b:1']);
    assert.deepEqual(r.deleted, [hex(a.id)]);
    assert.deepEqual(r.failures.map((f) => f.kind), ['not-found', 'in-use']);
    assert.equal(r.failures[0].message, 'nosuch: image not known');
    assert.equal(removeExitCode(r), 2);
    assert.equal(removeExitCode({ untagged: [], deleted: [], failures: [{ kind: 'not-found', message: '' }] }), 1);
    assert.equal(removeExitCode({ untagged: [], deleted: [], failures: [{ kind: 'not-found', message: '' }, { kind: 'conflict', message: '' }] }), 125);
    const ignored = await removeImages(engine, ['nosuch'], { ignore: true });
    assert.equal(removeExitCode(ignored), 0);
  });

  it('an untagged parent goes with its last child; a tagged one stays', async () => {
    const parent = await addImage(['a'], [], { tag: 'parent' });
    const child = await addImage(['a', 'b'], ['localhost/child:1'], { parent: parent.id });
    const keptParent = await addImage(['c'], ['localhost/kept:1']);
    const child2 = await addImage(['c', 'd'], ['localhost/child2:1'], { parent: keptParent.id });
    const r = await removeImages(engine, ['child:1', 'child2:1']);
    assert.deepEqual(r.deleted, [hex(child.id), hex(parent.id), hex(child2.id)]);
    assert.ok(store.get(keptParent.id));
    assert.deepEqual(layers.list().map((l) => l.id), [keptParent.top]);
  });

  it('a parent with children is not deleted by ID', async () => {
    const parent = await addImage(['a'], ['localhost/p:1']);
    await addImage(['a', 'b'], ['localhost/c:1'], { parent: parent.id });
    const r = await removeImages(engine, [hex(parent.id)]);
    assert.match(r.failures[0]?.message ?? '', /image has dependent child images/);
    const byName = await removeImages(engine, ['p:1']);
    assert.deepEqual(byName, { untagged: ['localhost/p:1'], deleted: [], failures: [] });
  });

  it('-a removes everything, children first', async () => {
    const parent = await addImage(['a'], []);
    await addImage(['a', 'b'], ['localhost/c:1', 'localhost/d:1'], { parent: parent.id });
    await addImage(['e'], ['localhost/e:1']);
    const r = await removeAllImages(engine);
    assert.equal(r.failures.length, 0);
    assert.equal(r.deleted.length, 3);
    assert.deepEqual(store.list(), []);
    assert.deepEqual(layers.list(), []);
  });
});

describe('image prune', () => {
  it('removes dangling images, then (with -a) every image without containers', async () => {
    const dangling = await addImage(['x'], []);
    const tagged = await addImage(['a'], ['localhost/a:1']);
    const used = await addImage(['b'], ['localhost/b:1']);
    addContainer(used.id, 'cu');
    assert.deepEqual((await pruneImages(engine)).deleted, [hex(dangling.id)]);
    assert.deepEqual((await pruneImages(engine)).deleted, []);
    const all = await pruneImages(engine, { all: true });
    assert.deepEqual(all.deleted, [hex(tagged.id)]);
    assert.deepEqual(store.list().map((i) => i.id), [used.id]);
  });

  it('label filters narrow what goes', async () => {
    await addImage(['a'], ['localhost/a:1']);
    const filters = compileImageFilters(parseImageFilters(['label=nope']), { resolve: () => undefined });
    assert.deepEqual((await pruneImages(engine, { all: true, filters })).deleted, []);
  });
});

describe('tag and untag', () => {
  it('names without a registry are local', () => {
    assert.equal(normalizeTagName('myapp'), 'localhost/myapp:latest');
    assert.equal(normalizeTagName('user/app:1'), 'localhost/user/app:1');
    assert.equal(normalizeTagName('docker.io/busybox'), 'docker.io/library/busybox:latest');
    assert.equal(normalizeTagName('quay.io/a/b:2'), 'quay.io/a/b:2');
    assert.throws(() => normalizeTagName('Bad:Name'), /invalid reference format: repository name must be lowercase/);
    assert.throws(() => normalizeTagName(`x@sha256:${'a'.repeat(64)}`), /tag by digest not supported/);
  });

  it('tags, moves names, untags one or all, and keeps a names history', async () => {
    const a = await addImage(['a'], ['docker.io/library/busybox:latest']);
    const b = await addImage(['b'], []);
    tagImage(store, conf, 'busybox', ['myapp', 'u/app:1']);
    assert.deepEqual(store.get(a.id)?.names, ['docker.io/library/busybox:latest', 'localhost/myapp:latest', 'localhost/u/app:1']);
    tagImage(store, conf, hex(b.id), ['myapp']);
    assert.deepEqual(store.get(b.id)?.names, ['localhost/myapp:latest']);
    assert.deepEqual(untagImage(store, conf, 'busybox', ['u/app:1']), ['localhost/u/app:1']);
    assert.throws(() => untagImage(store, conf, 'busybox', ['bogus:1']), /localhost\/bogus:1: tag not known/);
    assert.deepEqual(untagImage(store, conf, 'busybox', []), ['docker.io/library/busybox:latest']);
    assert.deepEqual(store.get(a.id)?.names, []);
    assert.deepEqual(store.get(a.id)?.extra.namesHistory, ['localhost/u/app:1', 'localhost/myapp:latest', 'docker.io/library/busybox:latest']);
  });
});
