import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { isMountPoint, mountPointsUnder, mountsAt, parseMountInfo, parseMountInfoLine, unescapeMountInfo } from '../../pkg/storage/mounts';

const SAMPLE = [
  '22 1 253:0 / / rw,relatime shared:1 - ext4 /dev/vda rw',
  '36 22 0:31 / /home/u/store/overlay/c1/merged rw,relatime - overlay overlay rw,lowerdir=l/AAA:l/BBB,upperdir=/home/u/store/overlay/c1/diff,workdir=/home/u/store/overlay/c1/work,userxattr',
  '37 36 0:32 / /home/u/store/overlay/c1/merged/proc rw,nosuid shared:5 master:2 - proc proc rw',
  '38 22 0:33 /sub /home/u/with\\040space rw - fuse.fuse-overlayfs fuse-overlayfs rw,user_id=0,group_id=0',
  '39 22 0:34 / /home/u/store/overlay/c1/merged rw - overlay overlay rw',
  '40 22 0:35 / /home/u/store-other rw - tmpfs tmpfs rw',
  '',
].join('\n');

test('a mountinfo line: optional fields end at the lone dash', () => {
  const entry = parseMountInfoLine('37 36 0:32 / /m/proc rw,nosuid shared:5 master:2 - proc proc rw,hidepid=2');
  assert.deepEqual(entry, {
    id: 37,
    parentId: 36,
    root: '/',
    mountPoint: '/m/proc',
    mountOptions: 'rw,nosuid',
    fsType: 'proc',
    source: 'proc',
    superOptions: 'rw,hidepid=2',
  });
});

test('a mountinfo line without optional fields', () => {
  assert.equal(parseMountInfoLine('40 22 0:35 / /t rw - tmpfs tmpfs rw')?.fsType, 'tmpfs');
});

test('malformed mountinfo lines are skipped, not guessed at', () => {
  assert.equal(parseMountInfoLine('garbage'), undefined);
  assert.equal(parseMountInfoLine('1 2 3:4 / /x rw shared:1 tmpfs tmpfs rw'), undefined);
  assert.equal(parseMountInfo('garbage\n\n40 22 0:35 / /t rw - tmpfs tmpfs rw\n').length, 1);
});

test('octal escapes in mount points are undone', () => {
  assert.equal(unescapeMountInfo('/a\\040b\\011c\\134d\\012'), '/a b\tc\\d\n');
  const entries = parseMountInfo(SAMPLE);
  assert.equal(entries[3].mountPoint, '/home/u/with space');
  assert.equal(entries[3].root, '/sub');
});

test('mounts stacked at one target are all found, in mount order', () => {
  const at = mountsAt('/home/u/store/overlay/c1/merged', parseMountInfo(SAMPLE));
  assert.deepEqual(at.map((m) => m.id), [36, 39]);
  assert.deepEqual(mountsAt('/home/u/store/overlay/c1', parseMountInfo(SAMPLE)), []);
});

test('mount points under a dir come deepest first, once each, and a sibling prefix is not "under"', () => {
  assert.deepEqual(mountPointsUnder('/home/u/store', parseMountInfo(SAMPLE)), [
    '/home/u/store/overlay/c1/merged/proc',
    '/home/u/store/overlay/c1/merged',
  ]);
});

test('isMountPoint without mountinfo: a mount, a plain directory, a missing path, a symlink to a mount', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tspod-mountpoint-'));
  try {
    assert.equal(isMountPoint('/proc'), true);
    assert.equal(isMountPoint(dir), false);
    assert.equal(isMountPoint(path.join(dir, 'missing')), false);
    fs.writeFileSync(path.join(dir, 'file'), '');
    assert.equal(isMountPoint(path.join(dir, 'file')), false);
    // A symlink's parent is not where it leads: mountinfo decides, from the resolved path.
    fs.symlinkSync('/proc', path.join(dir, 'link'));
    assert.equal(isMountPoint(path.join(dir, 'link')), true);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
