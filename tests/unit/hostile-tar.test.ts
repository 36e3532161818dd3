// Tars that try to write outside the layer directory. Each must fail the whole layer with an
// error naming the entry, write nothing outside, and leave nothing in the store.
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import * as tar from 'tar-stream';
import { openDatabase } from '../../pkg/state/database';
import { LayerEntryError, UnsafeLayerError, applyTar } from '../../pkg/storage/layer-extract';
import { LayerStore } from '../../pkg/storage/layer-store';
import { VfsDriver } from '../../pkg/storage/vfs-driver';

interface Entry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link';
  content?: string;
  linkname?: string;
}

async function makeTar(entries: Entry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const chunk of pack as unknown as AsyncIterable<Buffer>) chunks.push(chunk);
  })();
  for (const e of entries) {
    const type = e.type ?? 'file';
    const header = { name: e.name, type, linkname: e.linkname, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, mode: type === 'directory' ? 0o755 : 0o644 };
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null): void => (err ? reject(err) : resolve());
      if (type === 'file') pack.entry(header, e.content ?? 'x', cb);
      else pack.entry(header, cb);
    });
  }
  pack.finalize();
  await collected;
  return Buffer.concat(chunks);
}

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'tspod-hostile-'));
after(() => fs.rmSync(scratch, { recursive: true, force: true }));
let n = 0;

interface Case {
  /** where the layer is extracted: <case>/a/b/layer, so ../ and ../../ stay inside scratch */
  layer: string;
  /** an existing directory outside the layer, a tempting target */
  outside: string;
}

function newCase(): Case {
  const base = path.join(scratch, `case-${++n}`);
  const layer = path.join(base, 'a/b/layer');
  const outside = path.join(base, 'outside');
  fs.mkdirSync(layer, { recursive: true });
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, 'important'), 'keep me');
  return { layer, outside };
}

function newStore(): LayerStore {
  const root = path.join(scratch, `store-${++n}`);
  const db = openDatabase(path.join(root, 'tspod.db'));
  return new LayerStore(db, path.join(root, 'storage'), new VfsDriver());
}

/** Everything under dir (relative names), to prove nothing appeared. */
function listTree(dir: string): string[] {
  const out: string[] = [];
  const visit = (rel: string): void => {
    for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      out.push(r);
      if (fs.lstatSync(path.join(dir, r)).isDirectory()) visit(r);
    }
  };
  visit('');
  return out;
}

/**
 * Runs the tar twice: straight into a layer dir (nothing may appear outside it), and through
 * the store (nothing may be left in it). `entry` is the name the error must mention.
 */
async function expectRefused(entries: (c: Case) => Entry[], entry: string, pattern: RegExp, errorType: typeof UnsafeLayerError | typeof LayerEntryError = UnsafeLayerError): Promise<Case> {
  const c = newCase();
  const base = path.dirname(path.dirname(path.dirname(c.layer)));
  const before = listTree(base).filter((p) => !p.startsWith('a/b/layer'));
  const buf = await makeTar(entries(c));
  const check = (err: unknown): boolean => {
    assert.ok(err instanceof errorType, `expected ${errorType.name}, got ${String(err)}`);
    assert.ok((err as Error).message.includes(JSON.stringify(entry)), `error names the entry: ${(err as Error).message}`);
    assert.match((err as Error).message, pattern);
    return true;
  };
  await assert.rejects(applyTar(Readable.from([buf]), c.layer, new VfsDriver()), check);
  assert.deepEqual(listTree(base).filter((p) => !p.startsWith('a/b/layer')), before, 'nothing appeared outside the layer');
  assert.equal(fs.readFileSync(path.join(c.outside, 'important'), 'utf8'), 'keep me');

  const store = newStore();
  const diffId = `sha256:${crypto.createHash('sha256').update(buf).digest('hex')}`;
  await assert.rejects(store.putLayer({ diffId, stream: Readable.from([buf]) }), check);
  await assert.rejects(store.putLayer({ stream: Readable.from([buf]) }), check);
  assert.deepEqual(store.list(), [], 'no layer row');
  assert.deepEqual(fs.readdirSync(store.home), [], 'no directory or lock left in the store');
  assert.deepEqual(listTree(base).filter((p) => !p.startsWith('a/b/layer')), before);
  return c;
}

