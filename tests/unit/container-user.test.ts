import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InvalidArgumentError, NotFoundError } from '../../pkg/errors';
import {
  autoMappings,
  keepIdMappings,
  parseGroup,
  parsePasswd,
  readContainerFile,
  resolveContainerUser,
  resolveInRoot,
  resolveUser,
} from '../../pkg/runtime/container-user';

const PASSWD = parsePasswd('root:x:0:0:root:/root:/bin/sh\n# comment\nbroken line\ntester:x:1000:1000::/home/tester:/bin/sh\nnohome:x:1001:1001:::\nbad:x:abc:1\n');
const GROUP = parseGroup('root:x:0:\ntester:x:1000:\nextra:x:2000:tester\nwheel:x:10:root, tester\nother:x:3000:nohome\nbroken\n');

test('passwd and group parsing skips comments and broken lines', () => {
  assert.deepEqual(PASSWD.map((p) => p.name), ['root', 'tester', 'nohome']);
  assert.deepEqual(PASSWD[1], { name: 'tester', uid: 1000, gid: 1000, home: '/home/tester', shell: '/bin/sh' });
  assert.deepEqual(GROUP.map((g) => [g.name, g.gid, g.members]), [
    ['root', 0, []],
    ['tester', 1000, []],
    ['extra', 2000, ['tester']],
    ['wheel', 10, ['root', 'tester']],
    ['other', 3000, ['nohome']],
  ]);
});

test('no user: root, HOME from passwd, groups root is a member of', () => {
  assert.deepEqual(resolveUser(undefined, PASSWD, GROUP), { uid: 0, gid: 0, additionalGids: [0, 10], home: '/root', name: 'root' });
  assert.deepEqual(resolveUser('', PASSWD, GROUP), resolveUser('root', PASSWD, GROUP));
  assert.deepEqual(resolveUser(undefined, [], []), { uid: 0, gid: 0, additionalGids: [0], home: '/' });
});

test('-u by name or number finds the passwd entry and its groups from /etc/group', () => {
  const tester = { uid: 1000, gid: 1000, additionalGids: [1000, 2000, 10], home: '/home/tester', name: 'tester' };
  assert.deepEqual(resolveUser('tester', PASSWD, GROUP), tester);
  assert.deepEqual(resolveUser('1000', PASSWD, GROUP), tester);
  assert.equal(resolveUser('nohome', PASSWD, GROUP).home, '/');
});

test('an unknown numeric uid is fine: gid 0, HOME /', () => {
  assert.deepEqual(resolveUser('4242', PASSWD, GROUP), { uid: 4242, gid: 0, additionalGids: [0], home: '/' });
  assert.deepEqual(resolveUser('4242:4343', PASSWD, GROUP), { uid: 4242, gid: 4343, additionalGids: [4343], home: '/' });
});

test('an unknown name is an error like podman: exit 125', () => {
  assert.throws(
    () => resolveUser('nosuch', PASSWD, GROUP),
    (err: unknown) => err instanceof NotFoundError && err.exitCode === 125 && err.message === 'unable to find user nosuch: no matching entries in passwd file',
  );
  assert.throws(() => resolveUser('tester', [], []), /unable to find user tester: no matching entries in passwd file/);
  assert.throws(() => resolveUser('tester:nosuch', PASSWD, GROUP), /^NotFoundError: unable to find group nosuch: no matching entries in group file$/);
  assert.throws(() => resolveUser('99999999999', PASSWD, GROUP), InvalidArgumentError);
});

test('an explicit group replaces the passwd gid, and then /etc/group adds nothing', () => {
  assert.deepEqual(resolveUser('tester:extra', PASSWD, GROUP), { uid: 1000, gid: 2000, additionalGids: [2000], home: '/home/tester', name: 'tester' });
  assert.equal(resolveUser('tester:2000', PASSWD, GROUP).gid, 2000);
  assert.equal(resolveUser('tester:5555', PASSWD, GROUP).gid, 5555);
  assert.deepEqual(resolveUser(':extra', PASSWD, GROUP), { uid: 0, gid: 2000, additionalGids: [2000], home: '/root', name: 'root' });
});

