// Push orchestration against the in-process fake registry: when the stored manifest goes out
// byte for byte (blobs present or mountable), when layers are compressed anew (new blob
// digests, new diff IDs when the re-made tar differs), format conversion, chunked uploads,
// refused credentials; and the pure parts (manifest formats, destinations, layer blobs).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import * as tar from 'tar-stream';
import { InvalidArgumentError } from '../../pkg/errors';
import { LayerSource, PushInput, PushOptions, parseDestination, pushToRegistry } from '../../pkg/image/image-push';
import { gzipLayerToFile, makeBlobDir } from '../../pkg/image/layer-blob';
import { Descriptor, MediaType } from '../../pkg/image/manifest';
import { layerMediaTypeIn, parseManifestFormat, serializeManifest } from '../../pkg/image/manifest-format';
import { TokenCache } from '../../pkg/image/registry-auth';
import { RegistryClient } from '../../pkg/image/registry-client';
import { UnauthorizedError } from '../../pkg/image/registry-errors';
import { TransferEvent } from '../../pkg/image/transfer-events';
import { chainIds } from '../../pkg/storage/chain-id';
import { FakeRegistry, FakeRegistryOptions } from './fake-registry';

const sha256 = (data: Buffer | string): string => `sha256:${crypto.createHash('sha256').update(data).digest('hex')}`;
const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'tspod-push-test-'));
const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups) await c();
  fs.rmSync(tmpRoot, { recursive: true, force: true });
});

async function makeTar(files: Record<string, string>, mtime = 1_600_000_000_000): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const chunk of pack as unknown as AsyncIterable<Buffer>) chunks.push(chunk);
  })();
  for (const [name, content] of Object.entries(files)) {
    await new Promise<void>((resolve, reject) => pack.entry({ name, mode: 0o644, mtime: new Date(mtime) }, content, (err) => (err ? reject(err) : resolve())));
  }
  pack.finalize();
  await collected;
  return Buffer.concat(chunks);
}

interface TestLayer {
  /** the tar the image was built from (its sha256 is the diff ID) */
  tar: Buffer;
  /** the blob it was distributed as */
  blob: Buffer;
  /** what the layer store tars the layer as now (default: `tar`) */
  retar?: Buffer;
}

interface TestImage {
  config: Buffer;
  manifest: Buffer;
  manifestMediaType: string;
  layers: TestLayer[];
  configDigest: string;
  manifestDigest: string;
}

/** An image as a registry would serve it; `level` picks the gzip level its blobs were made with. */
async function testImage(format: 'oci' | 'v2s2', opts: { level?: number; layerCount?: number } = {}): Promise<TestImage> {
  const layers: TestLayer[] = [];
  for (let i = 0; i < (opts.layerCount ?? 2); i++) {
    const t = await makeTar({ [`file${i}.txt`]: `layer ${i} `.repeat(500) });
    layers.push({ tar: t, blob: zlib.gzipSync(t, { level: opts.level ?? 9 }) });
  }
  const config = Buffer.from(
    JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Cmd: ['sh'] }, rootfs: { type: 'layers', diff_ids: layers.map((l) => sha256(l.tar)) } }, null, 2),
  );
  const manifestMediaType = format === 'oci' ? MediaType.OCI_MANIFEST : MediaType.DOCKER_MANIFEST;
  const manifest = Buffer.from(
    JSON.stringify(
      {
        schemaVersion: 2,
        mediaType: manifestMediaType,
        config: { mediaType: format === 'oci' ? MediaType.OCI_CONFIG : MediaType.DOCKER_CONFIG, size: config.length, digest: sha256(config) },
        layers: layers.map((l) => ({ mediaType: format === 'oci' ? MediaType.OCI_LAYER_GZIP : MediaType.DOCKER_LAYER_GZIP, size: l.blob.length, digest: sha256(l.blob) })),
      },
      null,
      3,
    ),
  );
  return { config, manifest, manifestMediaType, layers, configDigest: sha256(config), manifestDigest: sha256(manifest) };
}

