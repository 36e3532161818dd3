// Reading image archives: the tar index (names, offsets, long names, PAX), path checks, symlinks
// inside and outside the archive, compressed input, and the plans of Docker and OCI layouts.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import { after, describe, it } from 'node:test';
import * as tar from 'tar-stream';
import { sha256Digest } from '../../pkg/image/digest';
import { InvalidArgumentError } from '../../pkg/errors';
import { DirReader, TarFileReader, UnsafeArchiveError, archivePath, decompressArchive, planArchive } from '../../pkg/image/archive-load';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tspod-archive-reader-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
let counter = 0;

interface Entry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link';
  content?: string | Buffer;
  linkname?: string;
}

async function tarOf(entries: Entry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack as unknown as AsyncIterable<Buffer>) chunks.push(c);
  })();
  for (const e of entries) {
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null): void => (err ? reject(err) : resolve());
      const header = { name: e.name, type: e.type ?? 'file', linkname: e.linkname, mode: 0o644, mtime: new Date(0) };
      if ((e.type ?? 'file') === 'file') pack.entry(header, e.content ?? '', cb);
      else pack.entry(header, cb);
    });
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

async function tarFile(entries: Entry[]): Promise<string> {
  const file = path.join(tmp, `a${++counter}.tar`);
  fs.writeFileSync(file, await tarOf(entries));
  return file;
}

async function text(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

describe('archivePath', () => {
  it('normalises harmless spellings', () => {
    assert.equal(archivePath('./manifest.json'), 'manifest.json');
    assert.equal(archivePath('blobs//sha256/./x'), 'blobs/sha256/x');
    assert.equal(archivePath('dir/'), 'dir');
  });
  it('refuses absolute paths and any ..', () => {
    assert.throws(() => archivePath('/etc/passwd'), UnsafeArchiveError);
    assert.throws(() => archivePath('../evil'), /leads outside the archive/);
    assert.throws(() => archivePath('a/../../b'), UnsafeArchiveError);
    assert.throws(() => archivePath('a/../b'), UnsafeArchiveError);
  });
});

describe('TarFileReader', () => {
  it('reads files by name, through ./ prefixes, long names and PAX paths', async () => {
    const long = `${'d'.repeat(120)}/${'f'.repeat(120)}.json`;
    const reader = await TarFileReader.open(await tarFile([{ name: './dir', type: 'directory' }, { name: './dir/a.json', content: '{"a":1}' }, { name: long, content: 'long' }]));
    assert.equal((await reader.read('dir/a.json', 100)).toString(), '{"a":1}');
    assert.equal((await reader.read(long, 100)).toString(), 'long');
    assert.equal(await text(reader.open(long)), 'long');
    assert.equal(reader.has('dir/a.json'), true);
    assert.equal(reader.has('dir'), false);
    assert.equal(reader.has('missing'), false);
  });
  it('streams a byte range and reads empty files', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 7, 7);
    const reader = await TarFileReader.open(await tarFile([{ name: 'empty' }, { name: 'big', content: big }, { name: 'after', content: 'x' }]));
    const chunks: Buffer[] = [];
    for await (const c of reader.open('big')) chunks.push(c as Buffer);
    assert.ok(Buffer.concat(chunks).equals(big));
    assert.equal(await text(reader.open('empty')), '');
    assert.equal(await text(reader.open('after')), 'x');
  });
  it('follows symlinks and hard links that stay inside the archive', async () => {
    const reader = await TarFileReader.open(
      await tarFile([
        { name: 'abc.tar', content: 'layer' },
        { name: 'id/layer.tar', type: 'symlink', linkname: '../abc.tar' },
        { name: 'id2/layer.tar', type: 'link', linkname: 'abc.tar' },
        { name: 'chain', type: 'symlink', linkname: 'id/layer.tar' },
      ]),
    );
    assert.equal(reader.resolve('id/layer.tar', 'layer'), 'abc.tar');
    assert.equal(reader.resolve('id2/layer.tar', 'layer'), 'abc.tar');
    assert.equal(await text(reader.open('chain')), 'layer');
  });
  it('refuses entries that leave the archive, whatever their type', async () => {
    await assert.rejects(TarFileReader.open(await tarFile([{ name: '../evil', content: 'x' }])), (e: Error) => e instanceof UnsafeArchiveError && /"\.\.\/evil"/.test(e.message));
    await assert.rejects(TarFileReader.open(await tarFile([{ name: '/etc/evil', content: 'x' }])), /absolute path/);
    await assert.rejects(TarFileReader.open(await tarFile([{ name: 'l', type: 'symlink', linkname: '../../etc/passwd' }])), /points outside the archive/);
    await assert.rejects(TarFileReader.open(await tarFile([{ name: 'l', type: 'symlink', linkname: '/etc/passwd' }])), /absolute path/);
    await assert.rejects(TarFileReader.open(await tarFile([{ name: 'h', type: 'link', linkname: '../x' }])), UnsafeArchiveError);
  });
  it('refuses references that leave the archive or name nothing', async () => {
    const reader = await TarFileReader.open(await tarFile([{ name: 'a', content: 'x' }, { name: 'loop1', type: 'symlink', linkname: 'loop2' }, { name: 'loop2', type: 'symlink', linkname: 'loop1' }]));
    assert.throws(() => reader.resolve('../../etc/passwd', 'layer 0'), (e: Error) => e instanceof UnsafeArchiveError && /layer 0/.test(e.message));
    assert.throws(() => reader.resolve('/etc/passwd', 'layer 0'), UnsafeArchiveError);
    assert.throws(() => reader.resolve('b', 'layer 0'), /not in the archive/);
    assert.throws(() => reader.resolve('loop1', 'layer 0'), /too many symlinks/);
  });
  it('refuses what is not a tar, and truncated tars', async () => {
    const junk = path.join(tmp, 'junk');
    fs.writeFileSync(junk, Buffer.alloc(2048, 0x41));
    await assert.rejects(TarFileReader.open(junk), /not a tar archive/);
    const whole = await tarOf([{ name: 'a', content: Buffer.alloc(5000, 1) }]);
    const cut = path.join(tmp, 'cut.tar');
    fs.writeFileSync(cut, whole.subarray(0, 2048));
    await assert.rejects(TarFileReader.open(cut), /truncated/);
  });
  it('enforces the size limit of small files', async () => {
    const reader = await TarFileReader.open(await tarFile([{ name: 'manifest.json', content: 'x'.repeat(100) }]));
    await assert.rejects(reader.read('manifest.json', 10), /more than the 10/);
  });
});