test('--group-add takes names and numbers; unknown names and keep-groups are refused', () => {
  assert.deepEqual(resolveUser('tester', PASSWD, GROUP, ['other', '7777', 'extra']).additionalGids, [1000, 2000, 10, 3000, 7777]);
  assert.deepEqual(resolveUser('tester:extra', PASSWD, GROUP, ['root']).additionalGids, [2000, 0]);
  assert.throws(() => resolveUser('tester', PASSWD, GROUP, ['nosuch']), /unable to find group nosuch: no matching entries in group file/);
  assert.throws(() => resolveUser('tester', PASSWD, GROUP, ['keep-groups']), /keep-groups needs crun/);
});

// ---------------------------------------------------------------- reading the rootfs safely ----

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tspod-user-test-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function rootfs(name: string): string {
  const root = path.join(tmp, name);
  fs.mkdirSync(path.join(root, 'etc'), { recursive: true });
  return root;
}

test('resolveInRoot keeps symlinks and .. inside the rootfs', () => {
  const root = rootfs('resolve');
  fs.mkdirSync(path.join(root, 'usr/etc'), { recursive: true });
  fs.symlinkSync('/etc/shadow', path.join(root, 'etc/abs'));
  fs.symlinkSync('../../../../../../etc/shadow', path.join(root, 'etc/rel'));
  fs.symlinkSync('/usr/etc', path.join(root, 'conf'));
  fs.symlinkSync('loop2', path.join(root, 'loop1'));
  fs.symlinkSync('loop1', path.join(root, 'loop2'));
  assert.equal(resolveInRoot(root, '/etc/abs'), path.join(root, 'etc/shadow'));
  assert.equal(resolveInRoot(root, '/etc/rel'), path.join(root, 'etc/shadow'));
  assert.equal(resolveInRoot(root, '/../../etc/passwd'), path.join(root, 'etc/passwd'));
  assert.equal(resolveInRoot(root, '/conf/passwd'), path.join(root, 'usr/etc/passwd'));
  assert.equal(resolveInRoot(root, '/conf/../x'), path.join(root, 'usr/x'), '.. after a symlink goes up from its target');
  assert.equal(resolveInRoot(root, '/missing/dir/file'), path.join(root, 'missing/dir/file'));
  assert.throws(() => resolveInRoot(root, '/loop1'), /too many levels of symbolic links/);
});

test('a passwd symlinked to /etc/shadow reads the rootfs shadow, never the host one', () => {
  const root = rootfs('shadow');
  fs.writeFileSync(path.join(root, 'etc/shadow'), 'evil:x:4242:4242::/evil:/bin/sh\n');
  fs.symlinkSync('/etc/shadow', path.join(root, 'etc/passwd'));
  fs.symlinkSync('../../../../../../../../etc/hostname', path.join(root, 'etc/group'));
  const text = readContainerFile(root, '/etc/passwd');
  assert.equal(text, 'evil:x:4242:4242::/evil:/bin/sh\n');
  assert.equal(resolveContainerUser(root, 'evil').uid, 4242);
  assert.throws(() => resolveContainerUser(root, 'root'), NotFoundError, 'the host /etc/passwd was not read');
  assert.ok(fs.existsSync('/etc/hostname'));
  assert.equal(readContainerFile(root, '/etc/group'), undefined, 'the link leads to /etc/hostname of the rootfs, which has none');
  fs.symlinkSync('passwd2', path.join(root, 'etc/passwd1'));
  fs.symlinkSync('passwd1', path.join(root, 'etc/passwd2'));
  assert.equal(readContainerFile(root, '/etc/passwd1'), undefined, 'a symlink loop reads as absent');
});

