// Layer-path safety and the vfs driver's layer work, which is plain file work (no mounts, no
// namespace): runs as whoever runs the unit tests.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InvalidArgumentError } from '../../pkg/errors';
import { resolveInLayer } from '../../pkg/storage/graph-driver';
import { VfsDriver } from '../../pkg/storage/vfs-driver';

let work = '';
before(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'tspod-layer-test-'));
});
after(() => fs.rmSync(work, { recursive: true, force: true }));

function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = path.posix.join(rel, e.name);
      out.push(e.isDirectory() ? `${r}/` : r);
      if (e.isDirectory()) walk(r);
    }
  };
  walk('');
  return out.sort();
}

function write(file: string, content = 'x'): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
}

test('layer paths: tar spellings map into the layer', () => {
  const layer = path.join(work, 'paths');
  assert.equal(resolveInLayer(layer, 'a/b'), path.join(layer, 'a/b'));
  assert.equal(resolveInLayer(layer, './a/b/'), path.join(layer, 'a/b'));
  assert.equal(resolveInLayer(layer, '/a//b'), path.join(layer, 'a/b'));
  assert.equal(resolveInLayer(layer, 'a/../b'), path.join(layer, 'b'));
  assert.equal(resolveInLayer(layer, ''), layer);
  assert.equal(resolveInLayer(layer, '.'), layer);
});

test('layer paths: ".." out of the layer is refused', () => {
  for (const bad of ['..', '../x', 'a/../../x', '/../x']) {
    assert.throws(() => resolveInLayer(work, bad), InvalidArgumentError, bad);
  }
});

test('layer paths: a symlink on the way is refused, a symlink at the end is the thing itself', () => {
  const layer = path.join(work, 'symlinks');
  fs.mkdirSync(layer);
  fs.symlinkSync('/etc', path.join(layer, 'etc'));
  assert.throws(() => resolveInLayer(layer, 'etc/passwd'), /goes through etc, which is not a directory/);
  assert.equal(resolveInLayer(layer, 'etc'), path.join(layer, 'etc'));
});

test('vfs: a child layer starts as a full copy of its parent, hard links and symlinks kept', async () => {
  const vfs = new VfsDriver();
  const parent = path.join(work, 'vfs/p/diff');
  await vfs.createLayerDir(parent);
  write(path.join(parent, 'a/file'), 'content');
  fs.linkSync(path.join(parent, 'a/file'), path.join(parent, 'a/link'));
  fs.symlinkSync('file', path.join(parent, 'a/sym'));
  fs.chmodSync(path.join(parent, 'a/file'), 0o640);
  const child = path.join(work, 'vfs/c/diff');
  await vfs.createLayerDir(child, parent);
  assert.deepEqual(tree(child), tree(parent));
  const [file, link] = [fs.statSync(path.join(child, 'a/file')), fs.statSync(path.join(child, 'a/link'))];
  assert.equal(file.ino, link.ino);
  assert.notEqual(file.ino, fs.statSync(path.join(parent, 'a/file')).ino);
  assert.equal(file.mode & 0o777, 0o640);
  assert.equal(fs.readlinkSync(path.join(child, 'a/sym')), 'file');
  assert.deepEqual(fs.readdirSync(path.dirname(child)), ['diff'], 'no temporary copy left behind');
});

test('vfs: a whiteout deletes, never through a symlink', async () => {
  const vfs = new VfsDriver();
  const layer = path.join(work, 'vfs-wh');
  write(path.join(layer, 'dir/gone/deep'));
  write(path.join(layer, 'dir/kept'));
  write(path.join(work, 'outside/precious'));
  fs.symlinkSync(path.join(work, 'outside'), path.join(layer, 'escape'));
  await vfs.applyWhiteout(layer, 'dir/gone');
  await vfs.applyWhiteout(layer, 'dir/never-existed');
  assert.deepEqual(tree(layer), ['dir/', 'dir/kept', 'escape']);
  await assert.rejects(vfs.applyWhiteout(layer, 'escape/precious'), InvalidArgumentError);
  assert.ok(fs.existsSync(path.join(work, 'outside/precious')));
  await assert.rejects(vfs.applyWhiteout(layer, '.'), InvalidArgumentError);
});

test('vfs: an opaque dir loses what the parent had and keeps what this tar already wrote', async () => {
  const vfs = new VfsDriver();
  const layer = path.join(work, 'vfs-opq');
  write(path.join(layer, 'opq/from-parent'));
  write(path.join(layer, 'opq/sub/from-parent'));
  write(path.join(layer, 'opq/sub/from-this-tar'));
  write(path.join(layer, 'opq/new'));
  write(path.join(layer, 'other/untouched'));
  await vfs.applyOpaque(layer, 'opq', new Set(['./opq/', 'opq/sub', 'opq/sub/from-this-tar', 'opq/new']));
  assert.deepEqual(tree(layer), ['opq/', 'opq/new', 'opq/sub/', 'opq/sub/from-this-tar', 'other/', 'other/untouched']);
  await vfs.applyOpaque(layer, 'not-there-yet');
  assert.ok(fs.statSync(path.join(layer, 'not-there-yet')).isDirectory());
});

test('vfs: an opaque layer root empties the whole copy but this tar\'s files', async () => {
  const vfs = new VfsDriver();
  const layer = path.join(work, 'vfs-opq-root');
  write(path.join(layer, 'old'));
  write(path.join(layer, 'new'));
  await vfs.applyOpaque(layer, '', new Set(['new']));
  assert.deepEqual(tree(layer), ['new']);
});
