// --init as the unprivileged user: tspod-init is pid 1, reaps the orphans the command leaves
// (no zombies), forwards the stop signal so `stop` ends at once, and passes the exit status on.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { asRoot, resetUserState, tspod } from './harness';

function ok(args: string[]): string {
  const r = tspod(args, { timeoutMs: 120_000 });
  assert.equal(r.code, 0, `tspod ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** The states (ps STAT) of the children of the container's pid 1, seen from the host. */
function childStates(container: string): string[] {
  const pid = ok(['inspect', '--format', '{{.State.Pid}}', container]).trim();
  assert.match(pid, /^[1-9]\d*$/);
  const r = asRoot(['ps', '-o', 'stat=', '--ppid', pid]);
  return r.stdout.split('\n').map((s) => s.trim()).filter(Boolean);
}

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

describe('--init', () => {
  before(() => {
    resetUserState();
    ok(['pull', '-q', 'busybox']);
  });

  test('tspod-init is pid 1 and the command runs under it, with its exit code passed on', () => {
    assert.equal(ok(['run', '--rm', '--init', 'busybox', 'sh', '-c', 'cat /proc/1/cmdline | tr "\\0" " "; echo; echo $PPID']), '/run/tspod-init -- sh -c cat /proc/1/cmdline | tr "\\0" " "; echo; echo $PPID \n1\n');
    assert.equal(tspod(['run', '--rm', '--init', 'busybox', 'sh', '-c', 'exit 7']).code, 7);
    assert.equal(tspod(['run', '--rm', '--init', 'busybox', 'sh', '-c', 'kill -KILL $$']).code, 137);
    assert.equal(tspod(['run', '--rm', '--init', 'busybox', 'no-such-command']).code, 127);
    assert.equal(ok(['run', '--rm', '--init', 'busybox', 'stat', '-c', '%a', '/run/tspod-init']).trim().length > 0, true);
    assert.notEqual(tspod(['run', '--rm', '--init', 'busybox', 'sh', '-c', 'echo x > /run/tspod-init']).code, 0);
  });

  test('orphaned processes are reaped with --init and stay zombies without it', async () => {
    const script = '(sleep 0.2 &); exec sleep 1000';
    const plain = ok(['run', '-d', 'busybox', 'sh', '-c', script]).trim();
    const init = ok(['run', '-d', '--init', 'busybox', 'sh', '-c', script]).trim();
    await sleep(1500);
    // Without an init the orphan's parent is `sleep 1000`, which never waits for it.
    assert.ok(childStates(plain).some((s) => s.startsWith('Z')), 'expected a zombie without --init');
    // With it, pid 1's only child is the command.
    const states = childStates(init);
    assert.equal(states.length, 1, states.join(','));
    assert.ok(!states[0].startsWith('Z'));
    ok(['rm', '-f', plain, init]);
  });

  test('stop forwards SIGTERM to the command: it ends at once with 143, not after the timeout with 137', () => {
    const id = ok(['run', '-d', '--init', 'busybox', 'sleep', '1000']).trim();
    const started = Date.now();
    ok(['stop', '-t', '5', id]);
    assert.ok(Date.now() - started < 4000, `stop took ${Date.now() - started} ms`);
    assert.equal(ok(['inspect', '--format', '{{.State.ExitCode}}', id]), '143\n');
    ok(['rm', id]);
  });

  test('--init-path names another init binary; a missing one fails the start', () => {
    const missing = tspod(['run', '--rm', '--init', '--init-path', '/no/such/init', 'busybox', 'true']);
    assert.equal(missing.code, 125);
    assert.match(missing.stderr, /\/no\/such\/init/);
  });
});
