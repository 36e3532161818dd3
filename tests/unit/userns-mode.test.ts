import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allocateRange, autoSize, parseUsernsFlag } from '../../pkg/container/userns-mode';
import { autoMappings, subordinateCount } from '../../pkg/runtime/container-user';
import { fuseOverlayOptions } from '../../pkg/storage/fuse-overlay-driver';
import { InvalidArgumentError } from '../../pkg/errors';

test('--userns values', () => {
  assert.deepEqual(parseUsernsFlag(undefined), { mode: 'host' });
  assert.deepEqual(parseUsernsFlag('host'), { mode: 'host' });
  assert.deepEqual(parseUsernsFlag('keep-id'), { mode: 'keep-id', uid: undefined, gid: undefined });
  assert.deepEqual(parseUsernsFlag('keep-id:uid=1000,gid=100'), { mode: 'keep-id', uid: 1000, gid: 100 });
  assert.deepEqual(parseUsernsFlag('auto:size=2048'), { mode: 'auto', size: 2048 });
  assert.deepEqual(parseUsernsFlag('nomap'), { mode: 'nomap' });
  for (const bad of ['private2', 'keep-id:uid=-1', 'keep-id:uid', 'auto:size=0', 'auto:gid=1', 'nomap:size=1']) {
    assert.throws(() => parseUsernsFlag(bad), InvalidArgumentError, bad);
  }
});

test('auto size: the highest id of the image\'s passwd and group, at least 1024', () => {
  assert.equal(autoSize('root:x:0:0::/root:/bin/sh\n', ''), 1024);
  assert.equal(autoSize('root:x:0:0::/:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n', 'g:x:3000:\n'), 65535);
  assert.equal(autoSize('', 'big:x:5000:\n'), 5001);
});

test('ranges: the first gap that fits, or a clear error', () => {
  assert.equal(allocateRange([], 1000, 65536), 0);
  assert.equal(allocateRange([{ offset: 0, size: 2000 }], 1000, 65536), 2000);
  assert.equal(allocateRange([{ offset: 3000, size: 10 }, { offset: 0, size: 2000 }], 1000, 65536), 2000);
  assert.equal(allocateRange([{ offset: 0, size: 2000 }, { offset: 2500, size: 10 }], 1000, 65536), 2510);
  assert.throws(() => allocateRange([{ offset: 0, size: 65000 }], 1000, 65536), /not enough unused subordinate ids/);
});

test('auto mappings start at the reserved offset and skip the user\'s own id', () => {
  const outer = [{ container_id: 0, host_id: 1010, size: 1 }, { container_id: 1, host_id: 689824, size: 65536 }];
  assert.deepEqual(autoMappings(outer, 1010, 1000, 2000), [{ containerID: 0, hostID: 2001, size: 1000 }]);
  assert.deepEqual(autoMappings(outer, 1010, Infinity, 0), [{ containerID: 0, hostID: 1, size: 65536 }]);
  assert.equal(subordinateCount(outer, 1010), 65536);
});

test('fuse-overlayfs gets the container\'s mappings as triples', () => {
  const ids = { uid: [{ containerID: 0, hostID: 1, size: 1010 }, { containerID: 1010, hostID: 0, size: 1 }], gid: [{ containerID: 0, hostID: 1, size: 65536 }] };
  assert.equal(fuseOverlayOptions(['/l'], '/u', '/w', ids), 'lowerdir=/l,upperdir=/u,workdir=/w,uidmapping=0:1:1010:1010:0:1,gidmapping=0:1:65536');
});
