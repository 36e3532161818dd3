// Layer extraction (tar → directory) and its inverse (directory → tar). Tars are built here
// with tar-stream. Runs as root (CI) and as a normal user: entries are owned by the running
// user unless a test is about ownership, which then expects success as root and the clear
// "insufficient UIDs" error otherwise.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import { after, describe, it } from 'node:test';
import * as tar from 'tar-stream';
import { VfsDriver } from '../../pkg/storage/vfs-driver';
import { decompressStream, sniffCompression } from '../../pkg/storage/layer-compression';
import { InsufficientIdsError, applyTar, normalizeEntryName } from '../../pkg/storage/layer-extract';
import { encodeHeader, isOverlayWhiteout, tarLayerDir } from '../../pkg/storage/layer-tar';
import { WORKER_HASH_MIN } from '../../pkg/storage/stream-hasher';

const UID = process.getuid?.() ?? 0;
const GID = process.getgid?.() ?? 0;
const IS_ROOT = UID === 0;

export interface TestEntry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'fifo' | 'character-device' | 'block-device';
  content?: string | Buffer;
  mode?: number;
  linkname?: string;
  uid?: number;
  gid?: number;
  mtime?: Date;
  devmajor?: number;
  devminor?: number;
  pax?: Record<string, string>;
}

export async function makeTar(entries: TestEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const chunk of pack as unknown as AsyncIterable<Buffer>) chunks.push(chunk);
  })();
  for (const e of entries) {
    const type = e.type ?? 'file';
    const header = {
      name: e.name,
      type,
      mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644),
      uid: e.uid ?? UID,
      gid: e.gid ?? GID,
      mtime: e.mtime ?? new Date(1_600_000_000_000),
      linkname: e.linkname,
      devmajor: e.devmajor,
      devminor: e.devminor,
      pax: e.pax,
    } as tar.Header;
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null): void => (err ? reject(err) : resolve());
      if (type === 'file') pack.entry(header, e.content ?? '', cb);
      else pack.entry(header, cb);
    });
  }
  pack.finalize();
  await collected;
  return Buffer.concat(chunks);
}

/** A driver keeping whiteouts as plain `.wh.` files (AUFS style), recording its calls. */
export class FakeDriver {
  readonly name = 'vfs' as const;
  readonly calls: string[] = [];
  opaqueExtracted: string[] = [];

  async applyWhiteout(layerDir: string, relPath: string): Promise<void> {
    this.calls.push(`whiteout ${relPath}`);
    const file = path.join(layerDir, relPath);
    await fs.promises.rm(file, { recursive: true, force: true });
    await fs.promises.mkdir(path.dirname(file), { recursive: true });
    await fs.promises.writeFile(path.join(path.dirname(file), `.wh.${path.basename(file)}`), '');
  }

  async applyOpaque(layerDir: string, relDir: string, extracted?: ReadonlySet<string>): Promise<void> {
    this.calls.push(`opaque ${relDir}`);
    this.opaqueExtracted = [...(extracted ?? [])].sort();
    const dir = path.join(layerDir, relDir);
    await fs.promises.mkdir(dir, { recursive: true });
    await fs.promises.writeFile(path.join(dir, '.wh..wh..opq'), '');
  }
}

/** A FakeDriver that records whiteouts in batches, as the overlay drivers do. */
class BatchingFakeDriver extends FakeDriver {
  async applyWhiteouts(layerDir: string, relPaths: string[], opaqueDirs: string[]): Promise<void> {
    this.calls.push(`marks ${relPaths.join(' ')} | ${opaqueDirs.join(' ')}`);
    for (const rel of relPaths) {
      const file = path.join(layerDir, rel);
      await fs.promises.rm(file, { recursive: true, force: true });
      await fs.promises.mkdir(path.dirname(file), { recursive: true });
      await fs.promises.writeFile(path.join(path.dirname(file), `.wh.${path.basename(file)}`), '');
    }
    for (const rel of opaqueDirs) {
      await fs.promises.mkdir(path.join(layerDir, rel), { recursive: true });
      await fs.promises.writeFile(path.join(layerDir, rel, '.wh..wh..opq'), '');
    }
  }
}

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tspod-extract-'));
after(() => {
  // tests leave 0555 directories behind, which a non-root user cannot empty
  execFileSync('chmod', ['-R', 'u+rwX', scratch]);
  fs.rmSync(scratch, { recursive: true, force: true });
});
let counter = 0;
function freshDir(): string {
  const dir = path.join(scratch, `layer-${++counter}`);
  fs.mkdirSync(dir);
  return dir;
}

