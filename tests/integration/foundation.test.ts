// The foundation as a user meets it: the CLI, info, unshare, the pause process, reset and
// migrate, run through the installed binary as the unprivileged test user (and as root).
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { asRoot, asUser, resetUserState, testEnv, tspod, tspodAsync, waitFor } from './harness';

function pausePid(): number | undefined {
  const file = path.join(testEnv.runtimeDir, 'tspod', 'pause.pid');
  return fs.existsSync(file) ? Number(fs.readFileSync(file, 'utf8').trim()) : undefined;
}

function processAlive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) [ZX] /.test(stat);
  } catch {
    return false;
  }
}

function infoJson(args: string[] = []): Record<string, any> {
  const r = tspod([...args, 'info', '--format', 'json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

describe('CLI', () => {
  test('--help lists commands and global options', () => {
    const r = tspod(['--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Usage: {2}tspod \[OPTIONS\] COMMAND/);
    for (const word of ['info', 'version', 'unshare', 'system', '--log-level', '--root', '--runroot', '--storage-driver', '--runtime']) {
      assert.ok(r.stdout.includes(word), `help mentions ${word}`);
    }
  });

  test('command help shows examples', () => {
    const r = tspod(['info', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /tspod info --format/);
  });

  test('version in its three forms', () => {
    const plain = tspod(['version']);
    assert.equal(plain.code, 0);
    assert.match(plain.stdout, /^Version: +\d+\.\d+\.\d+$/m);
    const flag = tspod(['--version']);
    assert.match(flag.stdout, /^tspod version \d+\.\d+\.\d+\n$/);
    const json = JSON.parse(tspod(['version', '--format', 'json']).stdout);
    assert.match(json.Client.Version, /^\d+\.\d+\.\d+$/);
    assert.equal(tspod(['version', '--format', '{{.Client.Os}}']).stdout, 'linux\n');
  });

  test('an unknown command is one line, exit 125, with a hint', () => {
    const r = tspod(['verison']);
    assert.equal(r.code, 125);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, "Error: unrecognized command 'tspod verison'; did you mean 'version'? See 'tspod --help'.\n");
  });

  test('a bad flag is one line, exit 125', () => {
    const r = tspod(['info', '--bogus']);
    assert.equal(r.code, 125);
    assert.equal(r.stderr, "Error: unknown flag: --bogus. See 'tspod info --help'.\n");
    const missing = tspod(['version', '--format']);
    assert.equal(missing.code, 125);
    assert.equal(missing.stderr.split('\n').length, 2, missing.stderr);
  });

  test('a bad template or log level is one line, exit 125, no stack trace', () => {
    const t = tspod(['info', '--format', '{{.Driver']);
    assert.equal(t.code, 125);
    assert.match(t.stderr, /^Error: template: /);
    assert.equal(t.stderr.trim().split('\n').length, 1, t.stderr);
    const l = tspod(['--log-level', 'loud', 'version']);
    assert.equal(l.code, 125);
    assert.match(l.stderr, /^Error: invalid log level "loud"/);
  });

  test('global flags work before and after the command', () => {
    const root = path.join(testEnv.home, 'alt-root');
    assert.equal(tspod(['--root', root, 'info', '--format', '{{.store.graphRoot}}']).stdout, `${root}\n`);
    assert.equal(tspod(['info', '--root', root, '--format', '{{.DockerRootDir}}']).stdout, `${root}\n`);
    assert.equal(tspod(['--storage-driver', 'vfs', 'info', '--format', '{{.Driver}}']).stdout, 'vfs\n');
    const bad = tspod(['--storage-driver', 'zfs-dream', 'info']);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /^Error: .*zfs-dream/);
  });
});

describe('info', () => {
  before(() => resetUserState());

  test('rootless: the full subuid mapping, user paths, a runtime and a driver', () => {
    const info = infoJson();
    assert.equal(info.host.security.rootless, true);
    assert.deepEqual(info.host.idMappings.uidmap, [
      { container_id: 0, host_id: testEnv.uid, size: 1 },
      { container_id: 1, host_id: testEnv.subuid.start, size: testEnv.subuid.count },
    ]);
    assert.deepEqual(info.host.idMappings.gidmap[1], { container_id: 1, host_id: testEnv.subgid.start, size: testEnv.subgid.count });
    assert.equal(info.store.graphRoot, path.join(testEnv.home, '.local/share/tspod'));
    assert.equal(info.store.runRoot, path.join(testEnv.runtimeDir, 'tspod'));
    // crun: the faster runtime, which works rootless here because tspod's namespace hides the
    // hybrid cgroup2 mount crun 1.8 refuses (root gets runc on this host: see 'as root' below).
    assert.equal(info.host.ociRuntime.name, 'crun');
    assert.match(info.host.ociRuntime.version, /crun version/);
    assert.equal(info.host.cgroupVersion, 'v1');
    assert.equal(info.Driver, 'overlay');
    assert.equal(info.CgroupVersion, '1');
    assert.match(info.OperatingSystem, /Debian/);
    assert.equal(info.LoggingDriver, 'k8s-file');
    assert.ok(info.host.slirp4netns.executable.endsWith('slirp4netns'));
    assert.ok(info.host.fuseOverlayfs.executable.endsWith('fuse-overlayfs'));
    assert.ok(info.registries.search.includes('docker.io'));
  });

  test('plain info is a readable report grep can search', () => {
    const r = tspod(['info']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^host:$/m);
    assert.match(r.stdout, /^ {2}graphDriverName: overlay$/m);
    assert.match(r.stdout, /^ +rootless: true$/m);
  });

  test('Docker-style templates', () => {
    const r = tspod(['info', '--format', '{{.Driver}}|{{.CgroupVersion}}|{{.ServerVersion}}|{{.Images}}|{{.LoggingDriver}}']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^overlay\|1\|\d+\.\d+\.\d+\|0\|k8s-file\n$/);
  });

  test('as root: system paths, no user namespace', () => {
    const r = asRoot([testEnv.bin, 'info', '--format', '{{.store.graphRoot}} {{.store.runRoot}} {{.host.security.rootless}} {{.host.idMappings.uidmap}} {{.host.ociRuntime.name}}']);
    assert.equal(r.code, 0, r.stderr);
    // runc: crun 1.8 refuses this host's hybrid cgroups, which root sees as they are.
    assert.equal(r.stdout, '/var/lib/tspod /run/tspod false <nil> runc\n');
  });

  test('50 concurrent info commands all succeed', async () => {
    const results = await Promise.all(Array.from({ length: 50 }, () => tspodAsync(['info', '--format', '{{.store.imageStore.number}}'])));
    for (const r of results) {
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, '0\n');
      assert.doesNotMatch(r.stderr, /locked/);
    }
  });
});

describe('user namespace', () => {
  before(() => resetUserState());

  test('tspod unshare shows the full subuid mapping and runs as root inside', () => {
    const r = tspod(['unshare', 'cat', '/proc/self/uid_map']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/).map(Number));
    assert.deepEqual(lines, [
      [0, testEnv.uid, 1],
      [1, testEnv.subuid.start, testEnv.subuid.count],
    ]);
    assert.equal(tspod(['unshare', 'id', '-u']).stdout, '0\n');
  });

  test('unshare passes the exit code through; 127 for a missing command', () => {
    assert.equal(tspod(['unshare', 'sh', '-c', 'exit 7']).code, 7);
    assert.equal(tspod(['unshare', 'no-such-command-here']).code, 127);
  });

  test('files created inside land on the subuid range on the host', () => {
    const dir = path.join(testEnv.home, 'owned');
    const r = tspod(['unshare', 'sh', '-c', `rm -rf ${dir} && mkdir ${dir} && touch ${dir}/f && chown 1000:1000 ${dir}/f`]);
    assert.equal(r.code, 0, r.stderr);
    const st = fs.statSync(path.join(dir, 'f'));
    assert.equal(st.uid, testEnv.subuid.start + 999);
    assert.equal(st.gid, testEnv.subgid.start + 999);
    assert.equal(tspod(['unshare', 'rm', '-rf', dir]).code, 0);
  });

  test('every command joins the same pause process', () => {
    tspod(['version']);
    const first = pausePid();
    assert.ok(first && processAlive(first));
    tspod(['info', '--format', '{{.Driver}}']);
    assert.equal(pausePid(), first);
  });

  test('a killed pause process is replaced by the next command', async () => {
    tspod(['version']);
    const old = pausePid() as number;
    process.kill(old, 'SIGKILL');
    await waitFor(() => !processAlive(old), 5000, 'the pause process to die');
    const r = tspod(['unshare', 'cat', '/proc/self/uid_map']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^\\s*1\\s+${testEnv.subuid.start}\\s+${testEnv.subuid.count}$`, 'm'));
    const fresh = pausePid() as number;
    assert.notEqual(fresh, old);
    assert.ok(processAlive(fresh));
  });

  test('an unwritable XDG_RUNTIME_DIR falls back with one warning, once', () => {
    resetUserState();
    const env = { XDG_RUNTIME_DIR: '/proc' };
    const first = tspod(['info', '--format', '{{.store.runRoot}}'], { env });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stderr, /XDG_RUNTIME_DIR "\/proc"/);
    assert.equal(first.stderr.trim().split('\n').length, 1, first.stderr);
    assert.doesNotMatch(first.stdout, /^\/proc/);
    const second = tspod(['version'], { env });
    assert.equal(second.code, 0);
    assert.equal(second.stderr, '');
    asUser(['sh', '-c', `pkill -KILL -u ${testEnv.uid} -x tspod-pause; true`]);
  });
});

describe('system reset and migrate', () => {
  before(() => resetUserState());

  test('system reset -f removes the store, the runtime state and the pause process', () => {
    assert.equal(tspod(['info', '--format', '{{.Driver}}']).code, 0);
    const graphRoot = path.join(testEnv.home, '.local/share/tspod');
    assert.ok(fs.existsSync(path.join(graphRoot, 'tspod.db')));
    const pid = pausePid() as number;
    const r = tspod(['system', 'reset', '-f']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!fs.existsSync(graphRoot), 'graph root removed');
    assert.ok(!fs.existsSync(path.join(testEnv.runtimeDir, 'tspod', 'pause.pid')), 'pause pid removed');
    assert.ok(!processAlive(pid), 'pause process ended');
  });

  test('system reset asks first and does nothing on "n"', () => {
    assert.equal(tspod(['info', '--format', '{{.Driver}}']).code, 0);
    const r = tspod(['system', 'reset'], { input: 'n\n' });
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Are you sure you want to continue\? \[y\/N\]/);
    assert.ok(fs.existsSync(path.join(testEnv.home, '.local/share/tspod', 'tspod.db')));
  });

  test('system migrate replaces the pause process', () => {
    tspod(['version']);
    const old = pausePid() as number;
    const r = tspod(['system', 'migrate']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!processAlive(old));
    assert.equal(tspod(['version']).code, 0);
    const fresh = pausePid() as number;
    assert.notEqual(fresh, old);
    assert.ok(processAlive(fresh));
  });
});
