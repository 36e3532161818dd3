import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HostError, NotFoundError } from '../../pkg/errors';
import {
  AuthStoreOptions,
  authFiles,
  getLogin,
  lookupCredentials,
  normaliseAuthKey,
  removeCredentials,
  storeCredentials,
  writableAuthFile,
} from '../../pkg/image/auth-store';

const b64 = (s: string) => Buffer.from(s).toString('base64');

interface Sandbox {
  home: string;
  runtime: string;
  bin: string;
  helperDb: string;
  opts: AuthStoreOptions;
  write(rel: string, doc: unknown): string;
}

/** A fake `docker-credential-test` that keeps its secrets in a JSON file. */
const HELPER = `#!${process.execPath}
const fs = require('fs');
const db = process.env.FAKE_HELPER_DB;
const load = () => { try { return JSON.parse(fs.readFileSync(db, 'utf8')); } catch { return {}; } };
let input = '';
process.stdin.on('data', (d) => (input += d)).on('end', () => {
  const all = load();
  const verb = process.argv[2];
  fs.appendFileSync(db + '.log', verb + ' ' + input.trim() + '\\n');
  if (verb === 'get') {
    const e = all[input.trim()];
    if (!e) { process.stdout.write('credentials not found in native keychain\\n'); process.exit(1); }
    process.stdout.write(JSON.stringify({ ServerURL: input.trim(), Username: e.Username, Secret: e.Secret }));
  } else if (verb === 'store') {
    const doc = JSON.parse(input);
    all[doc.ServerURL] = { Username: doc.Username, Secret: doc.Secret };
    fs.writeFileSync(db, JSON.stringify(all));
  } else if (verb === 'erase') {
    if (!all[input.trim()]) { process.stdout.write('credentials not found in native keychain\\n'); process.exit(1); }
    delete all[input.trim()];
    fs.writeFileSync(db, JSON.stringify(all));
  } else process.exit(2);
});
`;

function sandbox(extraEnv: Record<string, string> = {}): Sandbox {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'tspod-auth-'));
  const runtime = path.join(home, 'run');
  fs.mkdirSync(runtime, { mode: 0o700 });
  const bin = path.join(home, 'bin');
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, 'docker-credential-test'), HELPER, { mode: 0o755 });
  const helperDb = path.join(home, 'helper.json');
  const env: NodeJS.ProcessEnv = { HOME: home, XDG_RUNTIME_DIR: runtime, PATH: `${bin}:/usr/bin:/bin`, FAKE_HELPER_DB: helperDb, ...extraEnv };
  return {
    home,
    runtime,
    bin,
    helperDb,
    opts: { env },
    write(rel, doc) {
      const file = path.join(home, rel);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, typeof doc === 'string' ? doc : JSON.stringify(doc));
      return file;
    },
  };
}

test('files are read in Podman order', async () => {
  const s = sandbox();
  assert.deepEqual(
    authFiles(s.opts).map((f) => path.relative(s.home, f.path)),
    ['run/containers/auth.json', '.config/containers/auth.json', '.docker/config.json', '.dockercfg'],
  );
  s.write('.dockercfg', { 'https://r.example/v1/': { auth: b64('legacy:1') } });
  assert.equal((await lookupCredentials('r.example', s.opts))?.username, 'legacy');
  s.write('.docker/config.json', { auths: { 'r.example': { auth: b64('docker:2') } } });
  assert.equal((await lookupCredentials('r.example', s.opts))?.username, 'docker');
  s.write('.config/containers/auth.json', { auths: { 'r.example': { auth: b64('xdg:3') } } });
  assert.equal((await lookupCredentials('r.example', s.opts))?.username, 'xdg');
  s.write('run/containers/auth.json', { auths: { 'r.example': { auth: b64('runtime:4:with:colons') } } });
  assert.deepEqual(await lookupCredentials('r.example', s.opts), { username: 'runtime', password: '4:with:colons' });
  assert.equal(await lookupCredentials('other.example', s.opts), undefined);
});

test('DOCKER_CONFIG and XDG_CONFIG_HOME move their files', () => {
  const s = sandbox({ DOCKER_CONFIG: '/d', XDG_CONFIG_HOME: '/x' });
  const files = authFiles(s.opts).map((f) => f.path);
  assert.ok(files.includes('/d/config.json'));
  assert.ok(files.includes('/x/containers/auth.json'));
});

