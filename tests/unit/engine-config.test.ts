import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadEngineConfig } from '../../pkg/config/engine-config';
import { blankCommentLines } from '../../pkg/config/toml-files';
import { findRegistry, parseRegistriesConfig } from '../../pkg/config/registries-conf';
import { mergeTables } from '../../pkg/config/toml-files';
import { InvalidArgumentError } from '../../pkg/errors';

function tempHome(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'tspod-cfg-'));
}

function rootlessEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    HOME: home,
    _TSPOD_ROOTLESS: '1',
    _TSPOD_HOST_UID: '1000',
    _TSPOD_HOST_GID: '1000',
    _TSPOD_RUNTIME_DIR: path.join(home, 'run'),
    CONTAINERS_CONF: path.join(home, 'none.conf'),
    CONTAINERS_STORAGE_CONF: path.join(home, 'none-storage.conf'),
    CONTAINERS_REGISTRIES_CONF: path.join(home, 'none-registries.conf'),
    ...extra,
  };
}

test('rootless defaults live under XDG data home and the runtime dir', () => {
  const home = tempHome();
  const cfg = loadEngineConfig({}, rootlessEnv(home));
  assert.equal(cfg.host.rootless, true);
  assert.equal(cfg.graphRoot, path.join(home, '.local/share/tspod'));
  assert.equal(cfg.runRoot, path.join(home, 'run/tspod'));
  assert.equal(cfg.databasePath, path.join(home, '.local/share/tspod/tspod.db'));
  const xdg = loadEngineConfig({}, rootlessEnv(home, { XDG_DATA_HOME: path.join(home, 'data') }));
  assert.equal(xdg.graphRoot, path.join(home, 'data/tspod'));
});

test('root uses system paths', () => {
  const cfg = loadEngineConfig({}, { _TSPOD_ROOTLESS: '0', CONTAINERS_CONF: '/nonexistent', CONTAINERS_REGISTRIES_CONF: '/nonexistent' });
  assert.equal(cfg.graphRoot, '/var/lib/tspod');
  assert.equal(cfg.runRoot, '/run/tspod');
});

test('global flags win over the files', () => {
  const home = tempHome();
  fs.writeFileSync(path.join(home, 'storage.conf'), '[storage]\ndriver = "vfs"\n[tspod]\ngraphroot = "/srv/from-file"\n');
  const env = rootlessEnv(home, { CONTAINERS_STORAGE_CONF: path.join(home, 'storage.conf') });
  const fromFile = loadEngineConfig({}, env);
  assert.equal(fromFile.storageDriver, 'vfs');
  assert.equal(fromFile.graphRoot, '/srv/from-file');
  const flags = loadEngineConfig({ root: '/srv/flag', storageDriver: 'overlay', runtime: 'crun' }, env);
  assert.equal(flags.graphRoot, '/srv/flag');
  assert.equal(flags.storageDriver, 'overlay');
  assert.equal(flags.runtime, 'crun');
});

test('the user containers.conf is merged over the system one, key by key', () => {
  const home = tempHome();
  const user = path.join(home, '.config/containers');
  fs.mkdirSync(user, { recursive: true });
  fs.writeFileSync(path.join(user, 'containers.conf'), '[containers]\nlog_driver = "json-file"\n');
  const env = rootlessEnv(home);
  delete env.CONTAINERS_CONF;
  const cfg = loadEngineConfig({}, env);
  assert.equal(cfg.containers.logDriver, 'json-file');
  assert.ok(cfg.containers.files.includes(path.join(user, 'containers.conf')));
});

test('a malformed config file is one clear error naming the file', () => {
  const home = tempHome();
  const bad = path.join(home, 'bad.conf');
  fs.writeFileSync(bad, '[engine\nruntime = ');
  assert.throws(() => loadEngineConfig({}, rootlessEnv(home, { CONTAINERS_CONF: bad })), (err: unknown) => {
    assert.ok(err instanceof InvalidArgumentError);
    assert.match(err.message, /^parsing .*bad\.conf: /);
    assert.ok(!err.message.includes('\n'));
    return true;
  });
});

test('registries.conf v2: search list, mirrors, rewrites, blocked, longest prefix wins', () => {
  const conf = parseRegistriesConfig(
    {
      'unqualified-search-registries': ['docker.io', 'quay.io'],
      registry: [
        { prefix: 'docker.io', location: 'docker.io', mirror: [{ location: '127.0.0.1:5000', insecure: true }] },
        { prefix: 'docker.io/evil', location: 'docker.io/evil', blocked: true },
        { prefix: '*.example.com', location: 'mirror.example.net' },
      ],
      aliases: { myapp: 'quay.io/me/app' },
    },
    ['/x/registries.conf'],
  );
  assert.deepEqual(conf.unqualifiedSearch, ['docker.io', 'quay.io']);
  assert.equal(findRegistry(conf, 'docker.io/library/alpine')?.mirrors[0].location, '127.0.0.1:5000');
  assert.equal(findRegistry(conf, 'docker.io/evil/app')?.blocked, true);
  assert.equal(findRegistry(conf, 'reg.example.com/app')?.location, 'mirror.example.net');
  assert.equal(findRegistry(conf, 'ghcr.io/x'), undefined);
  assert.equal(conf.aliases.myapp, 'quay.io/me/app');
});

test('registries.conf v1 tables are understood', () => {
  const conf = parseRegistriesConfig({ registries: { search: { registries: ['docker.io'] }, insecure: { registries: ['10.0.0.1:5000'] } } }, ['f']);
  assert.deepEqual(conf.unqualifiedSearch, ['docker.io']);
  assert.equal(findRegistry(conf, '10.0.0.1:5000/app')?.insecure, true);
});

test('mergeTables merges nested tables and replaces scalars and arrays', () => {
  assert.deepEqual(mergeTables({ a: { x: 1, y: [1] }, b: 1 }, { a: { y: [2] }, c: 3 }), { a: { x: 1, y: [2] }, b: 1, c: 3 });
});

test('with no search list in any file short names go to docker.io, as in Docker; a set list is obeyed', () => {
  assert.deepEqual(parseRegistriesConfig({}, []).unqualifiedSearch, ['docker.io']);
  assert.deepEqual(parseRegistriesConfig({ 'unqualified-search-registries': [] }, ['f']).unqualifiedSearch, []);
});

test('whole-line comments are blanked before parsing, line by line; multi-line strings are left whole', () => {
  assert.equal(blankCommentLines('# top\n[a]\n  # indented\nb = "#not a comment" # trailing\n'), '\n[a]\n\nb = "#not a comment" # trailing\n');
  const multi = 'a = """\n# text, not a comment\n"""\n';
  assert.equal(blankCommentLines(multi), multi);
});