/** A layer store holding the image's layers, tarring them as `retar` (or the original tar). */
function layerSource(img: TestImage, withRows = true): LayerSource {
  const chains = chainIds(img.layers.map((l) => sha256(l.tar)));
  return {
    get(chainId) {
      const i = chains.indexOf(chainId);
      if (i < 0 || !withRows) return undefined;
      const l = img.layers[i];
      return { compressedDigest: sha256(l.blob), compressedSize: l.blob.length, mediaType: MediaType.OCI_LAYER_GZIP };
    },
    tarLayer(chainId) {
      const i = chains.indexOf(chainId);
      if (i < 0) throw new Error(`no layer ${chainId}`);
      return Readable.from([img.layers[i].retar ?? img.layers[i].tar]);
    },
  };
}

async function fakeRegistry(opts: FakeRegistryOptions = {}): Promise<FakeRegistry> {
  const f = await new FakeRegistry(opts).start();
  cleanups.push(() => f.stop());
  return f;
}

function clientFor(f: FakeRegistry, credentials: { username: string; password: string } | null = null): RegistryClient {
  const c = new RegistryClient({ host: f.host, allowHttp: true }, { credentials, retryDelays: [5], tokenCache: new TokenCache(), ca: [] });
  cleanups.push(() => c.close());
  return c;
}

function seed(f: FakeRegistry, repo: string, img: TestImage): void {
  for (const l of img.layers) f.putBlob(repo, l.blob);
  f.putBlob(repo, img.config);
}

function input(img: TestImage, extra: Partial<PushInput> = {}): PushInput {
  return { config: img.config, manifest: img.manifest, manifestMediaType: img.manifestMediaType, layers: layerSource(img), mountFrom: [], tmpBase: path.join(tmpRoot, 'blobs'), ...extra };
}

function recorder(): { events: TransferEvent[]; opts: PushOptions } {
  const events: TransferEvent[] = [];
  return { events, opts: { listener: (e) => events.push(e) } };
}

/** Every blob the pushed manifest names is in the repository, with the announced size. */
function assertComplete(f: FakeRegistry, repo: string, tag: string): { manifest: { config: Descriptor; layers: Descriptor[] }; config: { rootfs: { diff_ids: string[] } } } {
  const stored = f.manifest(repo, tag);
  assert.ok(stored, `manifest ${repo}:${tag} pushed`);
  const manifest = JSON.parse(stored.bytes.toString()) as { config: Descriptor; layers: Descriptor[] };
  for (const d of [manifest.config, ...manifest.layers]) {
    const blob = f.blob(repo, d.digest);
    assert.ok(blob, `blob ${d.digest} in ${repo}`);
    assert.equal(blob.length, d.size);
  }
  const config = JSON.parse((f.blob(repo, manifest.config.digest) as Buffer).toString()) as { rootfs: { diff_ids: string[] } };
  manifest.layers.forEach((d, i) => {
    const plain = zlib.gunzipSync(f.blob(repo, d.digest) as Buffer);
    assert.equal(sha256(plain), config.rootfs.diff_ids[i], `layer ${i} matches its diff ID`);
  });
  return { manifest, config };
}

