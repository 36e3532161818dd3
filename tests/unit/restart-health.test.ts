// The pure rules behind restart policies (Docker's decision and backoff) and health checks
// (flags over the image's HEALTHCHECK, the status after each result).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BACKOFF_MAX_MS, BACKOFF_START_MS, nextBackoffMs, shouldRestart } from '../../pkg/container/restart-policy';
import { DEFAULT_INTERVAL_NS, healthCommand, parseDurationNs, parseHealthCmd, parseHealthOnFailure, resolveHealthConfig } from '../../pkg/container/healthcheck-config';
import { HealthState, nextHealth } from '../../pkg/container/healthcheck';

test('shouldRestart follows Docker: on-failure counts, always and unless-stopped ignore the code, a user stop wins', () => {
  const onFailure = { name: 'on-failure' as const, maxRetries: 2 };
  assert.equal(shouldRestart({ policy: onFailure, exitCode: 1, restartCount: 0, stoppedByUser: false }), true);
  assert.equal(shouldRestart({ policy: onFailure, exitCode: 1, restartCount: 2, stoppedByUser: false }), false);
  assert.equal(shouldRestart({ policy: onFailure, exitCode: 0, restartCount: 0, stoppedByUser: false }), false);
  assert.equal(shouldRestart({ policy: { name: 'on-failure', maxRetries: 0 }, exitCode: 9, restartCount: 100, stoppedByUser: false }), true);
  assert.equal(shouldRestart({ policy: { name: 'always', maxRetries: 0 }, exitCode: 0, restartCount: 5, stoppedByUser: false }), true);
  assert.equal(shouldRestart({ policy: { name: 'unless-stopped', maxRetries: 0 }, exitCode: 137, restartCount: 0, stoppedByUser: true }), false);
  assert.equal(shouldRestart({ policy: { name: 'no', maxRetries: 0 }, exitCode: 1, restartCount: 0, stoppedByUser: false }), false);
});

test('the backoff starts at 100 ms, doubles, stops at a minute and starts over after a 10 s run', () => {
  assert.equal(nextBackoffMs(undefined, 50), BACKOFF_START_MS);
  assert.equal(nextBackoffMs(100, 50), 200);
  assert.equal(nextBackoffMs(400, 9_999), 800);
  assert.equal(nextBackoffMs(800, 10_000), BACKOFF_START_MS);
  assert.equal(nextBackoffMs(40_000, 10), BACKOFF_MAX_MS);
});

test('durations parse as Go writes them, bare numbers as seconds', () => {
  assert.equal(parseDurationNs('--health-interval', '30s'), 30e9);
  assert.equal(parseDurationNs('--health-interval', '1m30s'), 90e9);
  assert.equal(parseDurationNs('--health-interval', '250ms'), 250e6);
  assert.equal(parseDurationNs('--health-interval', '2'), 2e9);
  assert.throws(() => parseDurationNs('--health-interval', '5 parsecs'), /invalid --health-interval "5 parsecs"/);
  assert.throws(() => parseDurationNs('--health-interval', ''), /invalid/);
});

test('--health-cmd: a string is CMD-SHELL, a JSON array CMD, none disables', () => {
  assert.deepEqual(parseHealthCmd('curl -f http://localhost/'), ['CMD-SHELL', 'curl -f http://localhost/']);
  assert.deepEqual(parseHealthCmd('["curl","-f","http://localhost/"]'), ['CMD', 'curl', '-f', 'http://localhost/']);
  assert.deepEqual(parseHealthCmd('["CMD-SHELL","exit 0"]'), ['CMD-SHELL', 'exit 0']);
  assert.deepEqual(parseHealthCmd('none'), ['NONE']);
  assert.throws(() => parseHealthCmd('["x",1]'), /invalid --health-cmd/);
  assert.deepEqual(healthCommand({ Test: ['CMD-SHELL', 'exit 0'] }), ['/bin/sh', '-c', 'exit 0']);
  assert.deepEqual(healthCommand({ Test: ['CMD', 'true'] }), ['true']);
  assert.equal(parseHealthOnFailure(undefined), 'none');
  assert.throws(() => parseHealthOnFailure('reboot'), /invalid --health-on-failure "reboot"/);
});

test("the flags override the image's HEALTHCHECK field by field; defaults fill the rest", () => {
  const image = { Test: ['CMD-SHELL', 'check'], Interval: 5e9, Retries: 7 };
  assert.deepEqual(resolveHealthConfig(image, {}), { Test: ['CMD-SHELL', 'check'], Interval: 5e9, Timeout: 30e9, StartPeriod: 0, Retries: 7 });
  assert.deepEqual(resolveHealthConfig(image, { interval: '1s', startPeriod: '10s' }), { Test: ['CMD-SHELL', 'check'], Interval: 1e9, Timeout: 30e9, StartPeriod: 10e9, Retries: 7 });
  assert.equal(resolveHealthConfig(image, { noHealthcheck: true }), undefined);
  assert.equal(resolveHealthConfig(image, { cmd: 'none' }), undefined);
  assert.equal(resolveHealthConfig({ Test: ['NONE'] }, {}), undefined);
  assert.equal(resolveHealthConfig(undefined, {}), undefined);
  assert.equal(resolveHealthConfig(undefined, { cmd: 'true' })?.Interval, DEFAULT_INTERVAL_NS);
  assert.equal(resolveHealthConfig(undefined, { cmd: 'true', interval: 'disable' })?.Interval, 0);
  assert.throws(() => resolveHealthConfig(undefined, { interval: '1s' }), /need a health check/);
  assert.throws(() => resolveHealthConfig(undefined, { cmd: 'true', timeout: '0s' }), /must be more than 0/);
});

test('health status: success heals, failures count up to the retries, the start period forgives', () => {
  const config = { Test: ['CMD', 'x'], Retries: 2, StartPeriod: 10e9 };
  const started = Date.parse('2026-01-01T00:00:00Z');
  const at = (s: number, code: number) => ({ start: new Date(started + s * 1000), end: new Date(started + s * 1000 + 5), exitCode: code, output: `o${s}` });
  let h: HealthState = { Status: 'starting', FailingStreak: 0, Log: [] };
  h = nextHealth(h, at(1, 1), config, started);
  assert.deepEqual([h.Status, h.FailingStreak, h.Log.length], ['starting', 0, 1]);
  h = nextHealth(h, at(11, 1), config, started);
  assert.deepEqual([h.Status, h.FailingStreak], ['starting', 1]);
  h = nextHealth(h, at(12, 1), config, started);
  assert.deepEqual([h.Status, h.FailingStreak], ['unhealthy', 2]);
  h = nextHealth(h, at(13, 0), config, started);
  assert.deepEqual([h.Status, h.FailingStreak], ['healthy', 0]);
  for (let s = 14; s < 20; s++) h = nextHealth(h, at(s, 0), config, started);
  assert.equal(h.Log.length, 5);
  assert.equal(h.Log[4].Output, 'o19');
  assert.equal(h.Log[4].Start, '2026-01-01T00:00:19.000Z');
  // once healthy, a failure inside the start period counts
  h = nextHealth({ ...h }, at(2, 1), config, started);
  assert.deepEqual([h.Status, h.FailingStreak], ['healthy', 1]);
});
