// save, load and import as the test user: round trips that keep image IDs and names, archives
// that skopeo and Podman read, archives that skopeo writes, stdin and gzip, the terminal guard,
// --change, and hostile or corrupt archives refused without a trace.
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import * as tarStream from 'tar-stream';
import { tarLayerDir } from '../../pkg/storage/layer-tar';
import { asUser, image, resetUserState, testEnv, tspod, tspodAsync } from './harness';

let work: string;

function sha256(data: Buffer): string {
  return `sha256:${crypto.createHash('sha256').update(data).digest('hex')}`;
}

/** A path in the work dir, which the test user may write. */
function at(name: string): string {
  return path.join(work, name);
}

function ok(args: string[]): string {
  const r = tspod(args, { timeoutMs: 300_000 });
  assert.equal(r.code, 0, `tspod ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function imageId(name: string): string {
  return ok(['image', 'inspect', '--format', '{{.Id}}', name]).trim();
}

function repoTags(name: string): string[] {
  return JSON.parse(ok(['image', 'inspect', '--format', '{{json .RepoTags}}', name])) as string[];
}

function allIds(): string[] {
  return ok(['images', '-q', '--no-trunc']).split('\n').filter(Boolean);
}

function hasImage(id: string): boolean {
  return allIds().includes(id);
}

function loadedNames(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith('Loaded image: '))
    .map((l) => l.slice('Loaded image: '.length))
    .sort();
}

function giveToUser(file: string): void {
  fs.chownSync(file, testEnv.uid, testEnv.gid);
}

interface Entry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link';
  content?: Buffer | string;
  linkname?: string;
}

async function writeTar(file: string, entries: Entry[]): Promise<void> {
  const pack = tarStream.pack();
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
  fs.writeFileSync(file, Buffer.concat(chunks));
  giveToUser(file);
}

/** A layer tar exactly as tspod's layer store writes one back: save can reproduce it. */
async function canonicalLayer(build: (root: string) => void): Promise<Buffer> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tspod-archives-rootfs-'));
  try {
    fs.chmodSync(root, 0o755);
    build(root);
    const stamp = new Date(1_700_000_000_000);
    const touch = (p: string): void => {
      for (const name of fs.readdirSync(p)) {
        const child = path.join(p, name);
        const st = fs.lstatSync(child);
        if (st.isDirectory()) touch(child);
        if (!st.isSymbolicLink()) fs.utimesSync(child, stamp, stamp);
        else fs.lutimesSync(child, stamp, stamp);
      }
    };
    touch(root);
    const chunks: Buffer[] = [];
    for await (const c of tarLayerDir(root, { name: 'overlay', isOpaqueDir: async () => false })) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

/** A Docker (legacy layout) archive of one image made of these layer tars. */
async function dockerArchive(file: string, layers: Buffer[], repoTags: string[], extra: Entry[] = [], configOverride?: Buffer): Promise<string> {
  const config =
    configOverride ??
    Buffer.from(
      JSON.stringify({
        created: '2024-01-01T00:00:00Z',
        architecture: 'amd64',
        os: 'linux',
        config: { Cmd: ['/bin/sh'] },
        rootfs: { type: 'layers', diff_ids: layers.map(sha256) },
        history: layers.map(() => ({ created: '2024-01-01T00:00:00Z', created_by: 'test' })),
      }),
    );
  const id = sha256(config);
  const entries: Entry[] = layers.map((l, i) => ({ name: `layer${i}/layer.tar`, content: l }));
  entries.push({ name: `${id.slice(7)}.json`, content: config });
  entries.push({ name: 'manifest.json', content: JSON.stringify([{ Config: `${id.slice(7)}.json`, RepoTags: repoTags, Layers: layers.map((_, i) => `layer${i}/layer.tar`) }]) });
  await writeTar(file, [...entries, ...extra]);
  return id;
}

function busyboxRootfs(root: string): void {
  fs.mkdirSync(path.join(root, 'bin'), { mode: 0o755 });
  fs.mkdirSync(path.join(root, 'etc'), { mode: 0o755 });
  fs.mkdirSync(path.join(root, 'tmp'));
  fs.chmodSync(path.join(root, 'tmp'), 0o1777);
  fs.copyFileSync('/bin/busybox', path.join(root, 'bin', 'busybox'));
  fs.symlinkSync('busybox', path.join(root, 'bin', 'sh'));
  fs.writeFileSync(path.join(root, 'etc', 'hello'), 'hello\n', { mode: 0o644 });
  fs.linkSync(path.join(root, 'etc', 'hello'), path.join(root, 'etc', 'hello-link'));
}

before(() => {
  resetUserState();
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'tspod-archives-'));
  fs.chmodSync(work, 0o755);
  giveToUser(work);
});

after(() => {
  fs.rmSync(work, { recursive: true, force: true });
});

describe('images tspod writes its layers for', () => {
  // Layers whose tar the layer store writes back byte for byte (tspod's own tar format):
  // these round trips exercise save itself, whatever the store does with foreign tars.
  let baseLayer: Buffer;
  let topLayer: Buffer;
  let importedId: string;
  let twoLayerId: string;

  before(async () => {
    baseLayer = await canonicalLayer(busyboxRootfs);
    topLayer = await canonicalLayer((root) => {
      fs.mkdirSync(path.join(root, 'data'), { mode: 0o755 });
      fs.writeFileSync(path.join(root, 'data', 'file.txt'), 'top layer\n', { mode: 0o644 });
    });
    fs.writeFileSync(at('base.tar'), baseLayer);
    giveToUser(at('base.tar'));
    importedId = ok(['import', '-q', at('base.tar'), 'canon:1']).trim().split('\n').pop() as string;
    twoLayerId = await dockerArchive(at('two.tar'), [baseLayer, topLayer], ['twolayer:latest']);
    assert.deepEqual(loadedNames(ok(['load', '-q', '-i', at('two.tar')])), ['docker.io/library/twolayer:latest']);
  });

  test('import prints the ID; the layer keeps the tar digest as its diff ID', () => {
    assert.match(importedId, /^sha256:[0-9a-f]{64}$/);
    assert.equal(imageId('localhost/canon:1'), importedId);
    const layers = JSON.parse(ok(['image', 'inspect', '--format', '{{json .RootFS.Layers}}', importedId])) as string[];
    assert.deepEqual(layers, [sha256(baseLayer)]);
  });

  for (const format of ['docker-archive', 'oci-archive']) {
    test(`${format}: save, reset, load gives the same IDs and names`, () => {
      const file = at(`canon-${format}.tar`);
      const saved = tspod(['save', '--format', format, '-o', file, 'localhost/canon:1', 'twolayer']);
      assert.equal(saved.code, 0, saved.stderr);
      assert.equal(saved.stdout, '');
      resetUserState();
      const loaded = ok(['load', '-i', file]);
      assert.deepEqual(loadedNames(loaded), ['docker.io/library/twolayer:latest', 'localhost/canon:1']);
      assert.equal(imageId('localhost/canon:1'), importedId);
      assert.equal(imageId('twolayer'), twoLayerId);
      const run = asUser(['tar', '-tf', file]);
      assert.equal(run.code, 0);
      assert.ok(run.stdout.includes('oci-layout') && run.stdout.includes('index.json'));
      if (format === 'docker-archive') assert.ok(run.stdout.includes('manifest.json') && run.stdout.includes('repositories'));
    });
  }

  test('skopeo reads both archive formats with the right config digest', () => {
    for (const [format, transport] of [
      ['docker-archive', 'docker-archive'],
      ['oci-archive', 'oci-archive'],
    ]) {
      const file = at(`skopeo-${format}.tar`);
      ok(['save', '--format', format, '-o', file, 'twolayer']);
      const raw = asUser(['skopeo', 'inspect', '--raw', '--config', `${transport}:${file}`]);
      assert.equal(raw.code, 0, raw.stderr);
      assert.equal(sha256(Buffer.from(raw.stdout)), twoLayerId, `${format}: skopeo's config is the image's config`);
      const inspect = asUser(['skopeo', 'inspect', `${transport}:${file}`]);
      assert.equal(inspect.code, 0, inspect.stderr);
      assert.deepEqual((JSON.parse(inspect.stdout) as { Layers: string[] }).Layers, [sha256(baseLayer), sha256(topLayer)]);
    }
  });

  test('podman load of a tspod docker-archive gives the same image ID', () => {
    const file = at('for-podman.tar');
    ok(['save', '-o', file, 'twolayer']);
    const loaded = asUser(['podman', 'load', '-i', file], { timeoutMs: 300_000 });
    assert.equal(loaded.code, 0, loaded.stderr);
    try {
      const id = asUser(['podman', 'image', 'inspect', '--format', '{{.Id}}', 'docker.io/library/twolayer:latest']);
      assert.equal(id.code, 0, id.stderr);
      assert.equal(`sha256:${id.stdout.trim()}`, twoLayerId);
    } finally {
      asUser(['podman', 'rmi', '-f', 'docker.io/library/twolayer:latest']);
    }
  });

  test('oci-dir and docker-dir directories load back', () => {
    for (const format of ['oci-dir', 'docker-dir']) {
      const dir = at(`dir-${format}`);
      ok(['save', '--format', format, '--compress', '-o', dir, 'twolayer']);
      assert.ok(fs.existsSync(path.join(dir, format === 'oci-dir' ? 'index.json' : 'version')));
      ok(['rmi', 'twolayer']);
      assert.ok(!hasImage(twoLayerId));
      const loaded = ok(['load', '-i', dir]);
      // a dir: layout carries no name
      assert.deepEqual(loadedNames(loaded), [format === 'oci-dir' ? 'docker.io/library/twolayer:latest' : twoLayerId]);
      assert.ok(hasImage(twoLayerId));
      if (format === 'docker-dir') ok(['tag', twoLayerId, 'docker.io/library/twolayer:latest']);
    }
  });

  test('save by ID writes no name; load reports the ID', () => {
    const file = at('by-id.tar');
    ok(['save', '-o', file, twoLayerId.slice(7, 19)]);
    const r = asUser(['tar', '-xOf', file, 'manifest.json']);
    assert.deepEqual((JSON.parse(r.stdout) as { RepoTags: string[] }[])[0].RepoTags, []);
    assert.deepEqual(loadedNames(ok(['load', '-i', file])), [twoLayerId]);
  });

  test('save to stdout streams the archive; a terminal is refused', () => {
    const piped = asUser(['sh', '-c', `tspod save twolayer > ${at('stdout.tar')}`]);
    assert.equal(piped.code, 0, piped.stderr);
    assert.deepEqual(loadedNames(ok(['load', '-i', at('stdout.tar')])), ['docker.io/library/twolayer:latest']);
    const tty = asUser(['script', '-qec', 'tspod save twolayer', '/dev/null']);
    assert.notEqual(tty.code, 0);
    assert.match(tty.stdout, /Error: refusing to save to terminal\. Use -o flag or redirect/);
  });

  test('a failed save leaves no partial archive', () => {
    const file = at('never.tar');
    const r = tspod(['save', '-o', file, 'twolayer', 'no-such-image']);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /no-such-image/);
    assert.equal(fs.existsSync(file), false);
    assert.deepEqual(fs.readdirSync(work).filter((n) => n.includes('never')), []);
  });
});

describe('images pulled from a registry', () => {
  // Saving a pulled image needs the layer store to give back each layer's original tar
  // (the bytes its diff ID hashes): the layer store's tar-split records do that.
  const busybox = (): string => image('busybox:latest').configDigest;
  const multilayer = (): string => image('multilayer:latest').configDigest;

  before(() => {
    resetUserState();
    ok(['pull', '-q', 'busybox']);
    ok(['pull', '-q', 'multilayer']);
  });

  test('a pulled image can be saved (its layers come back as the tars its diff IDs name)', () => {
    const r = tspod(['save', '-o', at('pulled.tar'), 'busybox', 'multilayer'], { timeoutMs: 300_000 });
    assert.equal(r.code, 0, r.stderr);
  });

  for (const format of ['docker-archive', 'oci-archive']) {
    test(`${format}: busybox and multilayer round trip with their IDs and names`, () => {
      const file = at(`pulled-${format}.tar`);
      ok(['save', '--format', format, '-o', file, 'busybox', 'multilayer']);
      resetUserState();
      assert.deepEqual(loadedNames(ok(['load', '-i', file])), ['docker.io/library/busybox:latest', 'docker.io/library/multilayer:latest']);
      assert.equal(imageId('busybox'), busybox());
      assert.equal(imageId('multilayer'), multilayer());
      assert.deepEqual(repoTags('multilayer'), ['docker.io/library/multilayer:latest']);
    });
  }

  test('skopeo inspects the saved archives; podman loads them with the same ID', () => {
    for (const format of ['docker-archive', 'oci-archive']) {
      const file = at(`pulled-one-${format}.tar`);
      ok(['save', '--format', format, '-o', file, 'multilayer']);
      const raw = asUser(['skopeo', 'inspect', '--raw', '--config', `${format}:${file}`]);
      assert.equal(raw.code, 0, raw.stderr);
      assert.equal(sha256(Buffer.from(raw.stdout)), multilayer());
    }
    const loaded = asUser(['podman', 'load', '-i', at('pulled-one-docker-archive.tar')], { timeoutMs: 300_000 });
    assert.equal(loaded.code, 0, loaded.stderr);
    try {
      const id = asUser(['podman', 'image', 'inspect', '--format', '{{.Id}}', 'docker.io/library/multilayer:latest']);
      assert.equal(`sha256:${id.stdout.trim()}`, multilayer());
    } finally {
      asUser(['podman', 'rmi', '-f', 'docker.io/library/multilayer:latest']);
    }
  });
});

describe('archives other tools write', () => {
  let skopeoArchive: string;
  let taggedArchive: string;

  before(() => {
    resetUserState();
    const src = `docker://${image('multilayer:latest').ref}`;
    skopeoArchive = at('skopeo-multilayer.tar');
    taggedArchive = at('skopeo-busybox-tagged.tar');
    for (const [from, to] of [
      [src, `docker-archive:${skopeoArchive}`],
      [`docker://${image('busybox:latest').ref}`, `docker-archive:${taggedArchive}:busybox:latest`],
    ]) {
      const r = asUser(['skopeo', 'copy', '-q', '--src-tls-verify=false', from, to], { timeoutMs: 300_000 });
      assert.equal(r.code, 0, r.stderr);
    }
  });

  test('a skopeo docker-archive loads with the ID it was pushed with', () => {
    assert.deepEqual(loadedNames(ok(['load', '-i', skopeoArchive])), [image('multilayer:latest').configDigest]);
    assert.ok(hasImage(image('multilayer:latest').configDigest));
    assert.deepEqual(loadedNames(ok(['load', '-i', taggedArchive])), ['docker.io/library/busybox:latest']);
    assert.equal(imageId('busybox'), image('busybox:latest').configDigest);
    const run = tspod(['image', 'inspect', '--format', '{{json .Config.Cmd}}', image('multilayer:latest').configDigest]);
    assert.equal(run.code, 0, run.stderr);
  });

  test('from stdin, plain and gzip-compressed', () => {
    resetUserState();
    const gz = at('busybox.tar.gz');
    fs.writeFileSync(gz, zlib.gzipSync(fs.readFileSync(taggedArchive)));
    giveToUser(gz);
    const plain = asUser(['sh', '-c', `tspod load < ${taggedArchive}`]);
    assert.equal(plain.code, 0, plain.stderr);
    assert.deepEqual(loadedNames(plain.stdout), ['docker.io/library/busybox:latest']);
    resetUserState();
    const zipped = asUser(['sh', '-c', `tspod load -q < ${gz}`]);
    assert.equal(zipped.code, 0, zipped.stderr);
    assert.deepEqual(loadedNames(zipped.stdout), ['docker.io/library/busybox:latest']);
    assert.equal(zipped.stderr, '');
    resetUserState();
    assert.deepEqual(loadedNames(ok(['load', '-i', gz])), ['docker.io/library/busybox:latest']);
    assert.equal(imageId('busybox'), image('busybox:latest').configDigest);
  });

  test('an oci-archive names its image as Podman does', () => {
    const file = at('skopeo-oci.tar');
    const r = asUser(['skopeo', 'copy', '-q', '--src-tls-verify=false', `docker://${image('busybox:latest').ref}`, `oci-archive:${file}:mytag`]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(loadedNames(ok(['load', '-i', file])), ['localhost/mytag:latest']);
    assert.equal(imageId('localhost/mytag:latest'), image('busybox:latest').configDigest);
  });

  test('an empty or unknown input is one clear error', () => {
    const empty = asUser(['sh', '-c', 'tspod load < /dev/null']);
    assert.equal(empty.code, 125);
    assert.match(empty.stderr, /^Error: .*empty/);
    const text = at('not-an-archive');
    fs.writeFileSync(text, 'hello, this is not a tar archive\n'.repeat(40));
    giveToUser(text);
    const junk = tspod(['load', '-i', text]);
    assert.equal(junk.code, 125);
    assert.equal(junk.stderr.trim().split('\n').length, 1, junk.stderr);
    assert.match(junk.stderr, /not a tar archive/);
  });
});