describe('pushToRegistry', () => {
  test('blobs already in the destination: the stored manifest goes out byte for byte', async () => {
    const f = await fakeRegistry();
    const img = await testImage('v2s2');
    seed(f, 'dest/app', img);
    const { events, opts } = recorder();
    const r = await pushToRegistry(clientFor(f), 'dest/app', '1', input(img), opts);
    assert.equal(r.digest, img.manifestDigest);
    assert.ok(r.preserved);
    assert.equal(r.recompressed, 0);
    assert.deepEqual(f.manifest('dest/app', '1')?.bytes, img.manifest);
    assert.equal(f.manifest('dest/app', '1')?.mediaType, MediaType.DOCKER_MANIFEST);
    assert.equal(f.requests('PUT', '/v2/dest/app/blobs').length, 0, 'nothing uploaded');
    const texts = events.filter((e) => e.kind === 'message').map((e) => (e as { text: string }).text);
    assert.deepEqual(texts, ['Getting image source signatures', 'Writing manifest to image destination']);
    const done = events.filter((e) => e.kind === 'blob-done');
    assert.deepEqual(
      done.map((e) => [e.what, (e as { skipped?: string }).skipped]),
      [['blob', 'exists'], ['blob', 'exists'], ['config', 'exists']],
    );
  });

  test('blobs in another repository of the registry are mounted, digest unchanged', async () => {
    const f = await fakeRegistry();
    const img = await testImage('oci');
    seed(f, 'library/app', img);
    const r = await pushToRegistry(clientFor(f), 'pushed/app', 'v1', input(img, { mountFrom: ['elsewhere/none', 'library/app'] }));
    assert.equal(r.digest, img.manifestDigest);
    assert.ok(r.preserved);
    const mounts = f.requests('POST', '/v2/pushed/app/blobs/uploads/?mount=');
    assert.equal(mounts.length, 4, 'each layer: a failed mount from elsewhere/none, then one from library/app');
    assert.equal(f.requests('DELETE').length, 2, 'the sessions of failed mounts are cancelled');
    assert.equal(f.openUploads, 0);
    assertComplete(f, 'pushed/app', 'v1');
  });

  test('blobs nowhere: layers are gzipped anew; same tar keeps the config', async () => {
    const f = await fakeRegistry();
    const img = await testImage('oci', { level: 1 });
    const { events, opts } = recorder();
    const r = await pushToRegistry(clientFor(f), 'new/app', 'latest', input(img), opts);
    assert.equal(r.preserved, false);
    assert.equal(r.recompressed, 2);
    assert.equal(r.configDigest, img.configDigest, 'the same tars: diff IDs and config unchanged');
    const { manifest } = assertComplete(f, 'new/app', 'latest');
    assert.equal(sha256(f.manifest('new/app', 'latest')?.bytes as Buffer), r.digest);
    for (const [i, d] of manifest.layers.entries()) {
      assert.notEqual(d.digest, sha256(img.layers[i].blob));
      assert.equal(d.mediaType, MediaType.OCI_LAYER_GZIP);
    }
    assert.ok(events.some((e) => e.kind === 'blob-progress'));
    assert.deepEqual(fs.readdirSync(path.join(tmpRoot, 'blobs')), [], 'temporary blobs removed');
  });

  test('a re-made tar that differs gets its diff ID into a new config', async () => {
    const f = await fakeRegistry();
    const img = await testImage('v2s2');
    img.layers[1].retar = await makeTar({ 'file1.txt': 'layer 1 '.repeat(500) }, 1_700_000_000_000);
    seed(f, 'src/app', img);
    f.blobs.get('src/app')?.delete(sha256(img.layers[1].blob));
    const r = await pushToRegistry(clientFor(f), 'dst/app', 'latest', input(img, { mountFrom: ['src/app'] }));
    assert.equal(r.recompressed, 1);
    assert.notEqual(r.configDigest, img.configDigest);
    const { manifest, config } = assertComplete(f, 'dst/app', 'latest');
    assert.equal(manifest.layers[0].digest, sha256(img.layers[0].blob), 'the mounted layer keeps its blob');
    assert.equal(config.rootfs.diff_ids[0], sha256(img.layers[0].tar));
    assert.equal(config.rootfs.diff_ids[1], sha256(img.layers[1].retar));
    assert.equal(f.manifest('dst/app', 'latest')?.mediaType, MediaType.DOCKER_MANIFEST);
  });

  test('a blob tspod itself made is reproduced: the manifest stays', async () => {
    const f = await fakeRegistry();
    const img = await testImage('oci');
    // Rebuild the image with blobs made the way push makes them.
    for (const [i, l] of img.layers.entries()) {
      const made = await gzipLayerToFile(Readable.from([l.tar]), path.join(tmpRoot, `repro-${i}.gz`));
      l.blob = fs.readFileSync(made.file);
    }
    const doc = JSON.parse(img.manifest.toString()) as { layers: Descriptor[] };
    doc.layers = img.layers.map((l) => ({ mediaType: MediaType.OCI_LAYER_GZIP, digest: sha256(l.blob), size: l.blob.length }));
    img.manifest = Buffer.from(JSON.stringify(doc, null, 2));
    const r = await pushToRegistry(clientFor(f), 'repro/app', 'latest', input(img));
    assert.ok(r.preserved);
    assert.equal(r.digest, sha256(img.manifest));
    assert.equal(r.recompressed, 0);
    assertComplete(f, 'repro/app', 'latest');
  });

  test('--format converts media types and keeps blobs and config', async () => {
    const f = await fakeRegistry();
    const img = await testImage('v2s2');
    seed(f, 'conv/app', img);
    const toOci = await pushToRegistry(clientFor(f), 'conv/app', 'oci', input(img), { format: 'oci' });
    assert.equal(toOci.preserved, false);
    assert.equal(toOci.mediaType, MediaType.OCI_MANIFEST);
    assert.equal(toOci.configDigest, img.configDigest);
    const oci = JSON.parse(f.manifest('conv/app', 'oci')?.bytes.toString() ?? '') as { mediaType: string; config: Descriptor; layers: Descriptor[] };
    assert.equal(oci.mediaType, MediaType.OCI_MANIFEST);
    assert.equal(oci.config.mediaType, MediaType.OCI_CONFIG);
    assert.deepEqual(
      oci.layers.map((l) => [l.mediaType, l.digest]),
      img.layers.map((l) => [MediaType.OCI_LAYER_GZIP, sha256(l.blob)]),
    );
    const same = await pushToRegistry(clientFor(f), 'conv/app', 'v2', input(img), { format: 'v2s2' });
    assert.ok(same.preserved, 'asking for the format it has changes nothing');
    assert.equal(same.digest, img.manifestDigest);
  });

  test('large blobs go up in chunks', async () => {
    const f = await fakeRegistry();
    const img = await testImage('oci', { layerCount: 1 });
    img.layers[0].tar = await makeTar({ 'random.bin': crypto.randomBytes(300_000).toString('base64') });
    img.config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(img.layers[0].tar)] } }));
    img.manifest = Buffer.alloc(0);
    const r = await pushToRegistry(clientFor(f), 'big/app', 'latest', input(img, { manifest: null, manifestMediaType: null }), { chunkSize: 64 * 1024, parallel: 1 });
    assert.ok(f.requests('PATCH', '/v2/big/app/blobs/uploads/').length > 3);
    assert.equal(r.mediaType, MediaType.OCI_MANIFEST, 'an image without a manifest is pushed as OCI');
    assertComplete(f, 'big/app', 'latest');
  });

  test('an image without a stored manifest reuses the blobs its layer rows name', async () => {
    const f = await fakeRegistry();
    const img = await testImage('oci');
    seed(f, 'rows/app', img);
    const r = await pushToRegistry(clientFor(f), 'rows/app', 'latest', input(img, { manifest: null, manifestMediaType: null }));
    assert.equal(r.recompressed, 0);
    const { manifest } = assertComplete(f, 'rows/app', 'latest');
    assert.deepEqual(
      manifest.layers.map((l) => l.digest),
      img.layers.map((l) => sha256(l.blob)),
    );
  });

  test('--compression-format gzip does not reuse uncompressed blobs', async () => {
    const f = await fakeRegistry();
    const img = await testImage('oci', { layerCount: 1 });
    img.layers[0].blob = img.layers[0].tar;
    const doc = JSON.parse(img.manifest.toString()) as { layers: Descriptor[] };
    doc.layers = [{ mediaType: MediaType.OCI_LAYER, digest: sha256(img.layers[0].tar), size: img.layers[0].tar.length }];
    img.manifest = Buffer.from(JSON.stringify(doc));
    seed(f, 'plain/app', img);
    const kept = await pushToRegistry(clientFor(f), 'plain/app', 'kept', input(img));
    assert.ok(kept.preserved, 'by default an uncompressed blob on the registry is reused');
    const gz = await pushToRegistry(clientFor(f), 'plain/app', 'gz', input(img), { compressionFormat: 'gzip' });
    assert.equal(gz.recompressed, 1);
    const m = JSON.parse(f.manifest('plain/app', 'gz')?.bytes.toString() ?? '') as { layers: Descriptor[] };
    assert.equal(m.layers[0].mediaType, MediaType.OCI_LAYER_GZIP);
  });

  test('refused credentials fail before any progress, naming the registry and tspod login', async () => {
    const f = await fakeRegistry({ users: { alice: 'secret' } });
    const img = await testImage('oci');
    const { events, opts } = recorder();
    await assert.rejects(pushToRegistry(clientFor(f), 'private/app', 'latest', input(img), opts), (err: Error) => {
      assert.ok(err instanceof UnauthorizedError);
      assert.match(err.message, new RegExp(`${f.host}.*tspod login ${f.host}`));
      return true;
    });
    assert.deepEqual(events, []);
    const r = await pushToRegistry(clientFor(f, { username: 'alice', password: 'secret' }), 'private/app', 'latest', input(img));
    assertComplete(f, 'private/app', 'latest');
    assert.ok(r.digest.startsWith('sha256:'));
  });

  test('pushing by digest checks the digest', async () => {
    const f = await fakeRegistry();
    const img = await testImage('oci');
    seed(f, 'bydigest/app', img);
    const r = await pushToRegistry(clientFor(f), 'bydigest/app', img.manifestDigest, input(img));
    assert.equal(r.digest, img.manifestDigest);
  });
});