describe('hostile layer tars', () => {
  it('refuses ../escape', async () => {
    await expectRefused(() => [{ name: '../escape' }], '../escape', /leaves the layer directory/);
  });

  it('refuses /abs/../../escape', async () => {
    await expectRefused(() => [{ name: 'ok', content: 'fine' }, { name: '/abs/../../escape' }], '/abs/../../escape', /leaves the layer directory/);
  });

  it('refuses writing through a symlink planted to an outside directory', async () => {
    await expectRefused(
      (c) => [
        { name: 'link', type: 'symlink', linkname: c.outside },
        { name: 'link/file', content: 'pwned' },
      ],
      'link/file',
      /symbolic link "\/link"/,
    );
  });

  it('refuses writing through a symlink to ..', async () => {
    await expectRefused(
      () => [
        { name: 'up', type: 'symlink', linkname: '..' },
        { name: 'up/escaped', content: 'pwned' },
      ],
      'up/escaped',
      /symbolic link/,
    );
  });

  it('refuses a symlink chain planted deeper (a/b -> ../..)', async () => {
    await expectRefused(
      () => [
        { name: 'a/', type: 'directory' },
        { name: 'a/b', type: 'symlink', linkname: '../..' },
        { name: 'a/b/c/x', content: 'pwned' },
      ],
      'a/b/c/x',
      /symbolic link "\/a\/b"/,
    );
  });

  it('refuses a directory entry through a symlink', async () => {
    await expectRefused(
      (c) => [
        { name: 'd', type: 'symlink', linkname: c.outside },
        { name: 'd/sub/', type: 'directory' },
      ],
      'd/sub/',
      /symbolic link/,
    );
  });

  it('refuses writing through a directory that was replaced by a symlink', async () => {
    await expectRefused(
      (c) => [
        { name: 'd/', type: 'directory' },
        { name: 'd/f', content: 'fine' },
        { name: 'd', type: 'symlink', linkname: c.outside },
        { name: 'd/g', content: 'pwned' },
      ],
      'd/g',
      /symbolic link "\/d"/,
    );
  });

  it('refuses a hard link to /etc/passwd (not in the layer)', async () => {
    const before = fs.statSync('/etc/passwd').nlink;
    await expectRefused(() => [{ name: 'pw', type: 'link', linkname: '/etc/passwd' }], 'pw', /hard link target "\/etc\/passwd" is not in the layer/, LayerEntryError);
    assert.equal(fs.statSync('/etc/passwd').nlink, before);
  });

  it('refuses a hard link to ../../x', async () => {
    const c = await expectRefused(() => [{ name: 'x', type: 'link', linkname: '../../x' }], 'x', /hard link to "..\/..\/x", outside the layer/);
    assert.ok(!fs.existsSync(path.join(c.layer, '../../x')));
  });

  it('refuses a hard link through a symlink', async () => {
    const before = fs.statSync('/etc/passwd').nlink;
    await expectRefused(
      () => [
        { name: 'etc', type: 'symlink', linkname: '/etc' },
        { name: 'pw', type: 'link', linkname: 'etc/passwd' },
      ],
      'pw',
      /hard link through a symbolic link/,
    );
    assert.equal(fs.statSync('/etc/passwd').nlink, before);
  });

  it('refuses a whiteout through a symlink', async () => {
    await expectRefused(
      (c) => [
        { name: 'evil', type: 'symlink', linkname: c.outside },
        { name: 'evil/.wh.important' },
      ],
      'evil/.wh.important',
      /symbolic link/,
    );
  });

  it('refuses an opaque marker through a symlink', async () => {
    await expectRefused(
      (c) => [
        { name: 'evil', type: 'symlink', linkname: c.outside },
        { name: 'evil/.wh..wh..opq' },
      ],
      'evil/.wh..wh..opq',
      /symbolic link/,
    );
  });

  it('refuses a whiteout of ..', async () => {
    await expectRefused(() => [{ name: 'a/', type: 'directory' }, { name: 'a/.wh...' }], 'a/.wh...', /whiteout of no valid name/);
  });
});
