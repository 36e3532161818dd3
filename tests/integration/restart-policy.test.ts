// Restart policies without a daemon, as the unprivileged user: the monitor's exit hook restarts
// containers per --restart, stop/kill/rm by the user win over the policy, and the boot-time
// command of contrib/systemd/user/tspod-restart.service brings back the right containers after
// a simulated reboot. Containers carry a label and an `rp-` name prefix.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { asRoot, asUser, processRuns, testEnv, tspod, waitFor } from './harness';
import { labelledContainers } from './labelled-containers';

const LABEL = 'tspod-test=restart-policy';

const { runDetached, inspectField, waitForField, removeOurs } = labelledContainers(LABEL);

/** A `tspod container cleanup ... ID` exit hook is alive (it may be waiting to restart ID). */
function exitHookRunning(id: string): boolean {
  for (const pid of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (argv.includes('cleanup') && argv.includes(id)) return true;
    } catch {
      // gone meanwhile
    }
  }
  return false;
}

/** Waits until the container's hook is done with it: whatever it was going to do, it did. */
async function hookSettled(id: string): Promise<void> {
  await waitFor(() => !exitHookRunning(id), 30_000, `the exit hook of ${id.slice(0, 12)} to finish`).catch((err: Error) => {
    const ps = asRoot(['ps', '-eo', 'pid,etimes,stat,args']).stdout.split('\n').filter((l) => l.includes(id));
    throw new Error(`${err.message}: ${ps.join('; ')}`);
  });
}