describe('manifest formats', () => {
  test('--format values', () => {
    assert.equal(parseManifestFormat('oci'), 'oci');
    assert.equal(parseManifestFormat('v2s2'), 'v2s2');
    assert.equal(parseManifestFormat('docker'), 'v2s2');
    assert.throws(() => parseManifestFormat('v2s1'), /not supported/);
    assert.throws(() => parseManifestFormat('tarball'), InvalidArgumentError);
  });

  test('layer media types between formats', () => {
    assert.equal(layerMediaTypeIn(MediaType.DOCKER_LAYER_GZIP, 'oci'), MediaType.OCI_LAYER_GZIP);
    assert.equal(layerMediaTypeIn(MediaType.OCI_LAYER_GZIP, 'v2s2'), MediaType.DOCKER_LAYER_GZIP);
    assert.equal(layerMediaTypeIn(MediaType.OCI_LAYER_ZSTD, 'oci'), MediaType.OCI_LAYER_ZSTD);
    assert.equal(layerMediaTypeIn(MediaType.OCI_LAYER_ZSTD, 'v2s2'), undefined, 'schema 2 has no zstd');
    assert.equal(layerMediaTypeIn(MediaType.OCI_LAYER, 'v2s2'), 'application/vnd.docker.image.rootfs.diff.tar');
    assert.equal(layerMediaTypeIn('application/octet-stream', 'oci'), undefined);
  });

  test('serialisation: field order of containers/image, extras only in OCI', () => {
    const config = { mediaType: MediaType.DOCKER_CONFIG, digest: sha256('c'), size: 1 };
    const layer = { mediaType: MediaType.DOCKER_LAYER_GZIP, digest: sha256('l'), size: 2, annotations: { a: 'b' } };
    assert.equal(
      serializeManifest('v2s2', config, [layer], { annotations: { x: 'y' } }).toString(),
      `{"schemaVersion":2,"mediaType":"${MediaType.DOCKER_MANIFEST}","config":{"mediaType":"${MediaType.DOCKER_CONFIG}","size":1,"digest":"${sha256('c')}"},` +
        `"layers":[{"mediaType":"${MediaType.DOCKER_LAYER_GZIP}","size":2,"digest":"${sha256('l')}"}]}`,
    );
    const oci = JSON.parse(serializeManifest('oci', { ...config, mediaType: MediaType.OCI_CONFIG }, [{ ...layer, mediaType: MediaType.OCI_LAYER_GZIP }], { annotations: { x: 'y' } }).toString());
    assert.deepEqual(Object.keys(oci), ['schemaVersion', 'mediaType', 'config', 'layers', 'annotations']);
    assert.deepEqual(oci.layers[0], { mediaType: MediaType.OCI_LAYER_GZIP, digest: sha256('l'), size: 2, annotations: { a: 'b' } });
  });
});

