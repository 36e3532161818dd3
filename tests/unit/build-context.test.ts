import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import * as tarStream from 'tar-stream';
import { BuildContext, openBuildContext } from '../../pkg/build/build-context';
import { SourceError, hashSources, resolveSources } from '../../pkg/build/source-hash';
import { InvalidArgumentError, NotFoundError } from '../../pkg/errors';

function tree(files: Record<string, string | { link: string } | null>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tspod-ctx-'));
  for (const [name, content] of Object.entries(files)) {
    const path = join(dir, name);
    if (content === null) {
      mkdirSync(path, { recursive: true });
      continue;
    }
    mkdirSync(join(path, '..'), { recursive: true });
    if (typeof content === 'string') writeFileSync(path, content);
    else symlinkSync(content.link, path);
  }
  return dir;
}

async function tarOf(files: Record<string, string>): Promise<Buffer> {
  const pack = tarStream.pack();
  for (const [name, content] of Object.entries(files)) pack.entry({ name, mode: 0o644 }, content);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function withContext(files: Record<string, string | { link: string } | null>, fn: (ctx: BuildContext, dir: string) => Promise<void> | void, dockerfile?: string): Promise<void> {
  const dir = tree({ Dockerfile: 'FROM busybox\n', ...files });
  try {
    const ctx = await openBuildContext(dir, dockerfile, { cwd: dir });
    await fn(ctx, dir);
    await ctx.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('context: a directory with its Dockerfile, Containerfile preferred, -f relative to the cwd or the context', async () => {
  const dir = tree({ Dockerfile: 'FROM a\n', 'sub/other.Dockerfile': 'FROM b\n', '.dockerignore': 'secret\n' });
  try {
    let ctx = await openBuildContext(dir, undefined, { cwd: '/' });
    assert.equal(ctx.dockerfileText, 'FROM a\n');
    assert.equal(ctx.dockerfileName, 'Dockerfile');
    assert.equal(ctx.ignore.ignores('secret'), true);
    ctx = await openBuildContext(dir, 'sub/other.Dockerfile', { cwd: '/' });
    assert.equal(ctx.dockerfileText, 'FROM b\n');
    assert.equal(ctx.dockerfileName, 'sub/other.Dockerfile');
    ctx = await openBuildContext('.', 'sub/other.Dockerfile', { cwd: dir });
    assert.equal(ctx.dockerfilePath, join(dir, 'sub/other.Dockerfile'));
    writeFileSync(join(dir, 'Containerfile'), 'FROM c\n');
    ctx = await openBuildContext(dir, undefined, { cwd: '/' });
    assert.equal(ctx.dockerfileText, 'FROM c\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('context: -f - reads the Dockerfile from stdin with a directory context', async () => {
  const dir = tree({ 'a.txt': 'a' });
  try {
    const ctx = await openBuildContext(dir, '-', { stdin: Readable.from([Buffer.from('FROM stdin\n')]) });
    assert.equal(ctx.dockerfileText, 'FROM stdin\n');
    assert.equal(ctx.dockerfilePath, '-');
    assert.equal(ctx.dockerfileName, 'Dockerfile');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('context: a tar (plain or gzip) on stdin, with its own Dockerfile and .dockerignore; removed on close', async () => {
  const scratchBase = mkdtempSync(join(tmpdir(), 'tspod-scratch-'));
  try {
    const tar = await tarOf({ Dockerfile: 'FROM tarred\n', 'src/app.txt': 'app', '.dockerignore': 'src/skip\n', 'build.Dockerfile': 'FROM other\n' });
    for (const input of [tar, gzipSync(tar)]) {
      const ctx = await openBuildContext('-', undefined, { stdin: Readable.from([input]), scratchBase });
      assert.equal(ctx.dockerfileText, 'FROM tarred\n');
      assert.deepEqual(resolveSources(ctx, ['src/app.txt']).map((f) => f.name), ['app.txt']);
      assert.equal(ctx.ignore.ignores('src/skip'), true);
      await ctx.close();
      assert.throws(() => resolveSources(ctx, ['src/app.txt']));
    }
    const ctx = await openBuildContext('-', 'build.Dockerfile', { stdin: Readable.from([tar]), scratchBase });
    assert.equal(ctx.dockerfileText, 'FROM other\n');
    await ctx.close();
  } finally {
    rmSync(scratchBase, { recursive: true, force: true });
  }
});

test('context: without a scratch base a stdin context goes to a fresh private temporary directory', async () => {
  const tar = await tarOf({ Dockerfile: 'FROM tarred\n' });
  const ctx = await openBuildContext('-', undefined, { stdin: Readable.from([tar]) });
  assert.match(ctx.dir, /tspod-context-[^/]+\/context$/);
  assert.equal(statSync(join(ctx.dir, '..')).mode & 0o777, 0o700);
  await ctx.close();
  assert.equal(existsSync(join(ctx.dir, '..')), false);
});

test('context: a lone Dockerfile on stdin is a build without context', async () => {
  const scratchBase = mkdtempSync(join(tmpdir(), 'tspod-scratch-'));
  try {
    const ctx = await openBuildContext('-', undefined, { stdin: Readable.from([Buffer.from('FROM busybox\nRUN true\n')]), scratchBase });
    assert.equal(ctx.dockerfileText, 'FROM busybox\nRUN true\n');
    assert.throws(() => resolveSources(ctx, ['anything']), SourceError);
    await ctx.close();
  } finally {
    rmSync(scratchBase, { recursive: true, force: true });
  }
});

test('context: errors for a missing directory, a missing Dockerfile, both on stdin, a remote URL', async () => {
  await assert.rejects(openBuildContext('/nonexistent/ctx'), (e: unknown) => e instanceof NotFoundError && /build context \/nonexistent\/ctx not found/.test((e as Error).message));
  const dir = tree({ 'x.txt': 'x' });
  try {
    await assert.rejects(openBuildContext(dir), (e: unknown) => e instanceof NotFoundError && /no Dockerfile or Containerfile in/.test((e as Error).message));
    await assert.rejects(openBuildContext(dir, 'nope.Dockerfile', { cwd: dir }), (e: unknown) => e instanceof NotFoundError && /Dockerfile nope.Dockerfile not found/.test((e as Error).message));
    await assert.rejects(openBuildContext(join(dir, 'x.txt')), InvalidArgumentError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  await assert.rejects(openBuildContext('-', '-'), /cannot both come from stdin/);
  await assert.rejects(openBuildContext('https://example.com/repo.git'), /remote build contexts are not supported/);
});

test('sources: files, directories by their content, globs, several sources, stable order', async () => {
  await withContext({ 'a.txt': 'a', 'b.txt': 'b', 'c.md': 'c', 'dir/x': 'x', 'dir/sub/y': 'y', 'dir/empty': null }, (ctx) => {
    const pick = (p: string[]) => resolveSources(ctx, p).map((f) => [f.path, f.name, f.type]);
    assert.deepEqual(pick(['a.txt']), [['a.txt', 'a.txt', 'file']]);
    assert.deepEqual(pick(['/a.txt']), [['a.txt', 'a.txt', 'file']]);
    assert.deepEqual(pick(['./dir/../a.txt']), [['a.txt', 'a.txt', 'file']]);
    assert.deepEqual(pick(['dir']), [
      ['dir', '', 'directory'],
      ['dir/empty', 'empty', 'directory'],
      ['dir/sub', 'sub', 'directory'],
      ['dir/sub/y', 'sub/y', 'file'],
      ['dir/x', 'x', 'file'],
    ]);
    assert.deepEqual(pick(['*.txt']), [['a.txt', 'a.txt', 'file'], ['b.txt', 'b.txt', 'file']]);
    assert.deepEqual(pick(['?.md', 'a.txt']), [['c.md', 'c.md', 'file'], ['a.txt', 'a.txt', 'file']]);
    assert.deepEqual(pick(['d*/s*']), [['dir/sub', '', 'directory'], ['dir/sub/y', 'y', 'file']]);
    assert.deepEqual(pick(['[ab].txt']), [['a.txt', 'a.txt', 'file'], ['b.txt', 'b.txt', 'file']]);
    assert.equal(resolveSources(ctx, ['.']).find((f) => f.path === 'dir/sub/y')?.name, 'dir/sub/y');
  });
});

test('sources: nothing outside the context, by .. or through a symlink', async () => {
  await withContext({ 'in.txt': 'in', 'to-outside': { link: '/etc' }, 'to-passwd': { link: '../../../../../etc/passwd' }, 'to-inside': { link: 'in.txt' }, 'dir/link-up': { link: '../in.txt' } }, (ctx) => {
    for (const bad of ['../x', '/../../etc/passwd', 'dir/../../x', 'to-outside/passwd', 'to-passwd']) {
      assert.throws(() => resolveSources(ctx, [bad]), (e: unknown) => e instanceof SourceError && /forbidden path outside the build context/.test((e as Error).message), bad);
    }
    assert.deepEqual(resolveSources(ctx, ['to-inside']).map((f) => [f.path, f.name, f.type]), [['in.txt', 'to-inside', 'file']]);
    // inside a copied directory symlinks are copied as symlinks, never followed
    assert.deepEqual(resolveSources(ctx, ['dir']).map((f) => [f.name, f.type, f.linkTarget]), [['', 'directory', undefined], ['link-up', 'symlink', '../in.txt']]);
  });
});

test('sources: missing files and globs matching nothing', async () => {
  await withContext({ 'a.txt': 'a' }, (ctx) => {
    assert.throws(() => resolveSources(ctx, ['missing.txt']), /"missing.txt": not found in the build context$/);
    assert.throws(() => resolveSources(ctx, ['*.go']), /no source files were specified: nothing in the build context matches "\*\.go"/);
  });
});

test('sources: .dockerignore hides files, exceptions bring them back, even inside ignored directories', async () => {
  await withContext(
    { '.dockerignore': 'secret.txt\ndocs\n!docs/keep.md\n*.log\nDockerfile\n', 'secret.txt': 's', 'a.log': 'l', 'keep.txt': 'k', 'docs/keep.md': 'k', 'docs/drop.md': 'd', 'docs/old/x': 'x' },
    (ctx) => {
      assert.throws(() => resolveSources(ctx, ['secret.txt']), /"secret.txt": not found in the build context \(excluded by \.dockerignore\)/);
      assert.throws(() => resolveSources(ctx, ['docs/drop.md']), /excluded by \.dockerignore/);
      assert.throws(() => resolveSources(ctx, ['*.log']), /no source files were specified/);
      assert.deepEqual(resolveSources(ctx, ['docs']).map((f) => f.name), ['', 'keep.md']);
      assert.deepEqual(resolveSources(ctx, ['.']).map((f) => f.path).sort(), ['.', '.dockerignore', 'docs', 'docs/keep.md', 'keep.txt']);
      assert.equal(ctx.dockerfileText, 'FROM busybox\n', 'an ignored Dockerfile is still read');
    },
  );
});

test('hashSources: content, mode, names and ownership count; modification times do not', async () => {
  await withContext({ 'app/main.c': 'int main;', 'app/README': 'hi' }, (ctx, dir) => {
    const hash = (opts?: { includeOwnership?: boolean }) => hashSources(resolveSources(ctx, ['app']), opts);
    const first = hash();
    assert.match(first, /^sha256:[0-9a-f]{64}$/);
    assert.equal(hash(), first, 'stable');
    utimesSync(join(dir, 'app/main.c'), new Date(1000), new Date(1000));
    assert.equal(hash(), first, 'mtime is not part of the key');
    writeFileSync(join(dir, 'app/main.c'), 'int maim;');
    const changed = hash();
    assert.notEqual(changed, first, 'a one-byte change');
    chmodSync(join(dir, 'app/main.c'), 0o755);
    assert.notEqual(hash(), changed, 'a mode change');
    const withOwner = hash();
    assert.notEqual(hash({ includeOwnership: false }), withOwner, 'ownership left out under --chown');
    writeFileSync(join(dir, 'app/new'), '');
    assert.notEqual(hash(), withOwner, 'a new empty file');
  });
});
