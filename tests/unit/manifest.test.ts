import { test } from 'node:test';
import * as crypto from 'node:crypto';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidArgumentError, NotFoundError } from '../../pkg/errors';
import { DigestMismatchError, DigestVerifier, isDigest, sha256Digest, validateDigest } from '../../pkg/image/digest';
import { WORKER_HASH_MIN } from '../../pkg/storage/stream-hasher';
import {
  ImageIndex,
  MANIFEST_ACCEPT,
  MediaType,
  hostPlatform,
  layerCompression,
  parseImageConfig,
  parseManifest,
  parsePlatform,
  selectPlatform,
} from '../../pkg/image/manifest';

const D = (c: string) => `sha256:${c.repeat(64)}`;

const ociManifest = {
  schemaVersion: 2,
  mediaType: MediaType.OCI_MANIFEST,
  config: { mediaType: MediaType.OCI_CONFIG, digest: D('1'), size: 100 },
  layers: [{ mediaType: MediaType.OCI_LAYER_GZIP, digest: D('2'), size: 2000 }],
};

function index(platforms: Array<{ os: string; architecture: string; variant?: string } | undefined>, extra: object[] = []): ImageIndex {
  return {
    schemaVersion: 2,
    mediaType: MediaType.OCI_INDEX,
    manifests: [
      ...platforms.map((p, i) => ({ mediaType: MediaType.OCI_MANIFEST, digest: D(String(i)), size: 10, ...(p ? { platform: p } : {}) })),
      ...(extra as ImageIndex['manifests']),
    ],
  };
}

test('digests: computing and validating', () => {
  assert.equal(sha256Digest(''), 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.deepEqual(validateDigest(D('a')), { algorithm: 'sha256', hex: 'a'.repeat(64) });
  assert.equal(isDigest(`sha512:${'0'.repeat(128)}`), true);
  assert.throws(() => validateDigest('sha256:abc'), /invalid checksum digest length/);
  assert.throws(() => validateDigest(`sha256:${'A'.repeat(64)}`), /invalid checksum digest format/);
  assert.throws(() => validateDigest(`md5:${'0'.repeat(32)}`), /unsupported digest algorithm "md5"/);
  assert.throws(() => validateDigest('nocolon'), /invalid digest format/);
});

async function runThrough(v: DigestVerifier, chunks: Buffer[]): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(Readable.from(chunks), v, async (src: AsyncIterable<Buffer>) => {
    for await (const c of src) out.push(c);
  });
  return Buffer.concat(out);
}

test('DigestVerifier passes good content through', async () => {
  const data = Buffer.from('hello world');
  const v = new DigestVerifier(sha256Digest(data), { expectedSize: data.length });
  const out = await runThrough(v, [data.subarray(0, 5), data.subarray(5)]);
  assert.deepEqual(out, data);
  assert.equal(v.digest, sha256Digest(data));
  assert.equal(v.bytes, data.length);
});

test('DigestVerifier fails on wrong bytes, short and long content', async () => {
  const data = Buffer.from('hello world');
  const good = sha256Digest(data);
  await assert.rejects(runThrough(new DigestVerifier(good), [Buffer.from('hello wOrld')]), (err: unknown) => {
    assert.ok(err instanceof DigestMismatchError);
    assert.equal(err.expectedDigest, good);
    assert.match(err.message, /digest mismatch/);
    return true;
  });
  await assert.rejects(runThrough(new DigestVerifier(good, { expectedSize: 11 }), [data.subarray(0, 4)]), DigestMismatchError);
  await assert.rejects(runThrough(new DigestVerifier(good, { expectedSize: 5 }), [data]), /size mismatch: expected 5 bytes, got 11/);
});

test('DigestVerifier hashes a big blob on the hash worker, to the same verdicts', async () => {
  const data = crypto.randomBytes(WORKER_HASH_MIN + 12345);
  const chunks: Buffer[] = [];
  for (let off = 0; off < data.length; off += 65536) chunks.push(data.subarray(off, off + 65536));
  const good = sha256Digest(data);
  const v = new DigestVerifier(good, { expectedSize: data.length });
  v.seed(chunks[0]);
  assert.ok((await runThrough(v, chunks.slice(1))).equals(data.subarray(chunks[0].length)));
  assert.equal(v.digest, good);
  const corrupt = Buffer.from(data);
  corrupt[corrupt.length - 1] ^= 1;
  await assert.rejects(runThrough(new DigestVerifier(good, { expectedSize: data.length }), [corrupt]), /digest mismatch/);
  // one given up midway ends its session on the worker (else this test file would never exit)
  const abandoned = new DigestVerifier(good, { expectedSize: data.length });
  abandoned.write(chunks[0]);
  abandoned.destroy();
});