test('an explicit auth file replaces the search', async () => {
  const s = sandbox();
  s.write('.docker/config.json', { auths: { 'r.example': { auth: b64('docker:2') } } });
  const explicit = s.write('mine.json', { auths: {} });
  assert.deepEqual(authFiles({ ...s.opts, authFile: explicit }), [{ path: explicit, legacy: false }]);
  assert.equal(await lookupCredentials('r.example', { ...s.opts, authFile: explicit }), undefined);
  const viaEnv: AuthStoreOptions = { env: { ...s.opts.env, REGISTRY_AUTH_FILE: explicit } };
  assert.equal(writableAuthFile(viaEnv), explicit);
  assert.equal(await lookupCredentials('r.example', viaEnv), undefined);
});

test('Docker Hub keys in all their spellings', async () => {
  const s = sandbox();
  s.write('.docker/config.json', { auths: { 'https://index.docker.io/v1/': { auth: b64('hubuser:pw') } } });
  assert.equal((await lookupCredentials('docker.io', s.opts))?.username, 'hubuser');
  assert.equal((await lookupCredentials('docker.io/library/alpine', s.opts))?.username, 'hubuser');
  assert.equal(normaliseAuthKey('registry-1.docker.io'), 'docker.io');
  assert.equal(normaliseAuthKey('http://r.example:5000/v2/'), 'r.example:5000');
  assert.equal(normaliseAuthKey('r.example/ns'), 'r.example/ns');
});

test('host/namespace keys match longest first', async () => {
  const s = sandbox();
  s.write('run/containers/auth.json', {
    auths: {
      'r.example': { auth: b64('host:1') },
      'r.example/team': { auth: b64('team:2') },
      'r.example/team/app': { auth: b64('app:3') },
    },
  });
  assert.equal((await lookupCredentials('r.example/team/app', s.opts))?.username, 'app');
  assert.equal((await lookupCredentials('r.example/team/other', s.opts))?.username, 'team');
  assert.equal((await lookupCredentials('r.example/elsewhere/x', s.opts))?.username, 'host');
  assert.equal((await lookupCredentials('r.example', s.opts))?.username, 'host');
});

test('identity tokens are returned for the OAuth2 flow', async () => {
  const s = sandbox();
  s.write('.docker/config.json', { auths: { 'r.example': { auth: b64('u:'), identitytoken: 'refresh-me' } } });
  assert.deepEqual(await lookupCredentials('r.example', s.opts), { username: 'u', password: '', identityToken: 'refresh-me' });
});

test('credHelpers and credsStore call docker-credential-NAME', async () => {
  const s = sandbox();
  fs.writeFileSync(
    s.helperDb,
    JSON.stringify({
      'r.example': { Username: 'helped', Secret: 's3cret' },
      'https://index.docker.io/v1/': { Username: '<token>', Secret: 'idtoken' },
    }),
  );
  s.write('.docker/config.json', { credHelpers: { 'r.example': 'test' }, credsStore: 'test', auths: { 'plain.example': { auth: b64('p:q') } } });
  assert.deepEqual(await lookupCredentials('r.example/app', s.opts), { username: 'helped', password: 's3cret' });
  assert.deepEqual(await lookupCredentials('docker.io', s.opts), { username: '', password: '', identityToken: 'idtoken' });
  // credsStore knows nothing about plain.example: the auths entry is used.
  assert.equal((await lookupCredentials('plain.example', s.opts))?.username, 'p');
  const log = fs.readFileSync(s.helperDb + '.log', 'utf8');
  assert.match(log, /^get r\.example$/m);
  assert.match(log, /^get https:\/\/index\.docker\.io\/v1\/$/m);
});

test('a missing credsStore helper is a warning, a missing credHelper an error', async () => {
  const s = sandbox();
  s.write('.docker/config.json', { credsStore: 'desktop', auths: { 'r.example': { auth: b64('u:p') } } });
  assert.equal((await lookupCredentials('r.example', s.opts))?.username, 'u');
  s.write('.docker/config.json', { credHelpers: { 'r.example': 'absent' } });
  await assert.rejects(lookupCredentials('r.example', s.opts), (err: unknown) => err instanceof HostError && /docker-credential-absent/.test(err.message));
});