describe('DirReader', () => {
  it('reads inside the directory and refuses symlinks that leave it', async () => {
    const dir = path.join(tmp, 'layout');
    fs.mkdirSync(path.join(dir, 'blobs'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'index.json'), '{}');
    fs.writeFileSync(path.join(tmp, 'secret'), 'secret');
    fs.symlinkSync(path.join(tmp, 'secret'), path.join(dir, 'blobs', 'out'));
    const reader = new DirReader(dir);
    assert.equal((await reader.read('index.json', 10)).toString(), '{}');
    assert.throws(() => reader.resolve('blobs/out', 'layer'), UnsafeArchiveError);
    assert.throws(() => reader.resolve('../secret', 'layer'), UnsafeArchiveError);
  });
});

describe('decompressArchive', () => {
  it('passes a plain tar through and gunzips a gzipped one', async () => {
    const plain = await tarOf([{ name: 'a', content: 'x' }]);
    const out1 = await decompressArchive(Readable.from([plain]));
    assert.equal(out1.compressed, false);
    assert.ok(Buffer.concat(await (out1.tar.toArray() as Promise<Buffer[]>)).equals(plain));
    const out2 = await decompressArchive(Readable.from([zlib.gzipSync(plain)]));
    assert.equal(out2.compressed, true);
    assert.ok(Buffer.concat(await (out2.tar.toArray() as Promise<Buffer[]>)).equals(plain));
  });
  it('names xz and bzip2 as unsupported', async () => {
    await assert.rejects(decompressArchive(Readable.from([Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1, 2])])), (e: Error) => e instanceof InvalidArgumentError && /xz-compressed/.test(e.message));
    await assert.rejects(decompressArchive(Readable.from([Buffer.from('BZh91AY&SY')])), /bzip2-compressed/);
  });
});