test('DigestVerifier seeded with earlier bytes checks the whole blob', async () => {
  const data = Buffer.from('0123456789');
  const v = new DigestVerifier(sha256Digest(data), { expectedSize: 10 });
  v.seed(data.subarray(0, 4));
  const out = await runThrough(v, [data.subarray(4)]);
  assert.equal(out.toString(), '456789');
});

test('parseManifest: OCI and Docker manifests', () => {
  const p = parseManifest(Buffer.from(JSON.stringify(ociManifest)), 'application/json');
  assert.equal(p.kind, 'manifest');
  assert.equal(p.mediaType, MediaType.OCI_MANIFEST);
  if (p.kind === 'manifest') assert.equal(p.manifest.layers[0].size, 2000);
  // No mediaType in the body: the header decides, else the shape.
  const bare = { ...ociManifest, mediaType: undefined };
  assert.equal(parseManifest(JSON.stringify(bare), MediaType.DOCKER_MANIFEST).mediaType, MediaType.DOCKER_MANIFEST);
  assert.equal(parseManifest(JSON.stringify(bare), 'text/plain').mediaType, MediaType.OCI_MANIFEST);
  const dockerShape = { ...bare, config: { ...ociManifest.config, mediaType: MediaType.DOCKER_CONFIG } };
  assert.equal(parseManifest(JSON.stringify(dockerShape)).mediaType, MediaType.DOCKER_MANIFEST);
});

test('parseManifest: indexes and lists', () => {
  const idx = index([{ os: 'linux', architecture: 'amd64' }]);
  const p = parseManifest(JSON.stringify(idx), MediaType.OCI_INDEX);
  assert.equal(p.kind, 'index');
  const list = { ...idx, mediaType: MediaType.DOCKER_LIST };
  assert.equal(parseManifest(JSON.stringify(list)).mediaType, MediaType.DOCKER_LIST);
  assert.equal(parseManifest(JSON.stringify({ ...idx, mediaType: undefined }), 'application/json').kind, 'index');
});

test('parseManifest rejects malformed documents', () => {
  assert.throws(() => parseManifest('{'), /invalid manifest: not JSON/);
  assert.throws(() => parseManifest('[]'), /not a JSON object/);
  assert.throws(() => parseManifest(JSON.stringify({ ...ociManifest, schemaVersion: 3 })), /schemaVersion 3/);
  assert.throws(() => parseManifest(JSON.stringify({ schemaVersion: 1, name: 'x' })), /schema 1 is deprecated/);
  assert.throws(() => parseManifest(JSON.stringify({ ...ociManifest, layers: undefined })), /without "layers"/);
  const badDigest = { ...ociManifest, layers: [{ mediaType: MediaType.OCI_LAYER, digest: 'sha256:zz', size: 1 }] };
  assert.throws(() => parseManifest(JSON.stringify(badDigest)), /layers\[0\] has an invalid digest/);
  const badSize = { ...ociManifest, config: { ...ociManifest.config, size: -1 } };
  assert.throws(() => parseManifest(JSON.stringify(badSize)), /config has an invalid size/);
  assert.throws(() => parseManifest(JSON.stringify({ ...ociManifest, mediaType: 'application/x-foo' })), /unsupported manifest media type/);
  const badPlatform = index([]);
  badPlatform.manifests.push({ mediaType: MediaType.OCI_MANIFEST, digest: D('9'), size: 1, platform: { os: 'linux' } as never });
  assert.throws(() => parseManifest(JSON.stringify(badPlatform)), /invalid platform/);
  assert.ok(MANIFEST_ACCEPT.startsWith(MediaType.OCI_INDEX));
});

test('parseImageConfig checks rootfs', () => {
  const cfg = parseImageConfig(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Env: ['PATH=/bin'], Cmd: ['sh'], ExposedPorts: { '80/tcp': {} }, Healthcheck: { Test: ['CMD', 'true'], Interval: 1e9 } },
      rootfs: { type: 'layers', diff_ids: [D('3')] },
      history: [{ created_by: 'ADD x /', empty_layer: false }],
    }),
  );
  assert.deepEqual(cfg.config?.Cmd, ['sh']);
  assert.equal(cfg.config?.Healthcheck?.Interval, 1e9);
  assert.throws(() => parseImageConfig(JSON.stringify({ architecture: 'amd64', os: 'linux' })), /rootfs\.diff_ids/);
  assert.throws(() => parseImageConfig(JSON.stringify({ rootfs: { type: 'layers', diff_ids: ['x'] } })), /invalid digest/);
});