async function extract(entries: TestEntry[], driver: FakeDriver | VfsDriver = new FakeDriver(), dir = freshDir(), opts = {}) {
  const buf = await makeTar(entries);
  const result = await applyTar(Readable.from([buf]), dir, driver, opts);
  return { dir, result, buf };
}

/** type, mode, size, owner, mtime (s), link target and content hash of everything under dir. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const inodes = new Map<number, string>();
  const visit = (rel: string): void => {
    for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const abs = path.join(dir, r);
      const st = fs.lstatSync(abs);
      // whiteout markers are made by the (fake) driver when applied: their times are its own
      const mtime = name.startsWith('.wh.') ? '' : ` ${Math.floor(st.mtimeMs / 1000)}`;
      let desc = `${(st.mode & 0o170000).toString(8)} ${(st.mode & 0o7777).toString(8)} ${st.uid}:${st.gid}${mtime}`;
      if (st.isFile()) {
        desc += ` ${st.size} ${crypto.createHash('sha256').update(fs.readFileSync(abs)).digest('hex').slice(0, 12)}`;
        if (st.nlink > 1) {
          desc += ` link-group=${inodes.get(st.ino) ?? r}`;
          if (!inodes.has(st.ino)) inodes.set(st.ino, r);
        }
      }
      if (st.isSymbolicLink()) desc += ` -> ${fs.readlinkSync(abs)}`;
      out[r] = desc;
      if (st.isDirectory()) visit(r);
    }
  };
  visit('');
  return out;
}

describe('entry names', () => {
  it('normalises leading slashes, dots and empty components', () => {
    assert.equal(normalizeEntryName('./usr/bin/'), 'usr/bin');
    assert.equal(normalizeEntryName('/etc//passwd'), 'etc/passwd');
    assert.equal(normalizeEntryName('a/./b/../c'), 'a/c');
    assert.equal(normalizeEntryName('./'), '');
    assert.equal(normalizeEntryName('/'), '');
  });

  it('refuses names that climb out', () => {
    assert.throws(() => normalizeEntryName('../x'), /leaves the layer directory/);
    assert.throws(() => normalizeEntryName('/abs/../../x'), /leaves the layer directory/);
    assert.throws(() => normalizeEntryName('a/../../x'), /leaves the layer directory/);
  });
});

describe('applyTar', () => {
  it('extracts files, directories, symlinks and hard links with modes and mtimes', async () => {
    const mtime = new Date(1_500_000_000_000);
    const { dir, result, buf } = await extract([
      { name: 'etc/', type: 'directory', mode: 0o750, mtime },
      { name: 'etc/hostname', content: 'box\n', mode: 0o600, mtime },
      { name: 'etc/hardlink', type: 'link', linkname: 'etc/hostname' },
      { name: 'usr/bin/tool', content: '#!/bin/sh\n', mode: 0o4755 },
      { name: 'bin', type: 'symlink', linkname: 'usr/bin' },
      { name: 'dangling', type: 'symlink', linkname: '/nowhere/at/all' },
      { name: 'group-writable', content: 'x', mode: 0o664 },
    ]);
    assert.equal(fs.readFileSync(path.join(dir, 'etc/hostname'), 'utf8'), 'box\n');
    const st = fs.statSync(path.join(dir, 'etc/hostname'));
    assert.equal(st.mode & 0o7777, 0o600);
    assert.equal(st.mtimeMs, mtime.getTime());
    assert.equal(st.nlink, 2);
    assert.equal(fs.statSync(path.join(dir, 'etc/hardlink')).ino, st.ino);
    assert.equal(fs.statSync(path.join(dir, 'etc')).mode & 0o7777, 0o750);
    assert.equal(fs.statSync(path.join(dir, 'etc')).mtimeMs, mtime.getTime());
    assert.equal(fs.statSync(path.join(dir, 'usr/bin/tool')).mode & 0o7777, 0o4755);
    assert.equal(fs.statSync(path.join(dir, 'group-writable')).mode & 0o7777, 0o664);
    assert.equal(fs.readlinkSync(path.join(dir, 'bin')), 'usr/bin');
    assert.equal(fs.readlinkSync(path.join(dir, 'dangling')), '/nowhere/at/all');
    assert.equal(result.diffId, `sha256:${crypto.createHash('sha256').update(buf).digest('hex')}`);
    assert.equal(result.tarSize, buf.length);
    assert.equal(result.contentSize, 4 + 10 + 1);
  });

  it('writes into a 0555 directory and locks it only at the end', async () => {
    const { dir } = await extract([
      { name: 'ro/', type: 'directory', mode: 0o555 },
      { name: 'ro/a', content: 'a' },
      { name: 'ro/sub/', type: 'directory', mode: 0o500 },
      { name: 'ro/sub/b', content: 'b' },
    ]);
    assert.equal(fs.statSync(path.join(dir, 'ro')).mode & 0o7777, 0o555);
    assert.equal(fs.statSync(path.join(dir, 'ro/sub')).mode & 0o7777, 0o500);
    assert.equal(fs.readFileSync(path.join(dir, 'ro/sub/b'), 'utf8'), 'b');
    fs.chmodSync(path.join(dir, 'ro/sub'), 0o755);
    fs.chmodSync(path.join(dir, 'ro'), 0o755);
  });

  it('replaces an entry of another type, and keeps a directory replaced by a directory', async () => {
    const { dir } = await extract([
      { name: 'x', content: 'file first' },
      { name: 'x/', type: 'directory' },
      { name: 'x/inside', content: 'i' },
      { name: 'x/', type: 'directory', mode: 0o700 },
      { name: 'y/', type: 'directory' },
      { name: 'y/child', content: 'c' },
      { name: 'y', type: 'symlink', linkname: 'x' },
      { name: 'z', type: 'symlink', linkname: '/etc' },
      { name: 'z', content: 'now a file' },
      { name: 'dup', content: 'one' },
      { name: 'dup', content: 'two' },
    ]);
    assert.ok(fs.lstatSync(path.join(dir, 'x')).isDirectory());
    assert.equal(fs.statSync(path.join(dir, 'x')).mode & 0o777, 0o700);
    assert.equal(fs.readFileSync(path.join(dir, 'x/inside'), 'utf8'), 'i');
    assert.equal(fs.readlinkSync(path.join(dir, 'y')), 'x');
    assert.equal(fs.readFileSync(path.join(dir, 'z'), 'utf8'), 'now a file');
    assert.equal(fs.readFileSync(path.join(dir, 'dup'), 'utf8'), 'two');
  });

  it('does not write through an existing hard link when replacing a file', async () => {
    const { dir } = await extract([
      { name: 'a', content: 'shared' },
      { name: 'b', type: 'link', linkname: 'a' },
      { name: 'b', content: 'replaced' },
    ]);
    assert.equal(fs.readFileSync(path.join(dir, 'a'), 'utf8'), 'shared');
    assert.equal(fs.readFileSync(path.join(dir, 'b'), 'utf8'), 'replaced');
  });

  it('handles long names and PAX headers', async () => {
    const long = `${'d'.repeat(120)}/${'e'.repeat(150)}/${'f'.repeat(200)}.txt`;
    const target = `${'t'.repeat(180)}`;
    const { dir } = await extract([
      { name: long, content: 'deep' },
      { name: 'longlink', type: 'symlink', linkname: target },
      { name: 'ünïcødé-名前', content: 'utf8' },
      { name: 'big-owner', content: 'pax uid', pax: { mtime: '1234567890.5' } },
    ]);
    assert.equal(fs.readFileSync(path.join(dir, long), 'utf8'), 'deep');
    assert.equal(fs.readlinkSync(path.join(dir, 'longlink')), target);
    assert.equal(fs.readFileSync(path.join(dir, 'ünïcødé-名前'), 'utf8'), 'utf8');
    assert.equal(fs.statSync(path.join(dir, 'big-owner')).mtimeMs, 1234567890500);
  });

  it('passes whiteouts and opaque markers to the driver, with what this layer already wrote', async () => {
    const driver = new FakeDriver();
    const { dir } = await extract(
      [
        { name: 'etc/', type: 'directory' },
        { name: 'etc/.wh.motd' },
        { name: 'var/', type: 'directory' },
        { name: 'var/lib/new', content: 'n' },
        { name: 'var/.wh..wh..opq' },
        { name: '.wh.gone-dir' },
        { name: 'etc/.wh..wh.plnk' },
      ],
      driver,
    );
    assert.deepEqual(driver.calls, ['whiteout etc/motd', 'opaque var', 'whiteout gone-dir']);
    assert.deepEqual(driver.opaqueExtracted, ['etc', 'var', 'var/lib', 'var/lib/new']);
    assert.ok(fs.existsSync(path.join(dir, 'etc/.wh.motd')));
    assert.ok(fs.existsSync(path.join(dir, 'var/.wh..wh..opq')));
    assert.equal(fs.readFileSync(path.join(dir, 'var/lib/new'), 'utf8'), 'n');
  });

  it('holds whiteouts and opaque markers back for one driver call per layer when the driver batches them', async () => {
    const driver = new BatchingFakeDriver();
    const { dir } = await extract(
      [
        { name: 'etc/', type: 'directory' },
        { name: 'etc/.wh.motd' },
        { name: 'etc/.wh.issue' },
        { name: 'var/', type: 'directory' },
        { name: 'var/.wh..wh..opq' },
        { name: 'var/new', content: 'n' },
        { name: '.wh.gone-dir' },
      ],
      driver,
    );
    assert.deepEqual(driver.calls, ['marks etc/motd etc/issue gone-dir | var']);
    assert.ok(fs.existsSync(path.join(dir, 'var/.wh..wh..opq')));
    assert.deepEqual(fs.readdirSync(path.join(dir, 'etc')).sort(), ['.wh.issue', '.wh.motd']);
    assert.ok(fs.existsSync(path.join(dir, '.wh.gone-dir')));
    assert.equal(fs.readFileSync(path.join(dir, 'var/new'), 'utf8'), 'n');
  });

  it('records held-back whiteouts first when a later entry meets their path, as recording each in turn would', async () => {
    const entries: TestEntry[] = [
      { name: 'a', content: 'first a' },
      { name: 'keep', content: 'k' },
      { name: '.wh.a' },
      { name: '.wh.keep' },
      { name: 'a', content: 'second a' },
      { name: 'd/', type: 'directory' },
      { name: 'd/.wh.x' },
      { name: 'd', type: 'symlink', linkname: '/etc' },
      { name: 'o/', type: 'directory' },
      { name: 'o/.wh..wh..opq' },
      { name: 'o/inside', content: 'kept beneath an opaque dir' },
    ];
    const batching = new BatchingFakeDriver();
    const { dir } = await extract(entries, batching);
    const inTurn = await extract(entries, new FakeDriver());
    assert.deepEqual(snapshot(dir), snapshot(inTurn.dir));
    assert.deepEqual(batching.calls, ['marks a keep | ', 'marks d/x | ', 'marks  | o']);
    assert.equal(fs.readFileSync(path.join(dir, 'a'), 'utf8'), 'second a');
    assert.equal(fs.readlinkSync(path.join(dir, 'd')), '/etc');
    // a hard link to a path deleted earlier in the tar fails as it did one whiteout at a time
    await assert.rejects(
      extract([{ name: 'f', content: 'x' }, { name: '.wh.f' }, { name: 'g', type: 'link', linkname: 'f' }], new BatchingFakeDriver()),
      /hard link target "f" is not in the layer/,
    );
  });

  it('applies whiteouts and late opaque markers on the real vfs driver', async () => {
    const parent = freshDir();
    fs.mkdirSync(path.join(parent, 'etc'));
    fs.writeFileSync(path.join(parent, 'etc/motd'), 'hello');
    fs.writeFileSync(path.join(parent, 'etc/keep'), 'kept');
    fs.mkdirSync(path.join(parent, 'opq/old'), { recursive: true });
    fs.writeFileSync(path.join(parent, 'opq/old/file'), 'hidden');
    fs.writeFileSync(path.join(parent, 'opq/replaced'), 'old');
    const vfs = new VfsDriver();
    const layer = path.join(scratch, `vfs-layer-${++counter}`);
    await vfs.createLayerDir(layer, parent);
    await extract(
      [
        { name: 'etc/.wh.motd' },
        { name: 'etc/keep-link', type: 'link', linkname: 'etc/keep' },
        { name: 'opq/', type: 'directory' },
        { name: 'opq/+early', content: 'written before the marker' },
        { name: 'opq/replaced', content: 'new' },
        { name: 'opq/.wh..wh..opq' },
        { name: 'opq/late', content: 'after' },
      ],
      vfs,
      layer,
    );
    assert.ok(!fs.existsSync(path.join(layer, 'etc/motd')));
    assert.equal(fs.readFileSync(path.join(layer, 'etc/keep'), 'utf8'), 'kept');
    assert.equal(fs.statSync(path.join(layer, 'etc/keep-link')).ino, fs.statSync(path.join(layer, 'etc/keep')).ino, 'hard link to a file the parent copy holds');
    assert.deepEqual(fs.readdirSync(path.join(layer, 'opq')).sort(), ['+early', 'late', 'replaced']);
    assert.equal(fs.readFileSync(path.join(layer, 'opq/replaced'), 'utf8'), 'new');
    assert.equal(fs.readFileSync(path.join(parent, 'etc/motd'), 'utf8'), 'hello', 'the parent is untouched');
  });

  it('sets owners as root, and fails clearly without the ids otherwise', async () => {
    const entries: TestEntry[] = [
      { name: 'home/', type: 'directory', uid: 0, gid: 0 },
      { name: 'home/x', content: 'mine', uid: 1000, gid: 1000 },
    ];
    if (IS_ROOT) {
      const { dir } = await extract(entries);
      const st = fs.statSync(path.join(dir, 'home/x'));
      assert.equal(st.uid, 1000);
      assert.equal(st.gid, 1000);
    } else {
      await assert.rejects(extract(entries), (err: Error) => {
        assert.ok(err instanceof InsufficientIdsError, String(err));
        assert.match(err.message, /potentially insufficient UIDs or GIDs available in user namespace \(requested 1000:1000 for \/home\/x\)/);
        assert.match(err.message, /tspod system migrate/);
        return true;
      });
    }
    const { dir } = await extract(entries, new FakeDriver(), freshDir(), { ignoreChownErrors: true });
    assert.equal(fs.readFileSync(path.join(dir, 'home/x'), 'utf8'), 'mine');
  });

  it('creates fifos, and creates or skips device nodes as the host allows', async () => {
    const { dir } = await extract([
      { name: 'run/pipe', type: 'fifo', mode: 0o640 },
      { name: 'dev/null', type: 'character-device', devmajor: 1, devminor: 3, mode: 0o666 },
    ]);
    const fifo = fs.lstatSync(path.join(dir, 'run/pipe'));
    assert.ok(fifo.isFIFO());
    assert.equal(fifo.mode & 0o777, 0o640);
    const realRoot = IS_ROOT && /^\s*0\s+0\s+4294967295\s*$/.test(fs.readFileSync('/proc/self/uid_map', 'utf8'));
    const dev = fs.lstatSync(path.join(dir, 'dev/null'), { throwIfNoEntry: false });
    if (realRoot) {
      assert.ok(dev?.isCharacterDevice());
      assert.equal(dev?.rdev, fs.statSync('/dev/null').rdev);
    } else {
      assert.equal(dev, undefined, 'skipped rootless');
    }
  });

  it('hashes exactly the bytes read, padding and trailing blocks included', async () => {
    const buf = Buffer.concat([await makeTar([{ name: 'a', content: 'x' }]), Buffer.alloc(10240)]);
    const dir = freshDir();
    const chunks = [buf.subarray(0, 7), buf.subarray(7, 900), buf.subarray(900)];
    const result = await applyTar(Readable.from(chunks), dir, new FakeDriver());
    assert.equal(result.diffId, `sha256:${crypto.createHash('sha256').update(buf).digest('hex')}`);
    assert.equal(result.tarSize, buf.length);
  });

  it('hashes big streams off-thread to the same digest', async () => {
    const big = crypto.randomBytes(3 << 20);
    const buf = await makeTar([{ name: 'big.bin', content: big }, { name: 'small', content: 's' }]);
    const chunks: Buffer[] = [];
    for (let off = 0; off < buf.length; off += 65536) chunks.push(buf.subarray(off, off + 65536));
    const dir = freshDir();
    const result = await applyTar(Readable.from(chunks), dir, new FakeDriver());
    assert.equal(result.diffId, `sha256:${crypto.createHash('sha256').update(buf).digest('hex')}`);
    assert.ok(fs.readFileSync(path.join(dir, 'big.bin')).equals(big));
  });

  it('hashes in line or on the worker, as the size hint says, to the same digest', async () => {
    const big = crypto.randomBytes(3 << 20);
    const buf = await makeTar([{ name: 'big.bin', content: big }]);
    const want = `sha256:${crypto.createHash('sha256').update(buf).digest('hex')}`;
    for (const sizeHint of [undefined, 1000, WORKER_HASH_MIN]) {
      const chunks: Buffer[] = [];
      for (let off = 0; off < buf.length; off += 65536) chunks.push(buf.subarray(off, off + 65536));
      const dir = freshDir();
      const result = await applyTar(Readable.from(chunks), dir, new FakeDriver(), { sizeHint });
      assert.equal(result.diffId, want, `sizeHint ${sizeHint}`);
      assert.ok(fs.readFileSync(path.join(dir, 'big.bin')).equals(big));
    }
  });

  it('keeps the order of entries when a driver call waits while megabytes are queued behind it', async () => {
    const a = crypto.randomBytes(2 << 20);
    const c = crypto.randomBytes(2 << 20);
    const buf = await makeTar([
      { name: 'a', content: a },
      { name: 'b', content: 'b' },
      { name: '.wh.b' },
      { name: 'c', content: c },
    ]);
    const slow = new FakeDriver();
    const whiteout = slow.applyWhiteout.bind(slow);
    slow.applyWhiteout = async (layerDir: string, relPath: string) => {
      await new Promise((r) => setTimeout(r, 50));
      await whiteout(layerDir, relPath);
    };
    // all of it arrives at once: the extractor queues it and pauses the stream past its limit
    const input = new PassThrough({ highWaterMark: 8 << 20 });
    input.end(buf);
    const dir = freshDir();
    const result = await applyTar(input, dir, slow);
    assert.equal(result.diffId, `sha256:${crypto.createHash('sha256').update(buf).digest('hex')}`);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['.wh.b', 'a', 'c']);
    assert.ok(fs.readFileSync(path.join(dir, 'a')).equals(a));
    assert.ok(fs.readFileSync(path.join(dir, 'c')).equals(c));
  });

  it('fails with the error of a stream that failed before extraction started', async () => {
    const failed = new Readable({ read() {} });
    failed.on('error', () => undefined);
    failed.destroy(new Error('digest mismatch: sha256:abc'));
    await new Promise((r) => setImmediate(r));
    await assert.rejects(applyTar(failed, freshDir(), new FakeDriver()), /digest mismatch: sha256:abc/);
    const closed = new Readable({ read() {} });
    closed.destroy();
    await new Promise((r) => setImmediate(r));
    await assert.rejects(applyTar(closed, freshDir(), new FakeDriver()), /layer stream closed before its end/);
  });

  it('fails on a truncated or corrupt tar', async () => {
    const buf = await makeTar([{ name: 'a', content: 'x'.repeat(2000) }]);
    await assert.rejects(applyTar(Readable.from([buf.subarray(0, 1000)]), freshDir(), new FakeDriver()), /end of data|invalid layer tar/i);
    const corrupt = Buffer.from(buf);
    corrupt.write('garbage', 0);
    await assert.rejects(applyTar(Readable.from([corrupt]), freshDir(), new FakeDriver()), /invalid layer tar/i);
  });
});

describe('tar formats GNU tar writes', () => {
  /** A tree with long names, links, odd modes and a big file, made with real files. */
  const makeTree = (): string => {
    const src = freshDir();
    const deep = path.join(src, 'l'.repeat(90), 'm'.repeat(90), 'n'.repeat(90));
    fs.mkdirSync(deep, { recursive: true });
    fs.writeFileSync(path.join(deep, `${'f'.repeat(120)}.txt`), 'long name');
    fs.writeFileSync(path.join(src, 'plain'), 'plain');
    fs.linkSync(path.join(src, 'plain'), path.join(src, 'hard'));
    fs.symlinkSync(`${'t'.repeat(150)}/target`, path.join(src, 'longlink'));
    fs.writeFileSync(path.join(src, 'big'), crypto.randomBytes(3 << 20));
    fs.writeFileSync(path.join(src, 'exec'), '#!/bin/sh\n', { mode: 0o751 });
    fs.mkdirSync(path.join(src, 'sticky'), { mode: 0o1777 });
    fs.chmodSync(path.join(src, 'sticky'), 0o1777);
    fs.utimesSync(path.join(src, 'plain'), 1_000_000_000, 1_000_000_000);
    return src;
  };

  for (const format of ['gnu', 'posix', 'ustar', 'oldgnu']) {
    it(`extracts a ${format} tar exactly as tar -x does`, async () => {
      const src = makeTree();
      const names = format === 'ustar' ? ['plain', 'hard', 'big', 'exec', 'sticky'] : ['.'];
      const buf = execFileSync('tar', [`--format=${format}`, '-cf', '-', '-C', src, ...names], { maxBuffer: 1 << 26 });
      const ours = freshDir();
      const result = await applyTar(Readable.from([buf]), ours, new FakeDriver());
      assert.equal(result.diffId, `sha256:${crypto.createHash('sha256').update(buf).digest('hex')}`);
      const theirs = freshDir();
      execFileSync('tar', ['-xpf', '-', '-C', theirs], { input: buf, maxBuffer: 1 << 26 });
      const a = snapshot(ours);
      const b = snapshot(theirs);
      // tar -x leaves "." as it was; we apply the root entry's metadata (Docker does too)
      assert.deepEqual(a, b);
      assert.ok(Object.keys(a).length >= names.length);
    });
  }

  it('refuses a GNU sparse file by name', async () => {
    const src = freshDir();
    const fd = fs.openSync(path.join(src, 'sparse'), 'w');
    fs.writeSync(fd, 'end', 8 << 20);
    fs.closeSync(fd);
    const buf = execFileSync('tar', ['--format=gnu', '--sparse', '-cf', '-', '-C', src, 'sparse'], { maxBuffer: 1 << 26 });
    await assert.rejects(applyTar(Readable.from([buf]), freshDir(), new FakeDriver()), /"sparse": unsupported tar entry \(GNU sparse file\)/);
  });

  it('reads a header split across chunks of any size', async () => {
    const src = makeTree();
    const buf = execFileSync('tar', ['--format=posix', '-cf', '-', '-C', src, '.'], { maxBuffer: 1 << 26 });
    const chunks: Buffer[] = [];
    for (let off = 0, i = 0; off < buf.length; i++) {
      const size = [1, 511, 513, 7, 4096, 100_000][i % 6];
      chunks.push(buf.subarray(off, off + size));
      off += size;
    }
    const dir = freshDir();
    await applyTar(Readable.from(chunks), dir, new FakeDriver());
    const whole = freshDir();
    await applyTar(Readable.from([buf]), whole, new FakeDriver());
    assert.deepEqual(snapshot(dir), snapshot(whole));
  });
});