describe('import', () => {
  let rootfs: string;

  before(async () => {
    resetUserState();
    rootfs = at('rootfs.tar');
    await writeTar(rootfs, [
      { name: 'bin/', type: 'directory' },
      { name: 'etc/', type: 'directory' },
      { name: 'etc/hello', content: 'hello\n' },
    ]);
  });

  test('--change and --message end up in the config and history', () => {
    const out = ok(['import', '--change', 'CMD ["/bin/sh"]', '--change', 'ENV A=1', '-c', 'EXPOSE 80', '-c', 'WORKDIR /srv', '-m', 'from a test', rootfs, 'imported:v1']);
    const id = out.trim().split('\n').pop() as string;
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    const config = JSON.parse(ok(['image', 'inspect', '--format', '{{json .Config}}', 'localhost/imported:v1'])) as Record<string, unknown>;
    assert.deepEqual(config.Cmd, ['/bin/sh']);
    assert.deepEqual(config.Env, ['A=1']);
    assert.deepEqual(config.ExposedPorts, { '80/tcp': {} });
    assert.equal(config.WorkingDir, '/srv');
    assert.equal(imageId('localhost/imported:v1'), id);
    const history = JSON.parse(ok(['image', 'inspect', '--format', '{{json .History}}', 'imported:v1'])) as { comment?: string }[];
    assert.equal(history[0].comment, 'from a test');
  });

  test('without a name the image stays untagged; from stdin; gzip-compressed', () => {
    const before = new Set(allIds());
    const gz = at('rootfs.tar.gz');
    fs.writeFileSync(gz, zlib.gzipSync(fs.readFileSync(rootfs)));
    giveToUser(gz);
    const r = asUser(['sh', '-c', `tspod import -q - < ${gz}`]);
    assert.equal(r.code, 0, r.stderr);
    const id = r.stdout.trim();
    assert.match(id, /^sha256:[0-9a-f]{64}$/);
    assert.ok(!before.has(id));
    assert.deepEqual(repoTags(id), []);
  });

  test('from an http URL', async () => {
    const body = fs.readFileSync(rootfs);
    const server = http.createServer((req, res) => {
      if (req.url === '/redirect') {
        res.writeHead(302, { location: '/rootfs.tar' });
        res.end();
      } else if (req.url === '/rootfs.tar') {
        res.writeHead(200, { 'content-length': body.length });
        res.end(body);
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const r = await tspodAsync(['import', '-q', `http://127.0.0.1:${port}/redirect`, 'fromurl']);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(repoTags(r.stdout.trim()), ['localhost/fromurl:latest']);
      const missing = await tspodAsync(['import', `http://127.0.0.1:${port}/nope`]);
      assert.equal(missing.code, 125);
      assert.match(missing.stderr, /404/);
    } finally {
      server.close();
    }
  });

  test('a bad --change fails before anything is stored', () => {
    const before = allIds();
    const r = tspod(['import', '--change', 'RUN rm -rf /', rootfs, 'never']);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /RUN is not a valid change instruction/);
    assert.deepEqual(allIds(), before);
  });
});

describe('hostile and corrupt archives', () => {
  let layer: Buffer;

  before(async () => {
    resetUserState();
    layer = await canonicalLayer((root) => fs.writeFileSync(path.join(root, 'file'), 'x\n', { mode: 0o644 }));
  });

  async function refused(name: string, build: (file: string) => Promise<unknown>, message: RegExp): Promise<void> {
    const file = at(name);
    await build(file);
    const before = allIds();
    const r = tspod(['load', '-q', '-i', file]);
    assert.equal(r.code, 125, `${name}: ${r.stderr}`);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trim().split('\n').length, 1, `${name}: one line: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.deepEqual(allIds(), before, `${name}: no image stored`);
    // the same from stdin
    const piped = asUser(['sh', '-c', `tspod load < ${file}`]);
    assert.equal(piped.code, 125, `${name} (stdin): ${piped.stderr}`);
    // progress lines may come first; the error is the last line
    assert.match(piped.stderr.trim().split('\n').pop() as string, message);
    assert.deepEqual(allIds(), before, `${name} (stdin): no image stored`);
  }

  test('an entry climbing out with .. is refused, and nothing lands outside', async () => {
    await refused('dotdot.tar', (f) => dockerArchive(f, [layer], ['evil:latest'], [{ name: '../evil', content: 'pwned' }]), /^Error: refusing archive: entry "\.\.\/evil"/);
    assert.equal(fs.existsSync(path.join(path.dirname(work), 'evil')), false);
    assert.equal(fs.existsSync(path.join(testEnv.home, '..', 'evil')), false);
    assert.equal(fs.existsSync(path.join(testEnv.home, 'evil')), false);
  });

  test('an absolute entry, and a symlink leading out, are refused', async () => {
    await refused('absolute.tar', (f) => dockerArchive(f, [layer], [], [{ name: '/tmp/evil-abs', content: 'x' }]), /^Error: refusing archive: .*absolute path/);
    assert.equal(fs.existsSync('/tmp/evil-abs'), false);
    await refused(
      'symlink.tar',
      async (f) => {
        const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(layer)] } }));
        await writeTar(f, [
          { name: 'layer/layer.tar', type: 'symlink', linkname: '../../../../etc/passwd' },
          { name: 'c.json', content: config },
          { name: 'manifest.json', content: JSON.stringify([{ Config: 'c.json', RepoTags: ['evil:latest'], Layers: ['layer/layer.tar'] }]) },
        ]);
      },
      /^Error: refusing archive: symlink "layer\/layer.tar" points outside the archive/,
    );
  });

  test('a manifest.json pointing at ../../etc/passwd is refused', async () => {
    await refused(
      'manifest-escape.tar',
      async (f) => {
        const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(layer)] } }));
        await writeTar(f, [
          { name: 'c.json', content: config },
          { name: 'manifest.json', content: JSON.stringify([{ Config: 'c.json', RepoTags: ['evil:latest'], Layers: ['../../etc/passwd'] }]) },
        ]);
      },
      /^Error: refusing archive: layer 0 of manifest.json item 0 \("\.\.\/\.\.\/etc\/passwd"\) leads outside the archive/,
    );
  });

  test('a layer that does not match its diff ID is refused and leaves no image', async () => {
    let id = '';
    await refused(
      'corrupt.tar',
      async (f) => {
        const good = layer;
        const bad = Buffer.from(good);
        // flip a byte of the file's content (after the first 512-byte header)
        bad[512] ^= 0xff;
        const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(good)] } }));
        id = sha256(config);
        await dockerArchive(f, [bad], ['corrupt:latest'], [], config);
      },
      /diff ID/,
    );
    assert.ok(!hasImage(id));
    const r = tspod(['image', 'inspect', 'corrupt']);
    assert.notEqual(r.code, 0);
  });

  test('an OCI blob that does not match its digest is refused', async () => {
    await refused(
      'corrupt-oci.tar',
      async (f) => {
        const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(layer)] } }));
        const manifest = Buffer.from(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
            layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: sha256(layer), size: layer.length }],
          }),
        );
        const bad = Buffer.from(layer);
        bad[600] ^= 0x01;
        await writeTar(f, [
          { name: 'oci-layout', content: '{"imageLayoutVersion":"1.0.0"}' },
          { name: 'index.json', content: JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: sha256(manifest), size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': 'corrupt' } }] }) },
          { name: `blobs/sha256/${sha256(manifest).slice(7)}`, content: manifest },
          { name: `blobs/sha256/${sha256(config).slice(7)}`, content: config },
          { name: `blobs/sha256/${sha256(layer).slice(7)}`, content: bad },
        ]);
      },
      /digest mismatch/,
    );
  });
});