describe('restart policies', () => {
  before(() => {
    const r = tspod(['pull', '-q', 'busybox']);
    assert.equal(r.code, 0, r.stderr);
    removeOurs();
  });
  after(removeOurs);

  test('on-failure:N restarts a failing container N times, then leaves it exited', async () => {
    const id = runDetached('rp-fail', '--restart', 'on-failure:2', 'busybox', 'sh', '-c', 'echo run; exit 3');
    await waitForField(id, '{{.RestartCount}} {{.State.Status}}', '2 exited');
    await hookSettled(id);
    assert.equal(inspectField(id, '{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}} {{.State.Restarting}}'), '2 exited 3 false');
    assert.equal(inspectField(id, '{{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}'), 'on-failure:2');
    // three runs in all: the first and two restarts
    assert.equal(tspod(['logs', id]).stdout, 'run\nrun\nrun\n');
    // a success is no failure: on-failure leaves it alone
    const ok = runDetached('rp-ok', '--restart', 'on-failure', 'busybox', 'true');
    await waitForField(ok, '{{.State.Status}}', 'exited');
    await hookSettled(ok);
    assert.equal(inspectField(ok, '{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}'), '0 exited 0');
  });

  test('always brings back a container whose pid 1 was killed from outside, with a new pid', async () => {
    const id = runDetached('rp-always', '--restart', 'always', 'busybox', 'sleep', '1000');
    const pid = Number(inspectField(id, '{{.State.Pid}}'));
    assert.ok(pid > 0);
    assert.equal(asUser(['kill', '-9', String(pid)]).code, 0);
    await waitForField(id, '{{.RestartCount}} {{.State.Status}}', '1 running');
    const newPid = Number(inspectField(id, '{{.State.Pid}}'));
    assert.ok(newPid > 0 && newPid !== pid, `new pid ${newPid}, old ${pid}`);
    assert.ok(processRuns(newPid));
    // a manual restart is the user's: the count starts over
    assert.equal(tspod(['restart', '-t', '0', id]).code, 0);
    assert.equal(inspectField(id, '{{.RestartCount}} {{.State.Status}}'), '0 running');
  });

  test('stop and kill by the user are not restarted', async () => {
    const stopped = runDetached('rp-stop', '--restart', 'always', 'busybox', 'sleep', '1000');
    const killed = runDetached('rp-kill', '--restart', 'unless-stopped', 'busybox', 'sleep', '1000');
    assert.equal(tspod(['stop', '-t', '0', stopped]).code, 0);
    assert.equal(tspod(['kill', killed]).code, 0);
    await hookSettled(stopped);
    await hookSettled(killed);
    assert.equal(inspectField(stopped, '{{.State.Status}} {{.RestartCount}}'), 'exited 0');
    assert.equal(inspectField(killed, '{{.State.Status}} {{.RestartCount}}'), 'exited 0');
  });

  test('a crash-looping container shows Restarting, and stop and rm -f end the loop', async () => {
    const loop = runDetached('rp-loop', '--restart', 'always', 'busybox', 'sh', '-c', 'exit 1');
    // The backoff doubles from 100 ms: after five restarts each wait lasts seconds, and the
    // container spends nearly all its time waiting.
    await waitForField(loop, '{{.RestartCount}}', /^([5-9]|\d\d+)$/);
    await waitForField(loop, '{{.State.Status}} {{.State.Restarting}}', 'restarting true');
    await waitFor(() => /^Restarting \(1\) .*\|restarting\n$/.test(tspod(['ps', '-a', '--filter', 'name=rp-loop', '--format', '{{.Status}}|{{.State}}']).stdout), 30_000, 'ps to show Restarting');
    const refused = tspod(['rm', loop]);
    assert.equal(refused.code, 2, 'Podman exits 2 when a container to remove is running');
    assert.match(refused.stderr, /as it is (restarting|running)/);
    assert.equal(tspod(['rm', '-f', loop]).code, 0, 'rm -f of a restarting container');
    await hookSettled(loop);
    assert.equal(tspod(['container', 'exists', loop]).code, 1);

    const loop2 = runDetached('rp-loop2', '--restart', 'always', 'busybox', 'sh', '-c', 'exit 1');
    await waitForField(loop2, '{{.State.Status}}', 'restarting');
    assert.equal(tspod(['stop', loop2]).code, 0);
    await hookSettled(loop2);
    const count = inspectField(loop2, '{{.RestartCount}}');
    assert.equal(inspectField(loop2, '{{.State.Status}}'), 'exited');
    assert.equal(exitHookRunning(loop2), false);
    assert.equal(inspectField(loop2, '{{.RestartCount}}'), count);
  });

  test('bad restart flags are refused', () => {
    const rm = tspod(['run', '--rm', '--restart', 'always', 'busybox', 'true']);
    assert.equal(rm.code, 125);
    assert.match(rm.stderr, /--rm and --restart/);
    const bad = tspod(['create', '--restart', 'sometimes', 'busybox']);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /invalid restart policy "sometimes"/);
    const count = tspod(['create', '--restart', 'on-failure:x', 'busybox']);
    assert.equal(count.code, 125);
    const filter = tspod(['start', '--all', '--filter', 'bogus=1']);
    assert.equal(filter.code, 125);
    assert.match(filter.stderr, /invalid filter "bogus=1"/);
    const withNames = tspod(['start', '--filter', 'restart-policy=always', 'rp-none']);
    assert.equal(withNames.code, 125);
  });

  test('after a reboot the boot unit starts always and unless-stopped containers, not the ones the user stopped', async () => {
    const always = runDetached('rp-boot-always', '--restart', 'always', 'busybox', 'sleep', '1000');
    const unless = runDetached('rp-boot-unless', '--restart', 'unless-stopped', 'busybox', 'sleep', '1000');
    const userStopped = runDetached('rp-boot-stopped', '--restart', 'unless-stopped', 'busybox', 'sleep', '1000');
    const plain = runDetached('rp-boot-plain', 'busybox', 'sleep', '1000');
    assert.equal(tspod(['stop', '-t', '0', userStopped]).code, 0);
    await hookSettled(userStopped);
    const pidsBefore = [always, unless].map((id) => Number(inspectField(id, '{{.State.Pid}}')));

    // The reboot: every process of the user goes (pause process, monitors, containers), and
    // with them the runtime dir's contents (a tmpfs at boot).
    const kill = asRoot(['bash', path.join(testEnv.harnessDir, 'reset-user-state.sh'), '--all-processes'], { env: { TSPOD_TEST_USER: testEnv.user } });
    assert.equal(kill.code, 0, kill.stderr);
    assert.equal(asRoot(['rm', '-rf', '--one-file-system', path.join(testEnv.runtimeDir, 'tspod')]).code, 0);
    for (const pid of pidsBefore) assert.equal(processRuns(pid), false);

    // What the shipped unit runs at boot (its ExecStart, with tspod from the test PATH).
    const unit = fs.readFileSync(path.join(testEnv.repoDir, 'contrib/systemd/user/tspod-restart.service'), 'utf8');
    const logging = /^Environment=LOGGING="([^"]*)"$/m.exec(unit)?.[1] ?? '';
    const execStart = /^ExecStart=(.*)$/m.exec(unit)?.[1];
    assert.ok(execStart, 'the unit has an ExecStart');
    const argv = execStart.replace('$LOGGING', logging).split(/\s+/).filter(Boolean);
    assert.equal(argv[0], '/usr/bin/tspod');
    const boot = asUser([testEnv.bin, ...argv.slice(1)]);
    assert.equal(boot.code, 0, boot.stderr);
    const started = boot.stdout.split('\n').filter(Boolean);
    assert.ok(started.includes(always) && started.includes(unless), boot.stdout);
    assert.ok(!started.includes(userStopped) && !started.includes(plain), boot.stdout);

    assert.equal(inspectField(always, '{{.State.Status}}'), 'running');
    assert.equal(inspectField(unless, '{{.State.Status}}'), 'running');
    assert.equal(inspectField(userStopped, '{{.State.Status}}'), 'exited');
    assert.equal(inspectField(plain, '{{.State.Status}}'), 'exited');
    // and they are real containers again
    const exec = tspod(['exec', always, 'echo', 'back']);
    assert.equal(exec.stdout, 'back\n', exec.stderr);
  });
});
