// Health checks as the unprivileged user, scheduled by the containers' monitors (no systemd runs
// on these machines): a check going unhealthy then healthy, what inspect and ps show of it,
// `healthcheck run`'s exit codes, and --health-on-failure=restart. Containers carry a label
// and an `hc-` name prefix.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { asUser, tspod, waitFor } from './harness';
import { labelledContainers } from './labelled-containers';

const LABEL = 'tspod-test=healthcheck';

const { runDetached, inspectField, waitForField, removeOurs } = labelledContainers(LABEL);

function psStatus(name: string, ...filters: string[]): string {
  const r = tspod(['ps', '--filter', `name=^${name}$`, ...filters.flatMap((f) => ['--filter', f]), '--format', '{{.Status}}']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.trim();
}

describe('health checks', () => {
  before(() => {
    const r = tspod(['pull', '-q', 'busybox']);
    assert.equal(r.code, 0, r.stderr);
    removeOurs();
  });
  after(() => {
    removeOurs();
    tspod(['rmi', '-f', 'hc-image']);
  });

  test('the monitor runs the check every interval: unhealthy after the retries, healthy once it passes', async () => {
    const id = runDetached('hc-flip', '--health-cmd', 'echo checked; test -e /tmp/ok', '--health-interval', '300ms', '--health-retries', '2', '--health-timeout', '5s', 'busybox', 'sleep', '1000');
    assert.match(psStatus('hc-flip'), /^Up .* \(health: starting\)$/);
    const config = JSON.parse(inspectField(id, '{{json .Config.Healthcheck}}'));
    assert.deepEqual(config, { Test: ['CMD-SHELL', 'echo checked; test -e /tmp/ok'], Interval: 300_000_000, Timeout: 5_000_000_000, StartPeriod: 0, Retries: 2 });

    await waitForField(id, '{{.State.Health.Status}}', 'unhealthy');
    const sick = JSON.parse(inspectField(id, '{{json .State.Health}}'));
    assert.ok(sick.FailingStreak >= 2, JSON.stringify(sick));
    assert.ok(sick.Log.length >= 2 && sick.Log.length <= 5, JSON.stringify(sick));
    assert.equal(sick.Log[0].ExitCode, 1);
    assert.equal(sick.Log[0].Output, 'checked\n');
    assert.match(psStatus('hc-flip'), /^Up .* \(unhealthy\)$/);
    assert.match(psStatus('hc-flip', 'health=unhealthy'), /unhealthy/);
    assert.equal(psStatus('hc-flip', 'health=healthy'), '');

    assert.equal(tspod(['exec', id, 'touch', '/tmp/ok']).code, 0);
    await waitForField(id, '{{.State.Health.Status}} {{.State.Health.FailingStreak}}', 'healthy 0');
    assert.match(psStatus('hc-flip', 'health=healthy'), /^Up .* \(healthy\)$/);
    // the checks keep coming: the log is capped at Docker's five entries
    await waitFor(() => JSON.parse(inspectField(id, '{{json .State.Health.Log}}')).length === 5, 30_000, 'five log entries');
    assert.equal(tspod(['exec', id, 'rm', '/tmp/ok']).code, 0);
    await waitForField(id, '{{.State.Health.Status}}', 'unhealthy');
    assert.equal(JSON.parse(inspectField(id, '{{json .State.Health.Log}}')).length, 5);
  });

  test('healthcheck run: 0 healthy, 1 unhealthy, 125 when it cannot check', () => {
    const id = runDetached('hc-run', '--health-cmd', '["test","-e","/tmp/ok"]', '--health-interval', 'disable', 'busybox', 'sleep', '1000');
    assert.deepEqual(JSON.parse(inspectField(id, '{{json .Config.Healthcheck.Test}}')), ['CMD', 'test', '-e', '/tmp/ok']);
    const failing = tspod(['healthcheck', 'run', 'hc-run']);
    assert.equal(failing.code, 1);
    assert.equal(failing.stdout, 'unhealthy\n');
    assert.equal(tspod(['exec', id, 'touch', '/tmp/ok']).code, 0);
    const passing = tspod(['healthcheck', 'run', 'hc-run']);
    assert.equal(passing.code, 0, passing.stderr);
    assert.equal(inspectField(id, '{{.State.Health.Status}}'), 'healthy');

    const missing = tspod(['healthcheck', 'run', 'hc-nonexistent']);
    assert.equal(missing.code, 125);
    assert.match(missing.stderr, /no container with name or ID "hc-nonexistent"/);
    runDetached('hc-none', 'busybox', 'sleep', '1000');
    const none = tspod(['healthcheck', 'run', 'hc-none']);
    assert.equal(none.code, 125);
    assert.match(none.stderr, /has no defined healthcheck/);
    assert.equal(inspectField('hc-none', '{{if .State.Health}}health{{else}}no health{{end}}'), 'no health');
    assert.equal(tspod(['stop', '-t', '0', 'hc-run']).code, 0);
    const stopped = tspod(['healthcheck', 'run', 'hc-run']);
    assert.equal(stopped.code, 125);
    assert.match(stopped.stderr, /is not running/);
    // a command that does not exist is an unhealthy result, not an error
    runDetached('hc-nocmd', '--health-cmd', '["/no/such/check"]', '--health-interval', 'disable', 'busybox', 'sleep', '1000');
    assert.equal(tspod(['healthcheck', 'run', 'hc-nocmd']).code, 1);
  });

  test('--health-on-failure=restart restarts an unhealthy container', async () => {
    // fails once (leaving a marker in the container's writable layer), then passes
    const id = runDetached('hc-restart', '--health-cmd', 'test -e /marker || { touch /marker; exit 1; }', '--health-interval', '300ms', '--health-retries', '1', '--health-on-failure', 'restart', 'busybox', 'sleep', '1000');
    const pid = inspectField(id, '{{.State.Pid}}');
    await waitForField(id, '{{.RestartCount}} {{.State.Status}} {{.State.Health.Status}}', '1 running healthy');
    assert.notEqual(inspectField(id, '{{.State.Pid}}'), pid);
    assert.equal(inspectField(id, '{{.Config.HealthcheckOnFailureAction}}'), 'restart');
  });

  test('--health-on-failure=kill and =stop end an unhealthy container', async () => {
    const killed = runDetached('hc-kill', '--health-cmd', 'exit 1', '--health-interval', '300ms', '--health-retries', '1', '--health-on-failure', 'kill', 'busybox', 'sleep', '1000');
    const stopped = runDetached('hc-stop', '--health-cmd', 'exit 1', '--health-interval', '300ms', '--health-retries', '1', '--health-on-failure', 'stop', '--stop-timeout', '1', 'busybox', 'sleep', '1000');
    await waitForField(killed, '{{.State.Status}} {{.State.ExitCode}}', 'exited 137');
    await waitForField(stopped, '{{.State.Status}}', 'exited');
    // the action ends the container; the policy does not bring it back
    assert.equal(inspectField(killed, '{{.RestartCount}} {{.State.Health.Status}}'), '0 unhealthy');
  });

  test("the image's HEALTHCHECK runs without any flag, and --no-healthcheck turns it off", async () => {
    const dockerfile = "FROM busybox\\nHEALTHCHECK --interval=300ms --retries=1 CMD test -e /tmp/ok\\n";
    const b = asUser(['sh', '-c', `printf '${dockerfile}' | tspod build -q -t hc-image -`]);
    assert.equal(b.code, 0, b.stderr);
    const id = runDetached('hc-image', 'hc-image', 'sleep', '1000');
    assert.deepEqual(JSON.parse(inspectField(id, '{{json .Config.Healthcheck.Test}}')), ['CMD-SHELL', 'test -e /tmp/ok']);
    await waitForField(id, '{{.State.Health.Status}}', 'unhealthy');
    assert.equal(tspod(['exec', id, 'touch', '/tmp/ok']).code, 0);
    await waitForField(id, '{{.State.Health.Status}}', 'healthy');
    const off = runDetached('hc-image-off', '--no-healthcheck', 'hc-image', 'sleep', '1000');
    assert.equal(tspod(['healthcheck', 'run', off]).code, 125);
  });

  test('bad health flags are refused', () => {
    const cases: [string[], RegExp][] = [
      [['--health-cmd', 'true', '--health-interval', 'soon'], /invalid --health-interval "soon"/],
      [['--health-cmd', 'true', '--health-retries', '0'], /invalid --health-retries "0"/],
      [['--health-cmd', 'true', '--health-on-failure', 'explode'], /invalid --health-on-failure "explode"/],
      [['--no-healthcheck', '--health-cmd', 'true'], /--no-healthcheck conflicts/],
      [['--health-cmd', '[1,2]'], /invalid --health-cmd/],
    ];
    for (const [flags, message] of cases) {
      const r = tspod(['create', '-l', LABEL, ...flags, 'busybox']);
      assert.equal(r.code, 125, `${flags.join(' ')}: ${r.stdout}`);
      assert.match(r.stderr, message);
    }
  });
});
