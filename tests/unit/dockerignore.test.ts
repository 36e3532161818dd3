import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createIgnoreMatcher, loadDockerignore, parseDockerignore } from '../../pkg/build/dockerignore';
import { InvalidArgumentError } from '../../pkg/errors';

test('parseDockerignore: comments, blanks, cleaning, leading slashes, exceptions', () => {
  const text = [
    '\uFEFF# comment',
    '',
    '   ',
    '  spaced  ',
    ' # not a comment when indented',
    '/build/',
    './a/../b//c/',
    '!  keep.txt',
    '!/root/file',
    'node_modules',
    '**/*.log',
    '..',
    '/',
  ].join('\r\n');
  assert.deepEqual(parseDockerignore(text), [
    'spaced',
    '# not a comment when indented',
    'build',
    'b/c',
    '!keep.txt',
    '!root/file',
    'node_modules',
    '**/*.log',
    '..',
    '/',
  ]);
});

// [patterns, path, ignored]
const cases: [string[], string, boolean][] = [
  [['file'], 'file', true],
  [['file'], 'file2', false],
  [['file'], 'dir/file', false],
  [['dir'], 'dir/sub/file', true],
  [['dir/'], 'dir/file', true],
  [['/dir'], 'dir/file', true],
  [['*.go'], 'main.go', true],
  [['*.go'], 'pkg/main.go', false],
  [['*/*.go'], 'pkg/main.go', true],
  [['*/*.go'], 'a/b/main.go', false],
  [['?'], 'a', true],
  [['?'], 'ab', false],
  [['a?c'], 'a/c', false],
  [['[a-c]x'], 'bx', true],
  [['[a-c]x'], 'dx', false],
  [['[^a-c]x'], 'dx', true],
  [['[^a-c]x'], 'ax', false],
  [['a\\*b'], 'a*b', true],
  [['a\\*b'], 'axb', false],
  [['a.b'], 'axb', false],
  [['a+b(c)|{d}$'], 'a+b(c)|{d}$', true],
  [['**'], 'anything/at/all', true],
  [['**/file'], 'file', true],
  [['**/file'], 'a/b/file', true],
  [['**/file'], 'a/b/xfile', false],
  [['**/*.log'], 'debug.log', true],
  [['**/*.log'], 'a/b/debug.log', true],
  [['**/*.log'], 'a/b/debug.txt', false],
  [['dir/**'], 'dir/a/b', true],
  [['dir/**'], 'dirx', false],
  [['dir/**'], 'dir', false], // a prefix match on "dir/": the directory itself stays
  [['dir/**/file'], 'dir/file', true],
  [['dir/**/file'], 'dir/a/b/file', true],
  [['dir/**/file'], 'other/dir/file', false],
  [['**/dir/**'], 'a/dir/b/c', true],
  [['*.md', '!README.md'], 'README.md', false],
  [['*.md', '!README.md'], 'CHANGES.md', true],
  [['!README.md', '*.md'], 'README.md', true],
  [['*.md', '!README.md', 'README.md'], 'README.md', true],
  [['docs', '!docs/keep.txt'], 'docs/keep.txt', false],
  [['docs', '!docs/keep.txt'], 'docs/other.txt', true],
  [['docs', '!docs/keep.txt'], 'docs', true],
  [['docs', '!docs/sub'], 'docs/sub/deep/file', false],
  [['*', '!src'], 'src/main.c', false],
  [['*', '!src'], 'Makefile', true],
  [['*', '!src', 'src/*.o'], 'src/main.o', true],
  [['Dockerfile', '.dockerignore'], 'Dockerfile', true],
  [['file'], './file', true],
  [['file'], '/file', true],
  [['a/b'], 'a/./b/', true],
  [['**'], '.', false],
  [['*'], '.', false],
];

for (const [patterns, path, ignored] of cases) {
  test(`ignores(${JSON.stringify(path)}) with ${JSON.stringify(patterns)} is ${ignored}`, () => {
    assert.equal(createIgnoreMatcher(parseDockerignore(patterns.join('\n'))).ignores(path), ignored);
  });
}

test('hasExclusions tells whether an ignored directory must still be walked', () => {
  assert.equal(createIgnoreMatcher(['a']).hasExclusions, false);
  assert.equal(createIgnoreMatcher(['a', '!a/b']).hasExclusions, true);
});

test('bad patterns are refused with the file name', () => {
  for (const bad of ['!', '[', 'a[b', '[]a]', '[-a]']) {
    assert.throws(
      () => createIgnoreMatcher(parseDockerignore(bad), '.dockerignore'),
      (err: unknown) => err instanceof InvalidArgumentError && /^\.dockerignore: /.test(err.message),
      bad,
    );
  }
});

test('loadDockerignore: Dockerfile.dockerignore beside the Dockerfile wins over .dockerignore', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tspod-ignore-'));
  try {
    mkdirSync(join(dir, 'docker'));
    writeFileSync(join(dir, '.dockerignore'), 'general\n');
    writeFileSync(join(dir, 'docker', 'app.Dockerfile'), 'FROM busybox\n');
    writeFileSync(join(dir, 'Dockerfile'), 'FROM busybox\n');
    assert.deepEqual(loadDockerignore(dir, join(dir, 'Dockerfile')).patterns, ['general']);
    assert.deepEqual(loadDockerignore(dir, join(dir, 'docker', 'app.Dockerfile')).patterns, ['general']);
    writeFileSync(join(dir, 'docker', 'app.Dockerfile.dockerignore'), 'specific\n!keep\n');
    const m = loadDockerignore(dir, join(dir, 'docker', 'app.Dockerfile'));
    assert.deepEqual(m.patterns, ['specific', '!keep']);
    assert.equal(m.ignores('general'), false);
    assert.equal(m.ignores('specific'), true);
    writeFileSync(join(dir, 'Dockerfile.dockerignore'), 'root-specific\n');
    assert.deepEqual(loadDockerignore(dir, join(dir, 'Dockerfile')).patterns, ['root-specific']);
    rmSync(join(dir, '.dockerignore'));
    assert.deepEqual(loadDockerignore(dir, join(dir, 'other')).patterns, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
