// run flags as the unprivileged user: -a (which streams reach the caller), --device (a
// bind-mounted node rootless), --env-host, --annotation, and their failure paths.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { resetUserState, tspod } from './harness';

function run(args: string[], opts: { input?: string; env?: Record<string, string> } = {}) {
  return tspod(['run', '--rm', ...args], { timeoutMs: 120_000, ...opts });
}

const OUT_AND_ERR = ['busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3'];

describe('run flags', () => {
  before(() => {
    resetUserState();
    assert.equal(tspod(['pull', '-q', 'busybox']).code, 0);
  });

  test('-a picks the streams shown; the exit code comes through either way', () => {
    const out = run(['-a', 'stdout', ...OUT_AND_ERR]);
    assert.deepEqual([out.code, out.stdout, out.stderr], [3, 'out\n', '']);
    const err = run(['-a', 'STDERR', ...OUT_AND_ERR]);
    assert.deepEqual([err.code, err.stdout, err.stderr], [3, '', 'err\n']);
    const both = run(['-a', 'stdout', '-a', 'stderr', ...OUT_AND_ERR]);
    assert.deepEqual([both.code, both.stdout, both.stderr], [3, 'out\n', 'err\n']);
    const withIn = run(['-i', '-a', 'stdin', '-a', 'stdout', 'busybox', 'sh', '-c', 'cat; echo done >&2'], { input: 'typed\n' });
    assert.deepEqual([withIn.code, withIn.stdout, withIn.stderr], [0, 'typed\n', '']);
  });

  test('-a conflicts with -d; unknown streams are refused', () => {
    const before = tspod(['ps', '-aq']).stdout;
    const detached = tspod(['run', '-d', '-a', 'stdout', 'busybox', 'true']);
    assert.equal(detached.code, 125);
    assert.match(detached.stderr, /conflicting options: -a\/--attach and -d\/--detach/);
    assert.equal(run(['-a', 'stdwhat', 'busybox', 'true']).code, 125);
    assert.equal(tspod(['ps', '-aq']).stdout, before);
  });

  test('--device bind-mounts the node where it is asked for', () => {
    const r = run(['--device', '/dev/null:/dev/mynull', '--device', '/dev/fuse', 'busybox', 'sh', '-c',
      'stat -c "%F %t,%T" /dev/mynull /dev/fuse; echo data > /dev/mynull && echo written']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'character special file 1,3\ncharacter special file a,e5\nwritten\n');
    assert.equal(tspod(['create', '--name', 'rf-dev', '--device', '/dev/null:/dev/mynull:rw', 'busybox', 'true']).code, 0);
    const shown = tspod(['inspect', '--format', '{{range .HostConfig.Devices}}{{.PathOnHost}}>{{.PathInContainer}}:{{.CgroupPermissions}}{{end}}', 'rf-dev']);
    assert.equal(shown.stdout, '/dev/null>/dev/mynull:rw\n');
    assert.equal(tspod(['rm', 'rf-dev']).code, 0);
  });

  test('a missing device or a bad specification fails before a container exists', () => {
    const before = tspod(['ps', '-aq']).stdout;
    const missing = run(['--device', '/dev/no-such-device', 'busybox', 'true']);
    assert.equal(missing.code, 125);
    assert.match(missing.stderr, /^Error: device \/dev\/no-such-device does not exist/);
    assert.equal(run(['--device', '/dev/null:/dev/x:rwz', 'busybox', 'true']).code, 125);
    assert.equal(run(['--device', '/etc/passwd', 'busybox', 'true']).code, 125);
    assert.equal(tspod(['ps', '-aq']).stdout, before);
  });

  test('--env-host passes the caller\'s environment; -e still wins', () => {
    const r = run(['--env-host', '-e', 'OVERRIDE=flag', 'busybox', 'sh', '-c', 'echo "$FROM_HOST $OVERRIDE"'], { env: { FROM_HOST: 'host-value', OVERRIDE: 'host' } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'host-value flag\n');
    assert.equal(run(['busybox', 'sh', '-c', 'echo "[$FROM_HOST]"'], { env: { FROM_HOST: 'host-value' } }).stdout, '[]\n');
  });

  test('--annotation goes into the container config (inspect); one without a value is refused', () => {
    assert.equal(tspod(['create', '--name', 'rf-ann', '--annotation', 'org.example.a=1', '--annotation', 'org.example.b=x=y', 'busybox', 'true']).code, 0);
    const shown = tspod(['inspect', '--format', '{{json .Config.Annotations}}', 'rf-ann']);
    assert.deepEqual(JSON.parse(shown.stdout), { 'org.example.a': '1', 'org.example.b': 'x=y' });
    assert.equal(tspod(['rm', 'rf-ann']).code, 0);
    const before = tspod(['ps', '-aq']).stdout;
    const bad = run(['--annotation', 'novalue', 'busybox', 'true']);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /^Error: no value given for annotation "novalue": use --annotation KEY=VALUE/);
    assert.equal(tspod(['ps', '-aq']).stdout, before);
  });
});
