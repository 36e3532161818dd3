// Log drivers end to end as the unprivileged user: what each writes on disk (json-file's
// Docker JSON lines, local's binary records and gzipped rotations, k8s-file's rotation), that
// `logs` reads each (rotated files in order), follows across rotations, and the drivers that
// keep nothing (none, passthrough, journald where there is no journal). journald against a
// standalone systemd-journald the harness starts (tests/harness/journal.sh) when none runs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { asRoot, asUser, resetUserState, spawnTspod, startJournal, testEnv, tspod, waitFor } from './harness';

function ok(args: string[]): string {
  const r = tspod(args, { timeoutMs: 120_000 });
  assert.equal(r.code, 0, `tspod ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** A command printing "line 0" .. "line N-1" on stdout (withErr: and "err I" on stderr for every tenth I). */
function lines(n: number, withErr = false): string[] {
  const err = withErr ? '[ $((i % 10)) = 0 ] && echo "err $i" >&2; ' : '';
  return ['sh', '-c', `i=0; while [ $i -lt ${n} ]; do echo "line $i"; ${err}i=$((i+1)); done`];
}

function logFiles(name: string): { dir: string; files: string[] } {
  const logPath = ok(['inspect', '--format', '{{.LogPath}}', name]).trim();
  const dir = path.dirname(logPath);
  const base = path.basename(logPath);
  return { dir, files: fs.readdirSync(dir).filter((f) => f.startsWith(base)).sort() };
}

/** The numbers of the "line N" lines, which must be consecutive and end at last. */
function assertTail(stdout: string, last: number): number[] {
  const nums = stdout.split('\n').filter(Boolean).map((l) => Number(/^line (\d+)$/.exec(l)?.[1] ?? NaN));
  assert.ok(nums.length > 0, stdout);
  nums.forEach((n, i) => assert.equal(n, nums[0] + i, `consecutive lines: ${stdout.slice(0, 300)}`));
  assert.equal(nums[nums.length - 1], last);
  return nums;
}

describe('log drivers', () => {
  before(() => {
    resetUserState();
    ok(['pull', '-q', 'busybox']);
  });

  test('json-file writes Docker\'s JSON lines; logs keeps stdout and stderr apart', () => {
    ok(['run', '--name', 'ld-json', '--log-driver', 'json-file', 'busybox', 'sh', '-c', 'echo "a <b> & \\"c\\""; echo oops >&2']);
    const { dir, files } = logFiles('ld-json');
    assert.deepEqual(files, ['ctr.log']);
    const records = fs.readFileSync(path.join(dir, files[0]), 'utf8').trim().split('\n');
    assert.match(records[0], /^\{"log":"a \\u003cb\\u003e \\u0026 \\"c\\"\\n","stream":"stdout","time":"\d{4}-\d\d-\d\dT[\d:.]+Z"\}$/);
    assert.deepEqual(JSON.parse(records[1]).stream, 'stderr');
    const r = tspod(['logs', 'ld-json']);
    assert.equal(r.stdout, 'a <b> & "c"\n');
    assert.equal(r.stderr, 'oops\n');
    assert.equal(ok(['inspect', '--format', '{{.HostConfig.LogConfig.Type}}', 'ld-json']), 'json-file\n');
  });

  test('local keeps binary records and gzipped rotations; old files are dropped and logs shows the tail', () => {
    ok(['run', '--name', 'ld-local', '--log-driver', 'local', '--log-opt', 'max-size=2k', 'busybox', ...lines(400, true)]);
    const { dir, files } = logFiles('ld-local');
    // Docker's local defaults: 5 files, the rotated ones compressed.
    assert.deepEqual(files, ['ctr.log', 'ctr.log.1.gz', 'ctr.log.2.gz', 'ctr.log.3.gz', 'ctr.log.4.gz']);
    const rotated = zlib.gunzipSync(fs.readFileSync(path.join(dir, 'ctr.log.1.gz')));
    // [size u32 BE][protobuf: 0x0a len "stdout" ...][size u32 BE]
    const size = rotated.readUInt32BE(0);
    assert.equal(rotated.readUInt32BE(4 + size), size);
    assert.equal(rotated.subarray(4, 6).toString('hex'), '0a06');
    assert.ok(['stdout', 'stderr'].includes(rotated.subarray(6, 12).toString()));
    const all = tspod(['logs', 'ld-local']);
    const nums = assertTail(all.stdout, 399);
    assert.ok(nums[0] > 0, 'the oldest lines went with the dropped files');
    assert.match(all.stderr, /err 390\n$/);
    // stdout and stderr are separate pipes: which of them is last in the file is up to the monitor
    const tail = tspod(['logs', '--tail', '2', 'ld-local']);
    assert.equal(`${tail.stdout}${tail.stderr}`.split('\n').filter(Boolean).length, 2);
  });

  test('k8s-file rotation through run: max-file bounds the files, logs reads them in order', () => {
    ok(['run', '--name', 'ld-k8s', '--log-opt', 'max-size=1k', '--log-opt', 'max-file=3', 'busybox', ...lines(300)]);
    const { files } = logFiles('ld-k8s');
    assert.deepEqual(files, ['ctr.log', 'ctr.log.1', 'ctr.log.2']);
    const nums = assertTail(ok(['logs', 'ld-k8s']), 299);
    assert.ok(nums[0] > 0 && nums.length < 300, `old lines dropped: ${nums.length} left`);
    assert.equal(ok(['logs', '--tail', '2', 'ld-k8s']), 'line 298\nline 299\n');
    assert.match(ok(['logs', '-t', '--tail', '1', 'ld-k8s']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z line 299\n$/);
  });

  test('json-file with compress=true gzips its rotations', () => {
    ok(['run', '--name', 'ld-jsongz', '--log-driver', 'json-file', '--log-opt', 'max-size=1k', '--log-opt', 'max-file=2', '--log-opt', 'compress=true', 'busybox', ...lines(100)]);
    assert.deepEqual(logFiles('ld-jsongz').files, ['ctr.log', 'ctr.log.1.gz']);
    assertTail(ok(['logs', 'ld-jsongz']), 99);
  });

  test('logs -f follows the output across rotations, several between two polls', () => {
    const r = tspod(['run', '-d', '--name', 'ld-follow', '--log-opt', 'max-size=100', '--log-opt', 'max-file=100', 'busybox', 'sh', '-c',
      'i=0; while [ $i -lt 60 ]; do echo "line $i"; i=$((i+1)); usleep 20000; done']);
    assert.equal(r.code, 0, r.stderr);
    const followed = tspod(['logs', '-f', 'ld-follow'], { timeoutMs: 60_000 });
    assert.equal(followed.code, 0, followed.stderr);
    assert.equal(assertTail(followed.stdout, 59)[0], 0);
    assert.ok(logFiles('ld-follow').files.length > 3, 'the log was rotated while followed');
  });

  test('--log-opt path= puts the log where asked; tag is kept for inspect', () => {
    const file = path.join(testEnv.home, 'ld-logs', 'my.log');
    asUser(['rm', '-rf', path.dirname(file)]);
    asUser(['mkdir', '-p', path.dirname(file)]);
    ok(['run', '--name', 'ld-path', '--log-opt', `path=${file}`, '--log-opt', 'tag=web', 'busybox', 'echo', 'elsewhere']);
    assert.match(fs.readFileSync(file, 'utf8'), / stdout F elsewhere\n$/);
    assert.equal(ok(['logs', 'ld-path']), 'elsewhere\n');
    assert.equal(ok(['inspect', '--format', '{{.LogPath}} {{.HostConfig.LogConfig.Tag}}', 'ld-path']), `${file} web\n`);
  });

  test('none keeps nothing and logs says so', () => {
    ok(['run', '--name', 'ld-none', '--log-driver', 'none', 'busybox', 'echo', 'gone']);
    const r = tspod(['logs', 'ld-none']);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /"none" log driver, which keeps no logs/);
  });

  test('passthrough gives the container tspod\'s own stdio, in the foreground only', () => {
    const r = tspod(['run', '--name', 'ld-pass', '--log-driver', 'passthrough', 'busybox', 'sh', '-c', 'echo out; echo err >&2; read x; echo "got $x"; exit 4'], { input: 'typed\n' });
    assert.equal(r.code, 4, r.stderr);
    assert.equal(r.stdout, 'out\ngot typed\n');
    assert.equal(r.stderr, 'err\n');
    assert.equal(tspod(['logs', 'ld-pass']).code, 125);
    const detached = tspod(['run', '-d', '--log-driver', 'passthrough', 'busybox', 'true']);
    assert.equal(detached.code, 125);
    assert.match(detached.stderr, /passthrough log driver cannot be used with -d/);
    assert.equal(tspod(['run', '--rm', '-t', '--log-driver', 'passthrough', 'busybox', 'true']).code, 125);
  });

  test('journald without a journal fails at create with what to do', () => {
    const before = ok(['ps', '-aq']);
    // Whether or not a journal runs on this machine: tspod is pointed at a socket that is not there.
    const r = tspod(['create', '--log-driver', 'journald', 'busybox', 'true'], { env: { TSPOD_JOURNAL_SOCKET: '/nonexistent/journal/socket' } });
    assert.equal(r.code, 125);
    assert.match(r.stderr, /^Error: the journald log driver .*use --log-driver k8s-file/);
    assert.equal(ok(['ps', '-aq']), before);
  });

  test('bad drivers and options fail before a container exists', () => {
    const before = ok(['ps', '-aq']);
    for (const args of [
      ['--log-driver', 'syslog'],
      ['--log-opt', 'max-size=lots'],
      ['--log-opt', 'max-file=0'],
      ['--log-opt', 'compress=maybe'],
      ['--log-opt', 'colour=blue'],
      ['--log-opt', 'novalue'],
      ['--log-driver', 'none', '--log-opt', 'max-size=1m'],
    ]) {
      const r = tspod(['run', '--rm', ...args, 'busybox', 'true']);
      assert.equal(r.code, 125, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^Error: /);
    }
    assert.equal(ok(['ps', '-aq']), before);
  });
});

/**
 * The container's entries as journalctl (run by the test user, who may read the journal) shows
 * them: by its name, and its id (the journal keeps containers of earlier runs by that name).
 */
function journalEntries(name: string): Record<string, string>[] {
  const id = ok(['inspect', '--format', '{{.Id}}', name]).trim();
  const r = asUser(['journalctl', '--output=json', '--no-pager', '--all', `CONTAINER_NAME=${name}`, `CONTAINER_ID_FULL=${id}`]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, string>);
}

describe('journald log driver', () => {
  let journal = { started: false, stop: () => undefined as void };
  before(() => {
    journal = startJournal();
    resetUserState();
    ok(['pull', '-q', 'busybox']);
  });
  after(() => journal.stop());

  test('run writes each line as a journal entry with the container\'s fields; logs gives the streams back', () => {
    const run = tspod(['run', '--name', 'ld-journal', '--log-driver', 'journald', 'busybox', 'sh', '-c', 'echo out; echo err >&2; printf partial']);
    assert.equal(run.code, 0, run.stderr);
    const id = ok(['inspect', '--format', '{{.Id}}', 'ld-journal']).trim();
    const r = tspod(['logs', 'ld-journal']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'out\npartial');
    assert.equal(r.stderr, 'err\n');
    assert.equal(ok(['inspect', '--format', '{{.HostConfig.LogConfig.Type}}|{{.HostConfig.LogConfig.Path}}|{{.LogPath}}', 'ld-journal']), 'journald||\n');
    const entries = journalEntries('ld-journal');
    assert.deepEqual(entries.map((e) => [e.MESSAGE, e.PRIORITY, e.CONTAINER_PARTIAL_MESSAGE]), [
      ['out', '6', undefined],
      ['err', '3', undefined],
      ['partial', '6', 'true'],
    ]);
    for (const e of entries) {
      assert.equal(e.CONTAINER_ID_FULL, id);
      assert.equal(e.CONTAINER_ID, id.slice(0, 12));
      assert.equal(e.SYSLOG_IDENTIFIER, 'ld-journal'); // Podman 4.3: the name when there is no tag
      assert.equal(e.CONTAINER_TAG, undefined);
    }
  });

  test('--log-opt tag= names the entries (a template sees the container); --tail, --since, --until, -t', () => {
    ok(['run', '--name', 'ld-journal-tag', '--log-driver', 'journald', '--log-opt', 'tag={{.Name}}/web', 'busybox', ...lines(5)]);
    const entries = journalEntries('ld-journal-tag');
    assert.equal(entries.length, 5);
    for (const e of entries) {
      assert.equal(e.CONTAINER_TAG, 'ld-journal-tag/web');
      assert.equal(e.SYSLOG_IDENTIFIER, 'ld-journal-tag/web');
    }
    assert.equal(ok(['inspect', '--format', '{{.HostConfig.LogConfig.Tag}}', 'ld-journal-tag']), '{{.Name}}/web\n');
    assert.equal(ok(['logs', '--tail', '2', 'ld-journal-tag']), 'line 3\nline 4\n');
    assert.equal(ok(['logs', '--since', '2000-01-01T00:00:00Z', 'ld-journal-tag']).split('\n').length, 6);
    assert.equal(ok(['logs', '--since', '1h', '--until', '2000-01-01T00:00:00Z', 'ld-journal-tag']), '');
    assert.equal(ok(['logs', '--since', String(Math.floor(Date.now() / 1000) + 3600), 'ld-journal-tag']), '');
    assert.match(ok(['logs', '-t', '--tail', '1', 'ld-journal-tag']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z line 4\n$/);
  });

  test('a line over 16 KiB goes to the journal in pieces marked partial; logs joins them', () => {
    ok(['run', '--name', 'ld-journal-long', '--log-driver', 'journald', 'busybox', 'sh', '-c', 'head -c 40000 /dev/zero | tr "\\0" a; echo; echo next']);
    const entries = journalEntries('ld-journal-long');
    assert.deepEqual(entries.map((e) => [e.MESSAGE.length, e.CONTAINER_PARTIAL_MESSAGE]), [
      [16384, 'true'],
      [16384, 'true'],
      [40000 - 2 * 16384, undefined],
      [4, undefined],
    ]);
    assert.equal(ok(['logs', 'ld-journal-long']), `${'a'.repeat(40000)}\nnext\n`);
    assert.equal(ok(['logs', '--tail', '2', 'ld-journal-long']), `${'a'.repeat(40000)}\nnext\n`);
    assert.equal(ok(['logs', '--tail', '1', 'ld-journal-long']), 'next\n');
  });

  test('logs -f follows a running container and ends at its exit with its last line', async () => {
    ok(['run', '-d', '--name', 'ld-journal-follow', '--log-driver', 'journald', 'busybox', 'sh', '-c', 'echo first; while [ ! -e /tmp/go ]; do sleep 0.1; done; echo last; printf end']);
    const follower = spawnTspod(['logs', '-f', 'ld-journal-follow']);
    let out = '';
    follower.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => follower.on('close', (code) => resolve(code)));
    try {
      await waitFor(() => out === 'first\n', 30_000, 'logs -f to show the first line');
      ok(['exec', 'ld-journal-follow', 'touch', '/tmp/go']);
      assert.equal(await exited, 0);
      assert.equal(out, 'first\nlast\nend');
    } finally {
      follower.kill('SIGKILL');
    }
  });

  test('a journal restarted while the container runs gets the lines written after its return', async (t) => {
    if (!journal.started) {
      t.skip('the journal here is not the harness\'s own to restart');
      return;
    }
    const name = 'ld-journal-restart';
    const script = 'echo before; until [ -e /tmp/a ]; do sleep 0.05; done; echo lost; touch /tmp/a-done; until [ -e /tmp/b ]; do sleep 0.05; done; echo after';
    ok(['run', '-d', '--name', name, '--log-driver', 'journald', 'busybox', 'sh', '-c', script]);
    await waitFor(() => tspod(['logs', name]).stdout === 'before\n', 30_000, 'the first line in the journal');
    journal.stop();
    ok(['exec', name, 'touch', '/tmp/a']);
    await waitFor(() => tspod(['exec', name, 'test', '-e', '/tmp/a-done']).code === 0, 30_000, 'the line written while the journal is away');
    journal = startJournal();
    assert.ok(journal.started);
    ok(['exec', name, 'touch', '/tmp/b']);
    assert.equal(ok(['wait', name]), '0\n');
    assert.equal(ok(['logs', name]), 'before\nafter\n');
  });

  test('the journal going away does not stop the container; a user who cannot read it is told what to do', () => {
    // A path that exists but where no journal listens: create accepts it, every send fails.
    const gone = path.join(testEnv.home, 'not-a-journal');
    asUser(['touch', gone]);
    const r = tspod(['run', '--name', 'ld-journal-gone', '--log-driver', 'journald', 'busybox', 'sh', '-c', 'echo still here; exit 3'], { env: { TSPOD_JOURNAL_SOCKET: gone } });
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stdout, 'still here\n');
    assert.equal(ok(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', 'ld-journal-gone']), 'exited 3\n');

    const dir = '/run/log/journal';
    const mode = (fs.statSync(dir).mode & 0o7777).toString(8);
    assert.equal(asRoot(['chmod', '0700', dir]).code, 0);
    try {
      const denied = tspod(['logs', 'ld-journal-gone']);
      assert.equal(denied.code, 125);
      assert.match(denied.stderr, /^Error: cannot read the journal \(.*\): add yourself to the group systemd-journal/);
      assert.equal(denied.stderr.split('\n').filter(Boolean).length, 1, denied.stderr);
    } finally {
      asRoot(['chmod', mode, dir]);
    }
  });
});
