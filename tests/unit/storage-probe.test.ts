import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HostError, InvalidArgumentError } from '../../pkg/errors';
import { PROBE_CACHE_FILE, cachedVerdict, makeProbeCache, probeDriver, requestedDriver } from '../../pkg/storage/driver-probe';

test('driver names: overlay2 is overlay, a mount_program makes overlay fuse-overlayfs', () => {
  assert.equal(requestedDriver(undefined), undefined);
  assert.equal(requestedDriver(''), undefined);
  assert.equal(requestedDriver('overlay'), 'overlay');
  assert.equal(requestedDriver('overlay2'), 'overlay');
  assert.equal(requestedDriver('overlay', '/usr/bin/fuse-overlayfs'), 'fuse-overlayfs');
  assert.equal(requestedDriver(undefined, '/usr/bin/fuse-overlayfs'), 'fuse-overlayfs');
  assert.equal(requestedDriver('vfs', '/usr/bin/fuse-overlayfs'), 'vfs');
  assert.equal(requestedDriver('fuse-overlayfs'), 'fuse-overlayfs');
});

test('an unknown driver name lists the valid ones', () => {
  assert.throws(() => requestedDriver('btrfs'), (err: Error) => {
    assert.ok(err instanceof InvalidArgumentError);
    assert.equal(err.message, 'unknown storage driver "btrfs": valid drivers are overlay, fuse-overlayfs, vfs');
    return true;
  });
});

test('a cached verdict counts for its kernel only', () => {
  const cache = makeProbeCache('6.1.0-18-amd64', { works: true }, new Date(0));
  assert.deepEqual(cache, { kernel: '6.1.0-18-amd64', overlay: { works: true }, probedAt: '1970-01-01T00:00:00.000Z' });
  assert.deepEqual(cachedVerdict(cache, '6.1.0-18-amd64'), { works: true });
  assert.equal(cachedVerdict(cache, '6.1.0-20-amd64'), undefined);
});

test('a failed verdict keeps its reason; malformed caches are ignored', () => {
  assert.deepEqual(cachedVerdict({ kernel: 'k', overlay: { works: false, reason: 'mount: EPERM' } }, 'k'), { works: false, reason: 'mount: EPERM' });
  for (const junk of [undefined, null, 42, 'x', {}, { kernel: 'k' }, { kernel: 'k', overlay: { works: 'yes' } }, { kernel: 'k', overlay: null }]) {
    assert.equal(cachedVerdict(junk, 'k'), undefined, JSON.stringify(junk));
  }
});

// probeDriver itself, where no mount happens: requested drivers judged from the cache or by
// cheap checks. The helper only has to exist for these paths.
let graphRoot = '';
const savedHelper = process.env.TSPOD_MOUNT_HELPER;

before(() => {
  graphRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'tspod-probe-test-'));
  process.env.TSPOD_MOUNT_HELPER = '/bin/true';
});

after(() => {
  fs.rmSync(graphRoot, { recursive: true, force: true });
  if (savedHelper === undefined) delete process.env.TSPOD_MOUNT_HELPER;
  else process.env.TSPOD_MOUNT_HELPER = savedHelper;
});

test('requested overlay that the cache says fails: one HostError line naming driver and reason', async () => {
  fs.writeFileSync(path.join(graphRoot, PROBE_CACHE_FILE), JSON.stringify(makeProbeCache(os.release(), { works: false, reason: 'cannot mount overlay at /x: mount /x: Operation not permitted' })));
  await assert.rejects(probeDriver({ graphRoot, requested: 'overlay' }), (err: Error) => {
    assert.ok(err instanceof HostError);
    assert.match(err.message, /^storage driver "overlay": cannot mount overlay at \/x: mount \/x: Operation not permitted \(verdict cached in .*driver-probe\.json\)$/);
    return true;
  });
});

test('requested overlay that the cache says works is taken without probing', async () => {
  fs.writeFileSync(path.join(graphRoot, PROBE_CACHE_FILE), JSON.stringify(makeProbeCache(os.release(), { works: true })));
  assert.deepEqual(await probeDriver({ graphRoot, requested: 'overlay2' }), { name: 'overlay' });
});

test('requested vfs needs no checks', async () => {
  assert.deepEqual(await probeDriver({ graphRoot, requested: 'vfs' }), { name: 'vfs' });
});

test('a mount_program that is not there fails as fuse-overlayfs', async () => {
  await assert.rejects(probeDriver({ graphRoot, requested: 'overlay', mountProgram: '/nonexistent/fuse-overlayfs' }), {
    name: 'HostError',
    message: 'storage driver "fuse-overlayfs": mount_program /nonexistent/fuse-overlayfs is not an executable',
  });
});

test('without the mount helper nothing can mount: say how to build it', async () => {
  process.env.TSPOD_MOUNT_HELPER = path.join(graphRoot, 'missing-helper');
  try {
    await assert.rejects(probeDriver({ graphRoot }), /missing-helper is missing: build it with "npm run build:native"/);
  } finally {
    process.env.TSPOD_MOUNT_HELPER = '/bin/true';
  }
});

// The test mount itself runs in the helper (probe-overlay); a stand-in helper plays its two
// ways of failing: a syscall that fails (exit 1), merged-view checks that fail (exit 3).
test('a probe whose helper fails gives the reason in one line, caches it and leaves no probe dir behind', async () => {
  const cases: [string, RegExp][] = [
    ['echo "mount $2/merged: Operation not permitted" >&2; exit 1', /^cannot mount kernel overlay: mount .*\/merged: Operation not permitted$/],
    ['echo "kernel overlay misbehaves: dir/gone shows through a whiteout" >&2; exit 3', /^kernel overlay misbehaves: dir\/gone shows through a whiteout$/],
  ];
  for (const [script, reason] of cases) {
    const root = fs.mkdtempSync(path.join(graphRoot, 'store-'));
    const helper = path.join(root, 'helper.sh');
    fs.writeFileSync(helper, `#!/bin/sh\n[ "$1" = probe-overlay ] || exit 9\n${script}\n`, { mode: 0o755 });
    process.env.TSPOD_MOUNT_HELPER = helper;
    try {
      await assert.rejects(probeDriver({ graphRoot: root, requested: 'overlay' }), (err: Error) => {
        assert.ok(err instanceof HostError);
        assert.match(err.message, /^storage driver "overlay": /);
        return true;
      });
      const cached = JSON.parse(fs.readFileSync(path.join(root, PROBE_CACHE_FILE), 'utf8'));
      assert.equal(cached.overlay.works, false);
      assert.match(cached.overlay.reason, reason);
      assert.deepEqual(fs.readdirSync(root).filter((n) => n.startsWith('.driver-probe-')), []);
    } finally {
      process.env.TSPOD_MOUNT_HELPER = '/bin/true';
    }
  }
});
