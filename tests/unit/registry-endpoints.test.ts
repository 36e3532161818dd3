import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RegistriesConfig, RegistryEntry } from '../../pkg/config/registries-conf';
import { parseReference } from '../../pkg/image/reference';
import { BlockedRegistryError, hostEndpoint, isLoopbackHost, pullEndpoints, pushEndpoint } from '../../pkg/image/registry-endpoints';

const HEX = 'c'.repeat(64);

function entry(over: Partial<RegistryEntry> & { prefix: string }): RegistryEntry {
  return { location: over.prefix, insecure: false, blocked: false, mirrors: [], ...over };
}

function conf(registries: RegistryEntry[]): RegistriesConfig {
  return { unqualifiedSearch: [], shortNameMode: 'enforcing', registries, aliases: {}, files: ['/etc/containers/registries.conf'] };
}

const hub = parseReference('docker.io/library/alpine:latest');
const hubByDigest = parseReference(`docker.io/library/alpine@sha256:${HEX}`);

test('no entry: the origin alone, verified TLS', () => {
  assert.deepEqual(pullEndpoints(hub, conf([])), [{ host: 'docker.io', repository: 'library/alpine', insecure: false, allowHttp: false, isMirror: false }]);
});

test('mirrors come first, in order, then the origin', () => {
  const c = conf([
    entry({
      prefix: 'docker.io',
      mirrors: [
        { location: '127.0.0.1:5000', insecure: false, pullFromMirror: 'all' },
        { location: 'mirror.example.com/hub', insecure: true, pullFromMirror: 'all' },
      ],
    }),
  ]);
  assert.deepEqual(pullEndpoints(hub, c), [
    { host: '127.0.0.1:5000', repository: 'library/alpine', insecure: false, allowHttp: true, isMirror: true },
    { host: 'mirror.example.com', repository: 'hub/library/alpine', insecure: true, allowHttp: true, isMirror: true },
    { host: 'docker.io', repository: 'library/alpine', insecure: false, allowHttp: false, isMirror: false },
  ]);
});

test('pull-from-mirror: digest-only and tag-only', () => {
  const c = conf([
    entry({
      prefix: 'docker.io',
      mirrors: [
        { location: 'digests.example', insecure: false, pullFromMirror: 'digest-only' },
        { location: 'tags.example', insecure: false, pullFromMirror: 'tag-only' },
      ],
    }),
  ]);
  assert.deepEqual(pullEndpoints(hub, c).map((e) => e.host), ['tags.example', 'docker.io']);
  assert.deepEqual(pullEndpoints(hubByDigest, c).map((e) => e.host), ['digests.example', 'docker.io']);
});

test('location rewrites the origin, longest prefix first', () => {
  const c = conf([
    entry({ prefix: 'docker.io', location: '127.0.0.1:5000', insecure: true }),
    entry({ prefix: 'quay.io/team', location: 'internal.example/quay-team' }),
    entry({ prefix: 'quay.io', location: 'other.example' }),
  ]);
  assert.deepEqual(pullEndpoints(hub, c), [{ host: '127.0.0.1:5000', repository: 'library/alpine', insecure: true, allowHttp: true, isMirror: false }]);
  assert.deepEqual(pushEndpoint(parseReference('quay.io/team/app:1'), c), {
    host: 'internal.example',
    repository: 'quay-team/app',
    insecure: false,
    allowHttp: false,
    isMirror: false,
  });
  assert.equal(pushEndpoint(parseReference('quay.io/x:1'), c).host, 'other.example');
});

test('wildcard prefixes match subdomains and keep the host', () => {
  const c = conf([entry({ prefix: '*.corp.example', insecure: true, mirrors: [{ location: 'cache.example/corp', insecure: false, pullFromMirror: 'all' }] })]);
  const ref = parseReference('reg.corp.example/ns/app:1');
  assert.deepEqual(pullEndpoints(ref, c), [
    { host: 'cache.example', repository: 'corp/ns/app', insecure: false, allowHttp: false, isMirror: true },
    { host: 'reg.corp.example', repository: 'ns/app', insecure: true, allowHttp: true, isMirror: false },
  ]);
});

test('push goes to the origin, never a mirror', () => {
  const c = conf([entry({ prefix: 'docker.io', mirrors: [{ location: 'm.example', insecure: false, pullFromMirror: 'all' }] })]);
  assert.deepEqual(pushEndpoint(hub, c), { host: 'docker.io', repository: 'library/alpine', insecure: false, allowHttp: false, isMirror: false });
});

test('blocked registries fail clearly, mirrors or not', () => {
  const c = conf([entry({ prefix: 'docker.io', blocked: true, mirrors: [{ location: 'm.example', insecure: false, pullFromMirror: 'all' }] })]);
  assert.throws(() => pullEndpoints(hub, c), (err: unknown) => {
    assert.ok(err instanceof BlockedRegistryError);
    assert.match(err.message, /registry docker\.io is blocked in "\/etc\/containers\/registries\.conf"/);
    return true;
  });
  assert.throws(() => pushEndpoint(hub, c), BlockedRegistryError);
});

test('--tls-verify overrides registries.conf either way', () => {
  const c = conf([entry({ prefix: 'secure.example' }), entry({ prefix: 'lax.example', insecure: true })]);
  const all = pullEndpoints(parseReference('secure.example/a'), c, { tlsVerify: false });
  assert.deepEqual(all.map((e) => [e.insecure, e.allowHttp]), [[true, true]]);
  const forced = pushEndpoint(parseReference('lax.example/a'), c, { tlsVerify: true });
  assert.deepEqual([forced.insecure, forced.allowHttp], [false, false]);
  const loop = pushEndpoint(parseReference('localhost:5000/a'), c, { tlsVerify: true });
  assert.equal(loop.allowHttp, false);
});

test('loopback registries may fall back to http but keep TLS verification', () => {
  const e = pushEndpoint(parseReference('127.0.0.1:5000/a'), conf([]));
  assert.deepEqual([e.insecure, e.allowHttp], [false, true]);
  assert.equal(isLoopbackHost('localhost:5000'), true);
  assert.equal(isLoopbackHost('127.1.2.3'), true);
  assert.equal(isLoopbackHost('[::1]:5000'), true);
  assert.equal(isLoopbackHost('localhost.example.com'), false);
  assert.equal(isLoopbackHost('10.0.0.1:5000'), false);
});

test('hostEndpoint (login) honours insecure entries', () => {
  const c = conf([entry({ prefix: 'lax.example:5000', insecure: true })]);
  assert.deepEqual(hostEndpoint('lax.example:5000', c), { host: 'lax.example:5000', repository: '', insecure: true, allowHttp: true, isMirror: false });
});