describe('decompressStream', () => {
  const collect = async (r: Readable): Promise<Buffer> => {
    const chunks: Buffer[] = [];
    for await (const c of r) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  };

  it('gunzips by media type and by magic bytes, and passes plain tar through', async () => {
    const plain = await makeTar([{ name: 'a', content: 'hello' }]);
    const gz = zlib.gzipSync(plain);
    assert.ok((await collect(decompressStream(Readable.from([gz]), 'application/vnd.oci.image.layer.v1.tar+gzip'))).equals(plain));
    assert.ok((await collect(decompressStream(Readable.from([gz.subarray(0, 3), gz.subarray(3)]), 'application/octet-stream'))).equals(plain));
    assert.ok((await collect(decompressStream(Readable.from([plain])))).equals(plain));
    assert.ok((await collect(decompressStream(Readable.from([Buffer.from('ab')])))).equals(Buffer.from('ab')));
    assert.equal(sniffCompression(Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0])), 'zstd');
  });

  it('reports zstd clearly when it cannot decode it', async () => {
    let hasZstd = typeof (zlib as Record<string, unknown>).createZstdDecompress === 'function';
    try {
      require.resolve('fzstd');
      hasZstd = true;
    } catch {
      // not installed
    }
    const stream = decompressStream(Readable.from([Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0, 0, 0, 0])]), 'application/vnd.oci.image.layer.v1.tar+zstd');
    if (!hasZstd) await assert.rejects(collect(stream), /unsupported layer compression zstd/);
    else await assert.rejects(collect(stream));
  });

  it('fails a corrupt gzip stream', async () => {
    const gz = zlib.gzipSync(Buffer.alloc(100000));
    await assert.rejects(collect(decompressStream(Readable.from([gz.subarray(0, gz.length - 20)]), 'application/vnd.docker.image.rootfs.diff.tar.gzip')));
  });
});

