// The pure parts of cp, diff and commit: container path resolution (never leaving the root),
// Docker's `NAME:PATH` parsing, overlay upper-dir changes, and the committed config.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { parseCopySide } from '../../cmd/tspod/container-cp';
import { committedContainerConfig } from '../../pkg/container/container-commit';
import type { ContainerConfig } from '../../pkg/container/container-config';
import { resolveInRoot } from '../../pkg/container/container-copy';
import { overlayChanges, sortChanges } from '../../pkg/container/container-diff';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tspod-files-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('resolveInRoot', () => {
  const root = path.join(tmp, 'root');
  fs.mkdirSync(path.join(root, 'etc'), { recursive: true });
  fs.mkdirSync(path.join(root, 'a/b'), { recursive: true });
  fs.writeFileSync(path.join(root, 'etc/passwd'), 'container\n');
  fs.symlinkSync('/etc/passwd', path.join(root, 'abs'));
  fs.symlinkSync('../../../../../../etc/passwd', path.join(root, 'a/b/up'));
  fs.symlinkSync('/etc', path.join(root, 'etcdir'));
  fs.symlinkSync('loop2', path.join(root, 'loop1'));
  fs.symlinkSync('loop1', path.join(root, 'loop2'));

  it('resolves absolute and climbing links inside the root', () => {
    assert.equal(resolveInRoot(root, '/abs', true), path.join(root, 'etc/passwd'));
    assert.equal(resolveInRoot(root, '/a/b/up', true), path.join(root, 'etc/passwd'));
    assert.equal(resolveInRoot(root, '/etcdir/passwd', false), path.join(root, 'etc/passwd'));
    assert.equal(resolveInRoot(root, '/../../..', true), root);
  });

  it('keeps a last-component link unless asked to follow', () => {
    assert.equal(resolveInRoot(root, '/abs', false), path.join(root, 'abs'));
    assert.equal(resolveInRoot(root, '/missing/file', true), path.join(root, 'missing/file'));
  });

  it('refuses link loops', () => {
    assert.throws(() => resolveInRoot(root, '/loop1', true), /too many levels/);
  });
});

describe('parseCopySide', () => {
  it('follows Docker: local when absolute, relative-looking or slashed before the colon', () => {
    assert.deepEqual(parseCopySide('web:/etc'), { container: 'web', path: '/etc' });
    assert.deepEqual(parseCopySide('web:'), { container: 'web', path: '/' });
    assert.deepEqual(parseCopySide('/tmp/a:b'), { path: '/tmp/a:b' });
    assert.deepEqual(parseCopySide('./a:b'), { path: './a:b' });
    assert.deepEqual(parseCopySide('dir/a:b'), { path: 'dir/a:b' });
    assert.deepEqual(parseCopySide('-'), { path: '-' });
  });
});

describe('overlayChanges', () => {
  it('tells added, changed and deleted apart', () => {
    const lower = path.join(tmp, 'lower');
    const upper = path.join(tmp, 'upper');
    fs.mkdirSync(path.join(lower, 'etc'), { recursive: true });
    fs.writeFileSync(path.join(lower, 'etc/passwd'), 'x');
    fs.writeFileSync(path.join(lower, 'etc/group'), 'x');
    fs.writeFileSync(path.join(lower, 'etc/gone'), 'x');
    fs.mkdirSync(path.join(upper, 'etc'), { recursive: true });
    fs.writeFileSync(path.join(upper, 'etc/passwd'), 'y');
    fs.writeFileSync(path.join(upper, 'etc/new'), 'y');
    fs.writeFileSync(path.join(upper, 'etc/.wh.group'), '');
    fs.writeFileSync(path.join(upper, 'etc/hosts'), '');
    const lines = sortChanges(overlayChanges(upper, [lower])).map((c) => `${c.kind} ${c.path}`);
    assert.deepEqual(lines, ['C /etc', 'D /etc/group', 'A /etc/new', 'C /etc/passwd']);
  });
});

describe('committedContainerConfig', () => {
  it("takes the container's settings, then the changes", () => {
    const container = { env: ['A=2', 'B=1'], entrypoint: [], cmd: ['sh'], workdir: '/w', user: 'tester', labels: { l: 'v' } } as unknown as ContainerConfig;
    const out = committedContainerConfig({ Env: ['PATH=/bin', 'A=1'], Cmd: ['old'], Labels: { base: '1' } }, container, ['CMD ["echo","x"]']);
    assert.deepEqual(out.Env, ['PATH=/bin', 'A=2', 'B=1']);
    assert.deepEqual(out.Cmd, ['echo', 'x']);
    assert.equal(out.Entrypoint, null);
    assert.equal(out.WorkingDir, '/w');
    assert.equal(out.User, 'tester');
    assert.deepEqual(out.Labels, { base: '1', l: 'v' });
  });
});