test('login writes the runtime auth.json atomically with private modes', async () => {
  const s = sandbox();
  fs.rmSync(s.runtime, { recursive: true });
  fs.mkdirSync(s.runtime, { mode: 0o700 });
  const file = await storeCredentials('127.0.0.1:5000', 'alice', 'pw', s.opts);
  assert.equal(file, path.join(s.runtime, 'containers', 'auth.json'));
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.equal(fs.statSync(path.dirname(file)).mode & 0o777, 0o700);
  assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), { auths: { '127.0.0.1:5000': { auth: b64('alice:pw') } } });
  await storeCredentials('docker.io', 'bob', 'pw2', s.opts);
  await storeCredentials('127.0.0.1:5000', 'alice', 'new', s.opts);
  const doc = JSON.parse(fs.readFileSync(file, 'utf8')) as { auths: Record<string, unknown> };
  assert.deepEqual(Object.keys(doc.auths).sort(), ['127.0.0.1:5000', 'docker.io']);
  assert.deepEqual(await lookupCredentials('127.0.0.1:5000', s.opts), { username: 'alice', password: 'new' });
  assert.equal(await getLogin('docker.io', s.opts), 'bob');
  assert.deepEqual(fs.readdirSync(path.dirname(file)), ['auth.json'], 'no temporary files left behind');
  await assert.rejects(getLogin('nobody.example', s.opts), (err: unknown) => err instanceof NotFoundError && err.message === 'not logged into nobody.example');
});

test('login keeps unrelated keys and uses --authfile', async () => {
  const s = sandbox();
  const file = s.write('custom/auth.json', { auths: { 'keep.example': { auth: b64('k:k') } }, other: 1 });
  await storeCredentials('https://new.example', 'n', 'm', { ...s.opts, authFile: file });
  const doc = JSON.parse(fs.readFileSync(file, 'utf8'));
  assert.equal(doc.other, 1);
  assert.deepEqual(Object.keys(doc.auths).sort(), ['keep.example', 'new.example']);
  await assert.rejects(storeCredentials('r.example/app:tag', 'u', 'p', s.opts), /invalid registry/);
});

test('login stores through a configured credHelper', async () => {
  const s = sandbox();
  s.write('run/containers/auth.json', { credHelpers: { 'r.example': 'test' } });
  assert.equal(await storeCredentials('r.example', 'hu', 'hp', s.opts), 'docker-credential-test');
  assert.deepEqual(JSON.parse(fs.readFileSync(s.helperDb, 'utf8')), { 'r.example': { Username: 'hu', Secret: 'hp' } });
  assert.deepEqual(await lookupCredentials('r.example', s.opts), { username: 'hu', password: 'hp' });
  assert.deepEqual(await removeCredentials('r.example', s.opts), { removed: true, file: writableAuthFile(s.opts) });
  assert.deepEqual(JSON.parse(fs.readFileSync(s.helperDb, 'utf8')), {});
});

test('logout removes one host, or all with --all', async () => {
  const s = sandbox();
  await storeCredentials('a.example', 'a', 'a', s.opts);
  await storeCredentials('b.example', 'b', 'b', s.opts);
  const file = writableAuthFile(s.opts);
  assert.deepEqual(await removeCredentials('a.example', s.opts), { removed: true, file });
  assert.equal(await lookupCredentials('a.example', s.opts), undefined);
  assert.equal((await lookupCredentials('b.example', s.opts))?.username, 'b');
  assert.deepEqual(await removeCredentials('a.example', s.opts), { removed: false, file });
  await removeCredentials(undefined, s.opts);
  assert.equal(await lookupCredentials('b.example', s.opts), undefined);
  assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), { auths: {} });
});

test('logout reports credentials that another tool wrote', async () => {
  const s = sandbox();
  const docker = s.write('.docker/config.json', { auths: { 'https://index.docker.io/v1/': { auth: b64('d:d') } } });
  assert.deepEqual(await removeCredentials('docker.io', s.opts), { removed: false, file: writableAuthFile(s.opts), elsewhere: docker });
  assert.equal((await lookupCredentials('docker.io', s.opts))?.username, 'd', 'docker login credentials are not touched');
});

test('a corrupt auth file is reported, not overwritten', async () => {
  const s = sandbox();
  const file = s.write('run/containers/auth.json', '{ not json');
  await assert.rejects(lookupCredentials('r.example', s.opts), /invalid JSON/);
  await assert.rejects(storeCredentials('r.example', 'u', 'p', s.opts), /invalid JSON/);
  assert.equal(fs.readFileSync(file, 'utf8'), '{ not json');
});