describe('planArchive', () => {
  const layer = Buffer.from('pretend layer tar');
  const diffId = sha256Digest(layer);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [diffId] } }));
  const configDigest = sha256Digest(config);

  it('plans a legacy docker archive with normalised names', async () => {
    const reader = await TarFileReader.open(
      await tarFile([
        { name: 'l1/layer.tar', content: layer },
        { name: `${configDigest.slice(7)}.json`, content: config },
        { name: 'manifest.json', content: JSON.stringify([{ Config: `${configDigest.slice(7)}.json`, RepoTags: ['busybox:latest', 'quay.io/x/y:1', 'busybox'], Layers: ['l1/layer.tar'] }]) },
      ]),
    );
    const [plan] = await planArchive(reader);
    assert.equal(plan.id, configDigest);
    assert.ok(plan.config.equals(config));
    assert.deepEqual(plan.names, ['docker.io/library/busybox:latest', 'quay.io/x/y:1']);
    assert.deepEqual(plan.layers, [{ path: 'l1/layer.tar', diffId }]);
  });
  it('refuses a manifest whose layers point outside the archive, or do not match the config', async () => {
    const outside = await TarFileReader.open(
      await tarFile([{ name: 'c.json', content: config }, { name: 'manifest.json', content: JSON.stringify([{ Config: 'c.json', RepoTags: null, Layers: ['../../etc/passwd'] }]) }]),
    );
    await assert.rejects(planArchive(outside), (e: Error) => e instanceof UnsafeArchiveError && /layer 0 of manifest.json item 0/.test(e.message));
    const count = await TarFileReader.open(
      await tarFile([{ name: 'c.json', content: config }, { name: 'manifest.json', content: JSON.stringify([{ Config: 'c.json', Layers: [] }]) }]),
    );
    await assert.rejects(planArchive(count), /lists 0 layers but its config 1 diff IDs/);
    const badTag = await TarFileReader.open(
      await tarFile([{ name: 'l', content: layer }, { name: 'c.json', content: config }, { name: 'manifest.json', content: JSON.stringify([{ Config: 'c.json', RepoTags: ['Bad:Name!'], Layers: ['l'] }]) }]),
    );
    await assert.rejects(planArchive(badTag), /invalid RepoTags entry/);
  });
  it('plans an OCI layout: verified blobs, names from annotations, shared manifests merged', async () => {
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: diffId, size: layer.length }],
      }),
    );
    const md = sha256Digest(manifest);
    const desc = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: md, size: manifest.length };
    const index = {
      schemaVersion: 2,
      manifests: [
        { ...desc, annotations: { 'org.opencontainers.image.ref.name': 'mytag' } },
        { ...desc, annotations: { 'org.opencontainers.image.ref.name': 'example.com/a/b:v1' } },
        { ...desc, annotations: { 'io.containerd.image.name': 'docker.io/library/busybox:latest', 'org.opencontainers.image.ref.name': 'latest' } },
      ],
    };
    const entries: Entry[] = [
      { name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' },
      { name: 'index.json', content: JSON.stringify(index) },
      { name: `blobs/sha256/${md.slice(7)}`, content: manifest },
      { name: `blobs/sha256/${configDigest.slice(7)}`, content: config },
      { name: `blobs/sha256/${diffId.slice(7)}`, content: layer },
    ];
    const plans = await planArchive(await TarFileReader.open(await tarFile(entries)));
    assert.equal(plans.length, 1);
    assert.deepEqual(plans[0].names, ['localhost/mytag:latest', 'example.com/a/b:v1', 'docker.io/library/busybox:latest']);
    assert.equal(plans[0].manifest?.digest, md);
    assert.deepEqual(plans[0].layers[0], { path: `blobs/sha256/${diffId.slice(7)}`, diffId, mediaType: 'application/vnd.oci.image.layer.v1.tar', blobDigest: diffId, blobSize: layer.length });

    const corrupt = entries.map((e) => (e.name.endsWith(configDigest.slice(7)) ? { ...e, content: Buffer.from(config.toString().replace('amd64', 'arm64')) } : e));
    await assert.rejects(planArchive(await TarFileReader.open(await tarFile(corrupt))), /config .* is corrupt/);
  });
  it('says what it found when the archive is neither format', async () => {
    await assert.rejects(planArchive(await TarFileReader.open(await tarFile([{ name: 'hello', content: 'x' }]))), /neither a docker-archive nor an oci-archive/);
  });
});