test('a fifo, a directory or a missing file reads as absent; nothing blocks', () => {
  const root = rootfs('odd');
  execFileSync('mkfifo', [path.join(root, 'etc/passwd')]);
  fs.mkdirSync(path.join(root, 'etc/group'));
  assert.equal(readContainerFile(root, '/etc/passwd'), undefined);
  assert.equal(readContainerFile(root, '/etc/group'), undefined);
  assert.equal(readContainerFile(root, '/etc/nothing'), undefined);
  assert.equal(readContainerFile(root, '/etc/passwd/below'), undefined);
  assert.deepEqual(resolveContainerUser(root, '1000'), { uid: 1000, gid: 0, additionalGids: [0], home: '/' });
});

test('resolveContainerUser reads the busybox-like rootfs files', () => {
  const root = rootfs('busybox');
  fs.writeFileSync(path.join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\ntester:x:1000:1000::/home/tester:/bin/sh\n');
  fs.writeFileSync(path.join(root, 'etc/group'), 'root:x:0:\ntester:x:1000:\nextra:x:2000:tester\n');
  assert.deepEqual(resolveContainerUser(root, 'tester'), { uid: 1000, gid: 1000, additionalGids: [1000, 2000], home: '/home/tester', name: 'tester' });
  assert.deepEqual(resolveContainerUser(root, 'tester:extra', ['root']).additionalGids, [2000, 0]);
});

// ---------------------------------------------------------------- --userns mappings ------------

const OUTER = [
  { container_id: 0, host_id: 1001, size: 1 },
  { container_id: 1, host_id: 100000, size: 65536 },
];

test('keep-id: container U is outer 0, 0..U-1 are outer 1..U, U+1.. are outer U+1..', () => {
  assert.deepEqual(keepIdMappings(OUTER, 1001), [
    { containerID: 0, hostID: 1, size: 1001 },
    { containerID: 1001, hostID: 0, size: 1 },
    { containerID: 1002, hostID: 1002, size: 64535 },
  ]);
  // every outer id used once, 65537 in all
  const maps = keepIdMappings(OUTER, 1001);
  assert.equal(maps.reduce((n, m) => n + m.size, 0), 65537);
});

test('keep-id:uid=N puts the user at N; uid 0 gives the identity of the outer namespace', () => {
  assert.deepEqual(keepIdMappings(OUTER, 1001, 5), [
    { containerID: 0, hostID: 1, size: 5 },
    { containerID: 5, hostID: 0, size: 1 },
    { containerID: 6, hostID: 6, size: 65531 },
  ]);
  assert.deepEqual(keepIdMappings(OUTER, 1001, 0), [{ containerID: 0, hostID: 0, size: 65537 }]);
});

test('keep-id with several subordinate ranges, a user beyond them, and the single-id fallback', () => {
  const outer = [
    { container_id: 0, host_id: 1001, size: 1 },
    { container_id: 1, host_id: 100000, size: 10 },
    { container_id: 11, host_id: 300000, size: 10 },
  ];
  assert.deepEqual(keepIdMappings(outer, 1001, 15), [
    { containerID: 0, hostID: 1, size: 15 },
    { containerID: 15, hostID: 0, size: 1 },
    { containerID: 16, hostID: 16, size: 5 },
  ]);
  assert.deepEqual(keepIdMappings(outer, 1001), [
    { containerID: 0, hostID: 1, size: 20 },
    { containerID: 1001, hostID: 0, size: 1 },
  ]);
  assert.deepEqual(keepIdMappings([{ container_id: 0, host_id: 1001, size: 1 }], 1001), [{ containerID: 1001, hostID: 0, size: 1 }]);
  assert.throws(() => keepIdMappings(OUTER, 4242), /id 4242 is not mapped in tspod's user namespace/);
});

test('auto: container 0..size-1 from the subordinate ids, never the user itself', () => {
  assert.deepEqual(autoMappings(OUTER, 1001), [{ containerID: 0, hostID: 1, size: 65536 }]);
  assert.deepEqual(autoMappings(OUTER, 1001, 1000), [{ containerID: 0, hostID: 1, size: 1000 }]);
  assert.throws(() => autoMappings([{ container_id: 0, host_id: 1001, size: 1 }], 1001), /no subordinate ids/);
});
