// --userns as the unprivileged user: keep-id (the user's own ids inside, files it writes to a bind
// mount are the user's on the host, the image's files keep their owners), auto (non-overlapping
// ranges of subordinate ids per container), nomap, and the failure paths.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { asRoot, asUser, image, resetUserState, testEnv, tspod } from './harness';

function ok(args: string[]): string {
  const r = tspod(args, { timeoutMs: 120_000 });
  assert.equal(r.code, 0, `tspod ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** A fresh directory of the test user's, with the given mode. */
function userDir(name: string, mode: string): string {
  const dir = path.join(testEnv.home, name);
  asUser(['rm', '-rf', dir]);
  assert.equal(asUser(['mkdir', '-m', mode, dir]).code, 0);
  return dir;
}

const IMAGE_OWNERS = /^-rw-r--r-- +1 1000 +1000 .* hello\.txt$/m;

describe('--userns=keep-id', () => {
  let data = '';
  before(() => {
    resetUserState();
    ok(['pull', '-q', 'busybox']);
    data = userDir('userns-data', '0755');
  });

  test("the user's ids inside; what it writes to a bind mount is the user's; the image's files keep their owners", () => {
    const out = ok(['run', '--rm', '--userns', 'keep-id', '-v', `${data}:/data`, 'busybox', 'sh', '-c',
      'id -u; id -g; touch /data/mine; ls -ln /home/tester; stat -c "%u %g" /bin/busybox']);
    const [uid, gid] = out.split('\n');
    assert.equal(uid, String(testEnv.uid));
    assert.equal(gid, String(testEnv.gid));
    assert.match(out, IMAGE_OWNERS);
    assert.match(out, /^0 0$/m, 'root-owned image files stay root-owned');
    const st = fs.statSync(path.join(data, 'mine'));
    assert.deepEqual([st.uid, st.gid], [testEnv.uid, testEnv.gid]);
  });

  test('the user has a name and a home inside, as Podman adds them; an image user keeps its own', () => {
    assert.equal(ok(['run', '--rm', '--userns', 'keep-id', 'busybox', 'sh', '-c', 'whoami; id -gn; echo $HOME']), `${testEnv.user}\n${testEnv.user}\n${testEnv.home}\n`);
    assert.equal(ok(['run', '--rm', '--userns', 'keep-id:uid=1000,gid=1000', 'busybox', 'sh', '-c', 'whoami; echo $HOME']), 'tester\n/home/tester\n');
  });

  test('uid= and gid= pick the ids the user appears as; -u 0 is the first subordinate id outside', () => {
    const out = ok(['run', '--rm', '--userns', 'keep-id:uid=1234,gid=1235', '-v', `${data}:/data`, 'busybox', 'sh', '-c', 'id -u; id -g; touch /data/as1234']);
    assert.equal(out, '1234\n1235\n');
    const st = fs.statSync(path.join(data, 'as1234'));
    assert.deepEqual([st.uid, st.gid], [testEnv.uid, testEnv.gid]);
    ok(['run', '--rm', '--userns', 'keep-id', '-u', '0', '-v', `${data}:/data`, 'busybox', 'touch', '/data/asroot']);
    assert.equal(fs.statSync(path.join(data, 'asroot')).uid, testEnv.subuid.start);
  });

  test('inspect shows the mode; a detached keep-id container runs and stops', () => {
    ok(['run', '-d', '--name', 'us-kid', '--userns', 'keep-id', 'busybox', 'sleep', '1000']);
    assert.equal(ok(['inspect', '--format', '{{.HostConfig.UsernsMode}}', 'us-kid']), 'keep-id\n');
    assert.equal(ok(['exec', 'us-kid', 'id', '-u']), `${testEnv.uid}\n`);
    ok(['rm', '-f', 'us-kid']);
  });
});

describe('--userns=auto and nomap', () => {
  let store = '';
  let data = '';
  const st = (args: string[]): string => ok(['--root', store, ...args]);
  before(() => {
    // runc mounts an auto container's files as its root, a subordinate id: the store must be
    // reachable by others (the user's ~/.local is not).
    store = path.join(userDir('userns-auto', '0711'), 'store');
    data = userDir('userns-auto-data', '0777');
    st(['pull', '-q', 'busybox']);
  });
  after(() => {
    tspod(['--root', store, 'rm', '-f', '-a']);
    tspod(['--root', store, 'system', 'reset', '-f']);
  });

  test('each container gets subordinate ids no other holds, and the image keeps its owners', () => {
    st(['run', '-d', '--name', 'au1', '--userns', 'auto:size=2000', '-v', `${data}:/d`, 'busybox', 'sh', '-c', 'touch /d/au1; sleep 1000']);
    st(['run', '-d', '--name', 'au2', '--userns', 'auto:size=1000', 'busybox', 'sleep', '1000']);
    const map = (name: string): number[] => st(['exec', name, 'cat', '/proc/self/uid_map']).trim().split(/\s+/).map(Number);
    const [c1, h1, n1] = map('au1');
    const [c2, h2, n2] = map('au2');
    assert.deepEqual([c1, n1, c2, n2], [0, 2000, 0, 1000]);
    assert.ok(h1 + n1 <= h2 || h2 + n2 <= h1, `ranges overlap: ${h1}+${n1}, ${h2}+${n2}`);
    assert.match(st(['exec', 'au1', 'ls', '-ln', '/home/tester']), IMAGE_OWNERS);
    // root of au1 is its range's first id: on the host, subuid start + (outer id - 1)
    assert.equal(fs.statSync(path.join(data, 'au1')).uid, testEnv.subuid.start + h1 - 1);
  });

  test('a range that does not fit fails; it fits again once a holder is removed', () => {
    const r = tspod(['--root', store, 'create', '--userns', `auto:size=${testEnv.subuid.count - 2500}`, 'busybox', 'true']);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /not enough unused subordinate ids/);
    st(['rm', '-f', 'au1', 'au2']);
    st(['create', '--name', 'au3', '--userns', `auto:size=${testEnv.subuid.count - 2500}`, 'busybox', 'true']);
    st(['rm', 'au3']);
  });

  test('nomap: every subordinate id but none of the user\'s', () => {
    assert.equal(st(['run', '--rm', '--userns', 'nomap', 'busybox', 'sh', '-c', 'id -u; cat /proc/self/uid_map']).replace(/ +/g, ' '), `0\n 0 1 ${testEnv.subuid.count}\n`);
  });

  test('a store the container cannot reach is reported with what to do', () => {
    const hidden = path.join(userDir('userns-hidden', '0700'), 'store');
    ok(['--root', hidden, 'pull', '-q', 'busybox']);
    const r = tspod(['--root', hidden, 'run', '--rm', '--userns', 'auto:size=1024', 'busybox', 'true']);
    assert.equal(r.code, 125);
    assert.match(r.stderr, new RegExp(`cannot pass through ${path.dirname(hidden)} .*chmod o\\+x`));
    assert.equal(tspod(['--root', hidden, 'ps', '-a', '--format', '{{.Status}}']).stdout, '', '--rm removed the container that could not start');
    tspod(['--root', hidden, 'system', 'reset', '-f']);
  });
});

describe('--userns failure paths', () => {
  test('bad modes and options are refused before anything is created', () => {
    for (const value of ['bogus', 'keep-id:uid=abc', 'keep-id:size=1', 'auto:size=0', 'auto:uid=1', 'nomap:x=1']) {
      const r = tspod(['run', '--rm', '--userns', value, 'busybox', 'true']);
      assert.equal(r.code, 125, `${value}: ${r.stderr}`);
      assert.match(r.stderr, /^Error: .*--userns/, value);
    }
  });

  test('root mode refuses keep-id, as Podman does', () => {
    const ref = image('busybox:latest').ref;
    assert.equal(asRoot(['tspod', 'pull', '-q', '--tls-verify=false', ref], { timeoutMs: 120_000 }).code, 0);
    const r = asRoot(['tspod', 'run', '--rm', '--userns', 'keep-id', ref, 'true']);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /only supported in rootless mode/);
  });
});