describe('destinations', () => {
  test('Podman’s reading of DESTINATION', () => {
    assert.deepEqual(parseDestination('127.0.0.1:5000/other/busybox:1'), { registry: '127.0.0.1:5000', repository: 'other/busybox', tag: '1' });
    assert.deepEqual(parseDestination('docker://quay.io/me/app'), { registry: 'quay.io', repository: 'me/app', tag: 'latest' });
    assert.deepEqual(parseDestination('me/app'), { registry: 'docker.io', repository: 'me/app', tag: 'latest' });
    assert.deepEqual(parseDestination('localhost/app'), { registry: 'localhost', repository: 'app', tag: 'latest' });
    assert.throws(() => parseDestination('oci:/tmp/layout'), /"oci" transport is not supported/);
    assert.throws(() => parseDestination('BAD//ref'), /invalid reference format/);
    assert.throws(() => parseDestination(`quay.io/me/app:1@${sha256('x')}`), /both a tag and a digest/);
  });
});

describe('layer blobs', () => {
  test('gzip to a file with both digests, the same bytes each time', async () => {
    const t = await makeTar({ 'a.txt': 'hello '.repeat(1000) });
    const a = await gzipLayerToFile(Readable.from([t]), path.join(tmpRoot, 'a.gz'));
    const b = await gzipLayerToFile(Readable.from([t.subarray(0, 100), t.subarray(100)]), path.join(tmpRoot, 'b.gz'));
    assert.equal(a.diffId, sha256(t));
    assert.equal(a.tarSize, t.length);
    assert.equal(a.digest, sha256(fs.readFileSync(a.file)));
    assert.equal(a.size, fs.statSync(a.file).size);
    assert.equal(fs.statSync(a.file).mode & 0o777, 0o600);
    assert.deepEqual(zlib.gunzipSync(fs.readFileSync(a.file)), t);
    assert.equal(b.digest, a.digest, 'chunking of the input does not change the blob');
  });

  test('a failing tar leaves no file behind', async () => {
    const broken = new Readable({
      read() {
        this.destroy(new Error('disk on fire'));
      },
    });
    const file = path.join(tmpRoot, 'broken.gz');
    await assert.rejects(gzipLayerToFile(broken, file), /disk on fire/);
    assert.equal(fs.existsSync(file), false);
  });

  test('blob directories of dead processes are removed', async () => {
    const base = path.join(tmpRoot, 'dirs');
    fs.mkdirSync(path.join(base, 'push-999999999-abc'), { recursive: true });
    fs.mkdirSync(path.join(base, `push-${process.ppid}-live`), { recursive: true });
    const d = await makeBlobDir(base);
    assert.ok(fs.existsSync(d.dir));
    assert.equal(fs.existsSync(path.join(base, 'push-999999999-abc')), false);
    assert.ok(fs.existsSync(path.join(base, `push-${process.ppid}-live`)));
    await d.remove();
    assert.equal(fs.existsSync(d.dir), false);
  });
});
