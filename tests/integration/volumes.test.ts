// Volumes as the unprivileged user: volume create/ls/inspect/exists/rm/prune, the copy-up of
// the image's content into a new volume, anonymous volumes for an image's VOLUMEs, tmpfs
// volumes; then system df and system prune, and the resource flags rootless on cgroup v1.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { asRoot, asUser, image, resetUserState, testEnv, tspod } from './harness';

function ok(args: string[], opts: { input?: string } = {}): string {
  const r = tspod(args, { timeoutMs: 120_000, ...opts });
  assert.equal(r.code, 0, `tspod ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function volumeNames(...filters: string[]): string[] {
  return ok(['volume', 'ls', '-q', ...filters.flatMap((f) => ['--filter', f])]).split('\n').filter(Boolean);
}

describe('volume commands', () => {
  before(() => {
    resetUserState();
    ok(['pull', '-q', 'busybox']);
  });

  test('create, ls, inspect, exists and rm', () => {
    assert.equal(ok(['volume', 'create', '--label', 'app=web', 'v1']), 'v1\n');
    const dup = tspod(['volume', 'create', 'v1']);
    assert.equal(dup.code, 125);
    assert.match(dup.stderr, /already exists/);
    const anon = ok(['volume', 'create']).trim();
    assert.match(anon, /^[0-9a-f]{64}$/);
    assert.equal(tspod(['volume', 'create', '-d', 'nfs', 'x']).code, 125);
    assert.deepEqual(volumeNames().sort(), [anon, 'v1'].sort());
    assert.match(ok(['volume', 'ls']), /^DRIVER\s+VOLUME NAME\nlocal\s+/);
    assert.deepEqual(volumeNames('label=app=web'), ['v1']);
    assert.deepEqual(volumeNames('name=v1'), ['v1']);
    assert.equal(ok(['volume', 'ls', '--format', '{{.Name}} {{.Driver}}', '--filter', 'label=app']), 'v1 local\n');
    const [doc] = JSON.parse(ok(['volume', 'inspect', 'v1'])) as Record<string, unknown>[];
    assert.equal(doc.Name, 'v1');
    assert.equal(doc.Driver, 'local');
    assert.equal(doc.Scope, 'local');
    assert.deepEqual(doc.Labels, { app: 'web' });
    assert.deepEqual(doc.Options, {});
    assert.equal(doc.MountCount, 0);
    assert.match(doc.CreatedAt as string, /^\d{4}-\d\d-\d\dT/);
    assert.ok(fs.statSync(doc.Mountpoint as string).isDirectory());
    assert.equal(ok(['volume', 'inspect', '--format', '{{.Name}}', 'v1']), 'v1\n');
    const missing = tspod(['volume', 'inspect', 'v1', 'nope']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /nope/);
    assert.equal(tspod(['volume', 'exists', 'v1']).code, 0);
    assert.equal(tspod(['volume', 'exists', 'nope']).code, 1);
    assert.equal(ok(['volume', 'rm', 'v1', anon]), `v1\n${anon}\n`);
    assert.equal(tspod(['volume', 'rm', 'v1']).code, 1);
    assert.ok(!fs.existsSync(path.dirname(doc.Mountpoint as string)));
    assert.deepEqual(volumeNames(), []);
  });

  test("a new volume starts with the image's content at its path, owners and modes kept, once", () => {
    const etc = ok(['run', '--rm', '-v', 'etcvol:/etc', 'busybox', 'cat', '/etc/passwd']);
    assert.match(etc, /^tester:x:1000:1000:/m);
    assert.equal(ok(['run', '--rm', '-v', 'homevol:/home/tester', 'busybox', 'stat', '-c', '%u %g %a', '/home/tester']), '1000 1000 755\n');
    assert.equal(ok(['run', '--rm', '-v', 'tmpvol:/tmp', 'busybox', 'stat', '-c', '%a', '/tmp']), '1777\n');
    // A volume created ahead is seeded at its first mount too.
    ok(['volume', 'create', 'pre']);
    assert.equal(JSON.parse(ok(['volume', 'inspect', 'pre']))[0].NeedsCopyUp, true);
    assert.match(ok(['run', '--rm', '-v', 'pre:/etc', 'busybox', 'ls', '/etc']), /passwd/);
    assert.equal(JSON.parse(ok(['volume', 'inspect', 'pre']))[0].NeedsCopyUp, false);
    // Emptied, it stays empty; what a container writes stays.
    ok(['run', '--rm', '-v', 'pre:/etc', 'busybox', 'sh', '-c', 'rm -rf /etc/* 2>/dev/null; echo kept > /etc/mine']);
    assert.equal(ok(['run', '--rm', '-v', 'pre:/etc', 'busybox', 'ls', '/etc']).split('\n').filter((l) => !['hosts', 'hostname', 'resolv.conf', ''].includes(l)).join(','), 'mine');
    // A path the image lacks gives an empty volume.
    assert.equal(ok(['run', '--rm', '-v', 'emptyvol:/nothere', 'busybox', 'ls', '-A', '/nothere']), '');
    ok(['volume', 'rm', 'etcvol', 'homevol', 'tmpvol', 'pre', 'emptyvol']);
  });

  test("an image's VOLUME gets an anonymous volume unless something is mounted there", () => {
    ok(['run', '--name', 'volsrc', 'busybox', 'sh', '-c', 'mkdir /data && echo seed > /data/s']);
    ok(['commit', '-q', '-c', 'VOLUME /data', 'volsrc', 'localhost/withvolume']);
    ok(['rm', 'volsrc']);
    ok(['run', '--name', 'withvol', 'localhost/withvolume', 'sh', '-c', 'echo more >> /data/s']);
    const [anon] = volumeNames();
    assert.match(anon, /^[0-9a-f]{64}$/);
    assert.equal(ok(['inspect', '--format', '{{range .Mounts}}{{.Name}} {{.Destination}}{{end}}', 'withvol']), `${anon} /data\n`);
    const mountpoint = JSON.parse(ok(['volume', 'inspect', anon]))[0].Mountpoint as string;
    assert.equal(fs.readFileSync(path.join(mountpoint, 's'), 'utf8'), 'seed\nmore\n');
    // A named volume at that path replaces it.
    ok(['run', '--rm', '-v', 'mine:/data', 'localhost/withvolume', 'true']);
    assert.deepEqual(volumeNames().sort(), [anon, 'mine'].sort());
    ok(['rm', '-v', 'withvol']);
    assert.deepEqual(volumeNames(), ['mine']);
    ok(['volume', 'rm', 'mine']);
    ok(['rmi', 'localhost/withvolume']);
  });

  test('rm refuses a volume a container uses unless -f, which removes the container', () => {
    ok(['create', '--name', 'user1', '-v', 'busy:/data', 'busybox', 'true']);
    const refused = tspod(['volume', 'rm', 'busy']);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /being used/);
    assert.deepEqual(volumeNames('dangling=false'), ['busy']);
    assert.deepEqual(volumeNames('dangling=true'), []);
    assert.equal(ok(['volume', 'rm', '-f', 'busy']), 'busy\n');
    assert.equal(tspod(['container', 'exists', 'user1']).code, 1);
  });

  test('prune removes the volumes no container uses, after asking', () => {
    ok(['volume', 'create', 'unused']);
    ok(['create', '--name', 'keeper', '-v', 'used:/data', 'busybox', 'true']);
    const declined = tspod(['volume', 'prune'], { input: 'n\n' });
    assert.equal(declined.code, 0);
    assert.match(declined.stdout, /WARNING!/);
    assert.deepEqual(volumeNames().sort(), ['unused', 'used']);
    assert.match(ok(['volume', 'prune'], { input: 'y\n' }), /^unused$/m);
    assert.deepEqual(volumeNames(), ['used']);
    ok(['rm', 'keeper']);
    assert.equal(ok(['volume', 'prune', '-f']), 'used\n');
  });

  test('a tmpfs volume is a tmpfs in the container', () => {
    ok(['volume', 'create', '-o', 'type=tmpfs', '-o', 'device=tmpfs', '-o', 'o=size=2m', 'scratch']);
    assert.deepEqual(JSON.parse(ok(['volume', 'inspect', 'scratch']))[0].Options, { type: 'tmpfs', device: 'tmpfs', o: 'size=2m' });
    const mounts = ok(['run', '--rm', '-v', 'scratch:/scratch', 'busybox', 'grep', ' /scratch ', '/proc/mounts']);
    assert.match(mounts, /^tmpfs \/scratch tmpfs .*size=2048k/);
    assert.equal(tspod(['volume', 'create', '-o', 'bogus=1', 'bad']).code, 125);
    ok(['volume', 'rm', 'scratch']);
  });

  test('a bind volume is its device directory; o=uid=,gid= owns the volume root', () => {
    const dir = path.join(testEnv.home, 'bind-volume');
    asUser(['rm', '-rf', dir]);
    asUser(['mkdir', '-p', dir]);
    ok(['volume', 'create', '-o', 'type=none', '-o', 'o=bind', '-o', `device=${dir}`, 'bindvol']);
    ok(['run', '--rm', '-v', 'bindvol:/x', 'busybox', 'sh', '-c', 'echo hi > /x/f']);
    assert.equal(fs.readFileSync(path.join(dir, 'f'), 'utf8'), 'hi\n');
    assert.equal(tspod(['volume', 'create', '-o', 'type=none', '-o', 'device=/no/such/dir', 'badbind']).code, 125);
    ok(['volume', 'create', '-o', 'o=uid=1000,gid=1000', 'owned']);
    assert.equal(ok(['run', '--rm', '-v', 'owned:/x', 'busybox', 'stat', '-c', '%u %g', '/x']), '1000 1000\n');
    ok(['volume', 'rm', 'bindvol', 'owned']);
    assert.ok(fs.existsSync(path.join(dir, 'f')), 'removing the volume leaves its device alone');
  });
});

describe('system df and system prune', () => {
  before(() => {
    resetUserState();
    ok(['pull', '-q', 'busybox']);
  });

  test('df counts images, containers and volumes', () => {
    ok(['run', '--name', 'dfc', '-v', 'dfvol:/data', 'busybox', 'sh', '-c', 'head -c 100000 /dev/zero > /data/z; head -c 50000 /dev/zero > /big']);
    ok(['volume', 'create', 'dfunused']);
    const table = ok(['system', 'df']);
    const lines = table.trim().split('\n');
    assert.match(lines[0], /^TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE$/);
    // Other suites may share the user's store: exact counts only where they cannot interfere.
    assert.match(lines[1], /^Images\s+\d+\s+\d+\s+\S+B\s+\S+B \(\d+%\)$/);
    assert.match(lines[2], /^Containers\s+\d+\s+\d+\s+\S+B\s+\S+B \(\d+%\)$/);
    assert.match(lines[3], /^Local Volumes\s+2\s+1\s+100kB\s+0B \(0%\)$/);
    assert.match(ok(['system', 'df', '--format', '{{.Type}}:{{.Total}}:{{.Active}}']), /^Images:\d+:\d+\nContainers:\d+:\d+\nLocal Volumes:2:1\n$/);
    const verbose = ok(['system', 'df', '-v']);
    assert.match(verbose, /Images space usage:/);
    assert.match(verbose, /Containers space usage:[\s\S]*dfc/);
    assert.match(verbose, /Local Volumes space usage:[\s\S]*dfvol\s+1\s+100kB/);
  });

  test('prune removes stopped containers, dangling images and, with --volumes, unused volumes', () => {
    ok(['run', '--name', 'danglingsrc', 'busybox', 'touch', '/x']);
    const danglingId = ok(['commit', '-q', 'danglingsrc']).trim();
    ok(['rm', 'danglingsrc']);
    const running = ok(['run', '-d', '--name', 'stays', 'busybox', 'sleep', '1000']).trim();
    const declined = tspod(['system', 'prune'], { input: 'n\n' });
    assert.match(declined.stdout, /WARNING! This command removes:\n\t- all stopped containers\n\t- all dangling images/);
    assert.equal(tspod(['container', 'exists', 'dfc']).code, 0);
    const out = ok(['system', 'prune', '-f']);
    assert.match(out, /^Deleted Containers\n[0-9a-f]{64}\n/);
    assert.match(out, new RegExp(`Deleted Images\\n${danglingId.replace(/^sha256:/, '').slice(0, 12)}`));
    assert.match(out, /Total reclaimed space: \S+B\n$/);
    assert.equal(tspod(['container', 'exists', 'dfc']).code, 1);
    assert.equal(tspod(['container', 'exists', running]).code, 0);
    assert.deepEqual(volumeNames().sort(), ['dfunused', 'dfvol']);
    const withVolumes = ok(['system', 'prune', '-f', '--volumes']);
    assert.match(withVolumes, /Deleted Volumes\ndfunused\ndfvol\n/);
    assert.deepEqual(volumeNames(), []);
    ok(['rm', '-f', 'stays']);
    const busybox = ok(['images', '-q', 'busybox']).trim();
    assert.match(ok(['system', 'prune', '-a', '-f']), new RegExp(`Deleted Images\\n(.*\\n)*${busybox}`));
  });

  test('resource flags rootless on cgroup v1: one warning, the request kept for inspect', () => {
    const flags = ['-m', '64m', '--memory-swap', '128m', '--cpus', '1.5', '--cpu-shares', '512', '--pids-limit', '50'];
    ok(['create', '--name', 'limited', ...flags, 'busybox', 'true']);
    const r = tspod(['run', '--rm', ...flags, 'busybox', 'true'], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    const warnings = r.stderr.split('\n').filter((l) => l.includes('Resource limits are not supported'));
    assert.equal(warnings.length, 1, r.stderr);
    assert.match(warnings[0], /^WARN\[\d{4}\] Resource limits are not supported and ignored on cgroups V1 rootless systems$/);
    assert.equal(ok(['inspect', '--format', '{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}}', 'limited']), '67108864 1500000000\n');
    assert.equal(tspod(['run', '--rm', '-m', 'lots', 'busybox', 'true']).code, 125);
    assert.equal(tspod(['run', '--rm', '--memory-swap', '1g', 'busybox', 'true']).code, 125);
    ok(['rm', 'limited']);
  });
});

describe('resource flags as root', () => {
  const ref = image('busybox:latest').ref;
  const root = (args: string[]) => asRoot(['tspod', ...args], { timeoutMs: 120_000 });

  test('-m, --pids-limit, --cpus and --cpu-shares reach the cgroups, without a warning', () => {
    assert.equal(root(['pull', '-q', '--tls-verify=false', ref]).code, 0);
    const r = root(['run', '--rm', '-m', '64m', '--pids-limit', '50', '--cpus', '0.5', '--cpu-shares', '512', ref, 'cat',
      '/sys/fs/cgroup/memory/memory.limit_in_bytes', '/sys/fs/cgroup/pids/pids.max', '/sys/fs/cgroup/cpu/cpu.cfs_quota_us', '/sys/fs/cgroup/cpu/cpu.shares']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '67108864\n50\n50000\n512\n');
    assert.doesNotMatch(r.stderr, /Resource limits/);
  });
});
