// Network helpers (slirp4netns, the port forwarder, a network's resolver) say they are ready,
// or why not, on fd 3; startHelper must read that line even when the helper exits right after.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startHelper } from '../../pkg/network/helper-process';

test('a line written on fd 3 just before the helper exits is read, every time', async () => {
  for (let i = 0; i < 100; i++) {
    const started = await startHelper('/bin/sh', ['-c', 'echo "error cannot bind 0.0.0.0:80: Address already in use" >&3; exit 1'], 'the port forwarder', { keepStdin: i % 2 === 0 });
    assert.match(started.ready, /^error cannot bind .*Address already in use/);
    started.endStdin?.();
  }
});

test('a helper that exits without a ready line fails with its last stderr line', async () => {
  for (const keepStdin of [false, true]) {
    await assert.rejects(startHelper('/bin/sh', ['-c', 'echo starting >&2; echo "no tap device" >&2; exit 3'], 'slirp4netns', { keepStdin }), {
      message: 'slirp4netns exited (3) before it was ready: no tap device',
    });
  }
});
