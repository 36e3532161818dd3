import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RegistriesConfig } from '../../pkg/config/registries-conf';
import { InvalidArgumentError } from '../../pkg/errors';
import { formatReference } from '../../pkg/image/reference';
import { localCandidates, resolveShortName } from '../../pkg/image/short-names';

function conf(over: Partial<RegistriesConfig> = {}): RegistriesConfig {
  return {
    unqualifiedSearch: ['registry.fedoraproject.org', 'docker.io'],
    shortNameMode: 'enforcing',
    registries: [],
    aliases: {},
    files: ['/home/u/.config/containers/registries.conf'],
    ...over,
  };
}

test('search registries give candidates in order, docker.io with library/', () => {
  const r = resolveShortName('alpine', conf());
  assert.equal(r.source, 'search');
  assert.deepEqual(r.candidates.map(formatReference), ['registry.fedoraproject.org/alpine:latest', 'docker.io/library/alpine:latest']);
  assert.equal(r.shortNameMode, 'enforcing');
  const tagged = resolveShortName('user/app:2', conf());
  assert.deepEqual(tagged.candidates.map(formatReference), ['registry.fedoraproject.org/user/app:2', 'docker.io/user/app:2']);
});

test('aliases win and carry the tag or digest over', () => {
  const c = conf({ aliases: { alpine: 'quay.io/mirror/alpine', 'user/app': 'docker.io/user/app' } });
  const r = resolveShortName('alpine:3.19', c);
  assert.equal(r.source, 'alias');
  assert.deepEqual(r.candidates.map(formatReference), ['quay.io/mirror/alpine:3.19']);
  assert.equal(r.aliasFile, '/home/u/.config/containers/registries.conf');
  assert.deepEqual(resolveShortName('alpine', c).candidates.map(formatReference), ['quay.io/mirror/alpine:latest']);
  const hex = 'b'.repeat(64);
  assert.deepEqual(resolveShortName(`user/app@sha256:${hex}`, c).candidates.map(formatReference), [`docker.io/user/app@sha256:${hex}`]);
});

test('bad alias values are reported with the file', () => {
  assert.throws(() => resolveShortName('a', conf({ aliases: { a: 'notqualified' } })), /alias "a" = "notqualified" must be a fully qualified name/);
  assert.throws(() => resolveShortName('a', conf({ aliases: { a: 'quay.io/a:1' } })), /must not contain a tag or digest/);
});

test('qualified names are their own candidate', () => {
  const r = resolveShortName('quay.io/x/y', conf({ unqualifiedSearch: [] }));
  assert.equal(r.source, 'qualified');
  assert.deepEqual(r.candidates.map(formatReference), ['quay.io/x/y:latest']);
  assert.deepEqual(resolveShortName('docker.io/alpine:3', conf()).candidates.map(formatReference), ['docker.io/library/alpine:3']);
});

test('an empty search list fails with a message that says how to fix it', () => {
  assert.throws(
    () => resolveShortName('alpine', conf({ unqualifiedSearch: [] })),
    (err: unknown) => {
      assert.ok(err instanceof InvalidArgumentError);
      assert.match(
        err.message,
        /^short-name "alpine" did not resolve to an alias and no unqualified-search registries are defined in "\/home\/u\/\.config\/containers\/registries\.conf"/,
      );
      assert.match(err.message, /unqualified-search-registries = \["docker\.io"\]/);
      assert.match(err.message, /docker\.io\/library\/alpine/);
      return true;
    },
  );
  assert.throws(() => resolveShortName('alpine', conf({ unqualifiedSearch: [], files: [] }), '/x/registries.conf'), /defined in "\/x\/registries\.conf"/);
});

test('duplicate search registries are tried once', () => {
  const r = resolveShortName('a', conf({ unqualifiedSearch: ['docker.io', 'index.docker.io', 'quay.io'] }));
  assert.deepEqual(r.candidates.map(formatReference), ['docker.io/library/a:latest', 'quay.io/a:latest']);
});

test('local candidates: alias, localhost, then the search registries', () => {
  assert.deepEqual(localCandidates('app', conf()).map(formatReference), [
    'localhost/app:latest',
    'registry.fedoraproject.org/app:latest',
    'docker.io/library/app:latest',
  ]);
  assert.deepEqual(localCandidates('app:1', conf({ unqualifiedSearch: [], aliases: { app: 'quay.io/x/app' } })).map(formatReference), [
    'quay.io/x/app:1',
    'localhost/app:1',
  ]);
  assert.deepEqual(localCandidates('quay.io/x/app', conf()).map(formatReference), ['quay.io/x/app:latest']);
});

test('invalid short names fail as references do', () => {
  assert.throws(() => resolveShortName('Alpine', conf()), /repository name must be lowercase/);
});
