import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '../../pkg/errors';
import {
  familiarName,
  formatReference,
  isShortName,
  manifestReference,
  parseReference,
  qualifyReference,
  repositoryName,
  withDefaultTag,
} from '../../pkg/image/reference';

const HEX = 'a'.repeat(64);

test('Docker Hub names are qualified only when asked', () => {
  assert.deepEqual(parseReference('alpine'), { registry: '', repository: 'alpine' });
  assert.deepEqual(parseReference('alpine', { qualify: true }), { registry: 'docker.io', repository: 'library/alpine' });
  assert.deepEqual(parseReference('alpine:3', { qualify: true }), { registry: 'docker.io', repository: 'library/alpine', tag: '3' });
  assert.deepEqual(parseReference('user/app', { qualify: true }), { registry: 'docker.io', repository: 'user/app' });
  assert.deepEqual(parseReference('docker.io/alpine'), { registry: 'docker.io', repository: 'library/alpine' });
  assert.deepEqual(parseReference('index.docker.io/user/app:1'), { registry: 'docker.io', repository: 'user/app', tag: '1' });
});

test('registries with ports, localhost and IPs', () => {
  assert.deepEqual(parseReference('host:5000/ns/app:tag'), { registry: 'host:5000', repository: 'ns/app', tag: 'tag' });
  assert.deepEqual(parseReference('localhost/app'), { registry: 'localhost', repository: 'app' });
  assert.deepEqual(parseReference('localhost:5000/app'), { registry: 'localhost:5000', repository: 'app' });
  assert.deepEqual(parseReference('127.0.0.1:5000/library/busybox:latest'), {
    registry: '127.0.0.1:5000',
    repository: 'library/busybox',
    tag: 'latest',
  });
  assert.deepEqual(parseReference('[::1]:5000/app:v1'), { registry: '[::1]:5000', repository: 'app', tag: 'v1' });
  assert.deepEqual(parseReference('quay.io/a/b/c'), { registry: 'quay.io', repository: 'a/b/c' });
});

test('digests, alone and with a tag', () => {
  assert.deepEqual(parseReference(`app@sha256:${HEX}`, { qualify: true }), {
    registry: 'docker.io',
    repository: 'library/app',
    digest: `sha256:${HEX}`,
  });
  assert.deepEqual(parseReference(`quay.io/app:tag@sha256:${HEX}`), { registry: 'quay.io', repository: 'app', tag: 'tag', digest: `sha256:${HEX}` });
  assert.throws(() => parseReference(`app@sha256:${'a'.repeat(40)}`), /invalid reference format: invalid checksum digest length/);
  assert.throws(() => parseReference(`app@md5:${'a'.repeat(32)}`), /unsupported digest algorithm/);
  assert.throws(() => parseReference(`app@sha256:${'A'.repeat(64)}`), /invalid checksum digest format/);
  assert.throws(() => parseReference('app@sha256:xyz'), /^InvalidArgumentError: invalid reference format$/);
  assert.throws(() => parseReference('app@'), InvalidArgumentError);
});

test('invalid names give Docker messages', () => {
  assert.throws(() => parseReference('Alpine'), { message: 'invalid reference format: repository name must be lowercase' });
  assert.throws(() => parseReference('docker.io/User/app'), { message: 'invalid reference format: repository name must be lowercase' });
  assert.throws(() => parseReference(''), InvalidArgumentError);
  assert.throws(() => parseReference('alpine:'), { message: 'invalid reference format' });
  assert.throws(() => parseReference('a//b'), { message: 'invalid reference format' });
  assert.throws(() => parseReference('-app'), { message: 'invalid reference format' });
  assert.throws(() => parseReference('app_'), { message: 'invalid reference format' });
  assert.throws(() => parseReference('ho_st.io/app'), { message: 'invalid reference format' });
  assert.throws(() => parseReference('host:port/app'), { message: 'invalid reference format' });
  assert.throws(() => parseReference(HEX), /cannot specify 64-byte hexadecimal strings/);
  assert.throws(() => parseReference(`x/${'a'.repeat(260)}`), /must not be more than 255 characters/);
  // separators: one `.` or `_`, two `_`, any number of `-`
  assert.doesNotThrow(() => parseReference('a.b_c__d---e'));
  assert.throws(() => parseReference('a..b'), { message: 'invalid reference format' });
  assert.throws(() => parseReference('a___b'), { message: 'invalid reference format' });
});

test('tags are at most 128 characters', () => {
  const max = 'T' + 'a'.repeat(127);
  assert.equal(parseReference(`app:${max}`).tag, max);
  assert.throws(() => parseReference(`app:${max}x`), /tag must not be more than 128 characters/);
  assert.throws(() => parseReference('app:.x'), { message: 'invalid reference format' });
  assert.equal(parseReference('app:1.0-rc_1').tag, '1.0-rc_1');
});

test('short names have no registry component', () => {
  assert.equal(isShortName('alpine'), true);
  assert.equal(isShortName('alpine:3'), true);
  assert.equal(isShortName('user/app'), true);
  assert.equal(isShortName(`user/app@sha256:${HEX}`), true);
  assert.equal(isShortName('localhost/app'), false);
  assert.equal(isShortName('quay.io/app'), false);
  assert.equal(isShortName('host:5000/app'), false);
  assert.equal(isShortName('docker.io/alpine'), false);
});

test('formatting: full, familiar, default tag', () => {
  const hub = parseReference('alpine', { qualify: true });
  assert.equal(formatReference(withDefaultTag(hub)), 'docker.io/library/alpine:latest');
  assert.equal(familiarName(withDefaultTag(hub)), 'alpine:latest');
  assert.equal(familiarName(parseReference('user/app:1', { qualify: true })), 'user/app:1');
  assert.equal(familiarName(parseReference('docker.io/library/a/b')), 'library/a/b');
  assert.equal(familiarName(parseReference('quay.io/x/y:z')), 'quay.io/x/y:z');
  assert.equal(formatReference(parseReference(`localhost/app:t@sha256:${HEX}`)), `localhost/app:t@sha256:${HEX}`);
  assert.deepEqual(withDefaultTag(parseReference(`app@sha256:${HEX}`)), parseReference(`app@sha256:${HEX}`));
  assert.equal(repositoryName(hub), 'docker.io/library/alpine');
  assert.equal(manifestReference(parseReference(`a:t@sha256:${HEX}`)), `sha256:${HEX}`);
  assert.equal(manifestReference(parseReference('a')), 'latest');
});

test('qualifying a short name applies library/ on docker.io only', () => {
  const short = parseReference('alpine:3');
  assert.deepEqual(qualifyReference(short, 'docker.io'), { registry: 'docker.io', repository: 'library/alpine', tag: '3' });
  assert.deepEqual(qualifyReference(short, 'quay.io'), { registry: 'quay.io', repository: 'alpine', tag: '3' });
});
