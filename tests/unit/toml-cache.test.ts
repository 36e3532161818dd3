import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TomlCache } from '../../pkg/config/toml-cache';
import { readTomlFile } from '../../pkg/config/toml-files';
import { loadEngineConfig } from '../../pkg/config/engine-config';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'tspod-toml-cache-'));
}

/** readTomlFile through a fresh cache object (as each command makes one), counting parses. */
function readCounting(cacheFile: string, file: string): { table: unknown; parsed: boolean } {
  const { raw, parsed } = readRaw(cacheFile, file);
  // Compared as data: the parser's tables (and the cache's) have no prototype.
  return { table: raw === undefined ? undefined : (JSON.parse(JSON.stringify(raw)) as unknown), parsed };
}

/** The same, with the table as the cache hands it out. */
function readRaw(cacheFile: string, file: string): { raw: unknown; parsed: boolean } {
  let parsed = false;
  const cache = new TomlCache(cacheFile);
  const raw = cache.table(file, () => {
    parsed = true;
    return readTomlFile(file);
  });
  cache.save();
  return { raw, parsed };
}

/** A config file NAME holding TEXT and a cache beside it, read once through the cache. */
function readOnce(name: string, text: string): { conf: string; cacheFile: string } {
  const dir = tempDir();
  const conf = path.join(dir, name);
  const cacheFile = path.join(dir, 'config-cache.json');
  fs.writeFileSync(conf, text);
  readCounting(cacheFile, conf);
  return { conf, cacheFile };
}

test('a config file is parsed once, then read from the cache while it is unchanged', () => {
  const dir = tempDir();
  const conf = path.join(dir, 'containers.conf');
  const cacheFile = path.join(dir, 'run', 'config-cache.json');
  fs.writeFileSync(conf, '[engine]\nruntime = "crun"\n');
  assert.deepEqual(readCounting(cacheFile, conf), { table: { engine: { runtime: 'crun' } }, parsed: true });
  assert.ok(fs.existsSync(cacheFile));
  assert.deepEqual(readCounting(cacheFile, conf), { table: { engine: { runtime: 'crun' } }, parsed: false });
  // As the parser makes them: a key named like an Object method is only a key.
  const cached = new TomlCache(cacheFile).table(conf, () => assert.fail('parsed again')) as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(cached), null);
  assert.equal(Object.getPrototypeOf(cached.engine), null);
});

test('an edited file (same size even) is parsed again; a removed one is no table', () => {
  const { conf, cacheFile } = readOnce('containers.conf', 'a = 1\n');
  fs.writeFileSync(conf, 'a = 2\n');
  assert.deepEqual(readCounting(cacheFile, conf), { table: { a: 2 }, parsed: true });
  // Replaced by another file (an editor's rename): another inode.
  fs.writeFileSync(`${conf}.new`, 'a = 3\n');
  fs.renameSync(`${conf}.new`, conf);
  assert.deepEqual(readCounting(cacheFile, conf), { table: { a: 3 }, parsed: true });
  fs.rmSync(conf);
  assert.deepEqual(readCounting(cacheFile, conf), { table: undefined, parsed: false });
});

test('tables JSON cannot hold (dates) are parsed every time, and right', () => {
  const { conf, cacheFile } = readOnce('dated.conf', 'when = 1979-05-27T07:32:00Z\n');
  const { raw, parsed } = readRaw(cacheFile, conf);
  const again = raw as { when: unknown };
  assert.equal(parsed, true);
  assert.ok(again.when instanceof Date);
});

test('a damaged cache, or one of another format, is parsed around', () => {
  const dir = tempDir();
  const conf = path.join(dir, 'containers.conf');
  const cacheFile = path.join(dir, 'config-cache.json');
  fs.writeFileSync(conf, 'a = 1\n');
  for (const damage of ['{not json', JSON.stringify({ version: 'other', tables: { [conf]: { key: 'x', table: { a: 9 } } } }), 'null']) {
    fs.writeFileSync(cacheFile, damage);
    assert.deepEqual(readCounting(cacheFile, conf), { table: { a: 1 }, parsed: true }, damage);
  }
  // An unwritable cache is only slower.
  const blocked = path.join(dir, 'file-not-dir');
  fs.writeFileSync(blocked, '');
  assert.deepEqual(readCounting(path.join(blocked, 'config-cache.json'), conf), { table: { a: 1 }, parsed: true });
});

test('a malformed file still fails with its one-line error, cache or not', () => {
  const dir = tempDir();
  const conf = path.join(dir, 'containers.conf');
  fs.writeFileSync(conf, '[engine\n');
  const cache = new TomlCache(path.join(dir, 'config-cache.json'));
  assert.throws(() => readTomlFile(conf, cache), /parsing .*containers.conf: .*fix the file or move it away/);
});

test('loadEngineConfig keeps the cache beside the default run root and reads the same settings from it', () => {
  const home = tempDir();
  const conf = path.join(home, 'containers.conf');
  fs.writeFileSync(conf, '[engine]\nruntime = "runc"\n[containers]\ndefault_ulimits = ["nofile=1024:2048"]\n');
  const env = {
    HOME: home,
    _TSPOD_ROOTLESS: '1',
    _TSPOD_HOST_UID: '1000',
    _TSPOD_HOST_GID: '1000',
    _TSPOD_RUNTIME_DIR: path.join(home, 'run'),
    CONTAINERS_CONF: conf,
    CONTAINERS_STORAGE_CONF: path.join(home, 'none-storage.conf'),
    CONTAINERS_REGISTRIES_CONF: path.join(home, 'none-registries.conf'),
  };
  const first = loadEngineConfig({ runroot: path.join(home, 'elsewhere') }, env);
  assert.ok(fs.existsSync(path.join(home, 'run', 'tspod', 'config-cache.json')));
  const second = loadEngineConfig({}, env);
  assert.equal(second.runtime, 'runc');
  assert.deepEqual(second.containers, first.containers);
});