test('layerCompression from media types', () => {
  assert.equal(layerCompression(MediaType.DOCKER_LAYER_GZIP), 'gzip');
  assert.equal(layerCompression(MediaType.OCI_LAYER_ZSTD), 'zstd');
  assert.equal(layerCompression(MediaType.OCI_LAYER), 'none');
  assert.equal(layerCompression(MediaType.OCI_CONFIG), undefined);
});

test('parsePlatform normalises Go names and variants', () => {
  assert.deepEqual(parsePlatform('linux/arm64/v8'), { os: 'linux', architecture: 'arm64', variant: 'v8' });
  assert.deepEqual(parsePlatform('linux/arm64'), { os: 'linux', architecture: 'arm64', variant: 'v8' });
  assert.deepEqual(parsePlatform('linux/aarch64'), { os: 'linux', architecture: 'arm64', variant: 'v8' });
  assert.deepEqual(parsePlatform('linux/x86_64'), { os: 'linux', architecture: 'amd64' });
  assert.deepEqual(parsePlatform('linux/arm'), { os: 'linux', architecture: 'arm', variant: 'v7' });
  assert.deepEqual(parsePlatform('linux/arm/6'), { os: 'linux', architecture: 'arm', variant: 'v6' });
  assert.deepEqual(parsePlatform('Linux/AMD64'), { os: 'linux', architecture: 'amd64' });
  assert.throws(() => parsePlatform('arm64'), (err: unknown) => err instanceof InvalidArgumentError && /expected os\/arch\[\/variant\]/.test(err.message));
  assert.throws(() => parsePlatform('linux/arm64/v8/x'), InvalidArgumentError);
});

test('hostPlatform uses Go names', () => {
  const p = hostPlatform();
  assert.equal(p.os, 'linux');
  const expected: Record<string, string> = { x64: 'amd64', arm64: 'arm64', ia32: '386', arm: 'arm' };
  if (expected[process.arch]) assert.equal(p.architecture, expected[process.arch]);
  if (process.arch === 'arm64') assert.equal(p.variant, 'v8');
});

test('selectPlatform picks the matching entry', () => {
  const idx = index([
    { os: 'linux', architecture: 'amd64' },
    { os: 'linux', architecture: 'arm64', variant: 'v8' },
    { os: 'linux', architecture: 'arm', variant: 'v6' },
    { os: 'windows', architecture: 'amd64' },
  ]);
  assert.equal(selectPlatform(idx, { os: 'linux', architecture: 'amd64' }).digest, D('0'));
  assert.equal(selectPlatform(idx, { os: 'linux', architecture: 'x64' }).digest, D('0'));
  assert.equal(selectPlatform(idx, { os: 'linux', architecture: 'arm64' }).digest, D('1'));
  // arm/v7 hosts run v6 images when nothing better exists
  assert.equal(selectPlatform(idx, parsePlatform('linux/arm/v7')).digest, D('2'));
  assert.equal(selectPlatform(idx, { os: 'windows', architecture: 'amd64' }).digest, D('3'));
  // arm64 without variant in the index still matches arm64/v8
  assert.equal(selectPlatform(index([{ os: 'linux', architecture: 'arm64' }]), parsePlatform('linux/arm64/v8')).digest, D('0'));
});

test('selectPlatform prefers the exact variant and skips attestations', () => {
  const idx = index(
    [
      { os: 'linux', architecture: 'arm', variant: 'v6' },
      { os: 'linux', architecture: 'arm', variant: 'v7' },
      { os: 'linux', architecture: 'amd64', variant: 'v3' },
      { os: 'linux', architecture: 'amd64' },
    ],
    [{ mediaType: MediaType.OCI_MANIFEST, digest: D('f'), size: 1, platform: { os: 'unknown', architecture: 'unknown' } }],
  );
  assert.equal(selectPlatform(idx, parsePlatform('linux/arm/v7')).digest, D('1'));
  assert.equal(selectPlatform(idx, parsePlatform('linux/amd64')).digest, D('3'));
  assert.equal(selectPlatform(idx, parsePlatform('linux/amd64/v3')).digest, D('2'));
  assert.equal(selectPlatform(index([undefined]), parsePlatform('linux/s390x')).digest, D('0'));
});

test('selectPlatform lists what is available when nothing matches', () => {
  const idx = index([
    { os: 'linux', architecture: 'amd64' },
    { os: 'linux', architecture: 'arm', variant: 'v7' },
  ]);
  assert.throws(
    () => selectPlatform(idx, parsePlatform('linux/arm64')),
    (err: unknown) => {
      assert.ok(err instanceof NotFoundError);
      assert.equal(err.message, 'no image found in image index for platform linux/arm64/v8; available platforms: linux/amd64, linux/arm/v7');
      return true;
    },
  );
  assert.throws(() => selectPlatform(idx, parsePlatform('linux/arm/v6')), /platform linux\/arm\/v6/);
});