describe('tarLayerDir', () => {
  const collect = async (r: Readable): Promise<Buffer> => {
    const chunks: Buffer[] = [];
    for await (const c of r) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  };

  const tree: TestEntry[] = [
    { name: 'etc/', type: 'directory', mode: 0o751, mtime: new Date(1_400_000_000_000) },
    { name: 'etc/conf', content: 'a=1\n', mode: 0o640 },
    { name: 'etc/conf-link', type: 'link', linkname: 'etc/conf' },
    { name: 'etc/.wh.removed' },
    { name: 'lib', type: 'symlink', linkname: 'usr/lib' },
    { name: 'usr/lib/big', content: crypto.randomBytes(1_500_000) },
    { name: 'usr/lib/empty', content: '' },
    { name: 'opq/', type: 'directory' },
    { name: 'opq/.wh..wh..opq' },
    { name: 'opq/kept', content: 'k' },
    { name: 'ro/', type: 'directory', mode: 0o555 },
    { name: 'ro/f', content: 'f', mode: 0o444 },
    { name: 'run/fifo', type: 'fifo' },
  ];

  it('reproduces the same tree: extract(tar(extract(X))) == extract(X)', async () => {
    const first = (await extract(tree)).dir;
    const tarred = await collect(tarLayerDir(first, new FakeDriver()));
    const second = freshDir();
    await applyTar(Readable.from([tarred]), second, new FakeDriver());
    assert.deepEqual(snapshot(second), snapshot(first));
    assert.ok(fs.existsSync(path.join(second, 'etc/.wh.removed')));
    assert.ok(fs.existsSync(path.join(second, 'opq/.wh..wh..opq')));
  });

  it('is deterministic and lists parents first in sorted order', async () => {
    const dir = (await extract(tree)).dir;
    const a = await collect(tarLayerDir(dir, new FakeDriver()));
    const b = await collect(tarLayerDir(dir, new FakeDriver()));
    assert.ok(a.equals(b));
    const names: string[] = [];
    const types: Record<string, string> = {};
    const ex = tar.extract();
    ex.on('entry', (h, s, next) => {
      names.push(h.name);
      types[h.name] = h.type;
      s.on('end', () => next());
      s.resume();
    });
    await new Promise<void>((resolve, reject) => {
      ex.on('finish', () => resolve());
      ex.on('error', reject);
      ex.end(a);
    });
    assert.equal(names[0], 'etc/');
    assert.equal(types['etc/conf-link'], 'link');
    assert.ok(names.indexOf('usr/') < names.indexOf('usr/lib/') && names.indexOf('usr/lib/') < names.indexOf('usr/lib/big'));
  });

  it('writes long, non-ASCII and big values that GNU tar reads back exactly', async () => {
    const src = freshDir();
    const deep = path.join(src, 'l'.repeat(90), 'm'.repeat(90), 'n'.repeat(90));
    fs.mkdirSync(deep, { recursive: true });
    fs.writeFileSync(path.join(deep, `${'f'.repeat(120)}.txt`), 'long name');
    fs.writeFileSync(path.join(src, 'ünïcødé-名前'), 'utf8');
    fs.symlinkSync(`${'t'.repeat(150)}/target`, path.join(src, 'longlink'));
    fs.writeFileSync(path.join(src, 'big'), crypto.randomBytes(3 << 20));
    fs.writeFileSync(path.join(src, 'plain'), 'plain');
    fs.linkSync(path.join(src, 'plain'), path.join(src, 'hard'));
    const tarred = await collect(tarLayerDir(src, new FakeDriver()));
    const theirs = freshDir();
    execFileSync('tar', ['-xpf', '-', '-C', theirs], { input: tarred, maxBuffer: 1 << 26 });
    assert.deepEqual(snapshot(theirs), snapshot(src));
    assert.equal(tarred.length % 512, 0);
    assert.ok(tarred.subarray(tarred.length - 1024).equals(Buffer.alloc(1024)), 'ends with two zero blocks');

    const header = encodeHeader({ name: 'x', type: 'file', mode: 0o644, uid: 3_000_000, gid: 5, size: 0, mtime: 1 });
    const ex = tar.extract();
    const seen: { uid: number; pax: unknown }[] = [];
    ex.on('entry', (h, body, next) => {
      seen.push({ uid: h.uid, pax: h.pax });
      body.on('end', () => next());
      body.resume();
    });
    await new Promise<void>((resolve, reject) => {
      ex.on('finish', () => resolve());
      ex.on('error', reject);
      ex.end(Buffer.concat([header, Buffer.alloc(1024)]));
    });
    assert.equal((seen[0].pax as Record<string, string>).uid, '3000000');
  });

  it('turns overlay whiteouts and opaque dirs back into .wh. entries', async () => {
    const dir = freshDir();
    fs.mkdirSync(path.join(dir, 'opq'));
    fs.writeFileSync(path.join(dir, 'opq/new'), 'n');
    let canWhiteout = false;
    try {
      execFileSync('mknod', [path.join(dir, 'gone'), 'c', '0', '0'], { stdio: 'ignore' });
      canWhiteout = true;
    } catch {
      // not permitted for this user: the classification is checked on its own below
    }
    const tarred = await collect(tarLayerDir(dir, { name: 'overlay' }, { isOpaqueDir: async (d) => d.endsWith('/opq') }));
    const names: string[] = [];
    const ex = tar.extract();
    ex.on('entry', (h, s, next) => {
      names.push(`${h.name} ${h.type}`);
      s.on('end', () => next());
      s.resume();
    });
    await new Promise<void>((resolve, reject) => {
      ex.on('finish', () => resolve());
      ex.on('error', reject);
      ex.end(tarred);
    });
    const expected = ['opq/ directory', 'opq/.wh..wh..opq file', 'opq/new file'];
    if (canWhiteout) expected.unshift('.wh.gone file');
    assert.deepEqual(names, expected);
    assert.equal(isOverlayWhiteout({ isCharacterDevice: () => true, rdev: 0 } as fs.Stats), true);
    assert.equal(isOverlayWhiteout({ isCharacterDevice: () => true, rdev: 259 } as fs.Stats), false);
  });

  it('reads overlay opaque xattrs with GNU tar when the driver has no reader', async () => {
    // GNU tar both sets the xattr (extracting a PAX record) and reads it back, so this needs no setfattr
    const src = freshDir();
    const withXattr = await makeTar([
      { name: 'opq/', type: 'directory', pax: { 'SCHILY.xattr.user.overlay.opaque': 'y' } },
      { name: 'plain/', type: 'directory' },
    ]);
    execFileSync('tar', ['--xattrs', '--xattrs-include=user.*', '-xf', '-', '-C', src], { input: withXattr });
    const tarred = await collect(tarLayerDir(src, { name: 'overlay' }));
    const names: string[] = [];
    const ex = tar.extract();
    ex.on('entry', (h, s, next) => {
      names.push(h.name);
      s.on('end', () => next());
      s.resume();
    });
    await new Promise<void>((resolve, reject) => {
      ex.on('finish', () => resolve());
      ex.on('error', reject);
      ex.end(tarred);
    });
    assert.deepEqual(names, ['opq/', 'opq/.wh..wh..opq', 'plain/']);
  });
});
