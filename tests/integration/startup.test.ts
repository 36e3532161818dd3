// How tspod starts (the launcher execs node from the start-up snapshot, or from main.js with
// TSPOD_NO_SNAPSHOT=1): both starts give the same results, and what the launcher sets for node
// alone does not reach the programs tspod starts.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resetUserState, spawnTspod, testEnv, tspod } from './harness';

function ok(args: string[], env?: Record<string, string>): string {
  const r = tspod(args, { env });
  assert.equal(r.code, 0, `tspod ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** GLIBC_TUNABLES and tspod's launcher variables in a process's environment. */
function launcherVars(pid: number): string[] {
  return fs
    .readFileSync(`/proc/${pid}/environ`, 'utf8')
    .split('\0')
    .filter((v) => v.startsWith('GLIBC_TUNABLES=') || v.startsWith('_TSPOD_GLIBC_TUNABLES='));
}

describe('start-up', () => {
  before(() => {
    resetUserState();
    ok(['pull', '-q', 'busybox']);
    ok(['tag', 'busybox', 'startup/one', 'startup/two:v2']);
    ok(['create', '--name', 'startup-c', 'busybox', 'true']);
  });

  test('the snapshot and main.js give the same output and exit codes', () => {
    // images and version start from the listing snapshot, which holds only their modules: their
    // filters, formats and help must come out the same too.
    const lines = [
      ['images'],
      ['images', '--format', 'json'],
      ['images', '--filter', 'reference=startup/*', '--format', '{{.Repository}}:{{.Tag}} {{.Size}}'],
      ['images', '-q', '--no-trunc', 'startup/two'],
      ['images', '--help'],
      // (no CREATED column: "1 second ago" can turn into "2 seconds ago" between the two runs)
      ['ps', '-a', '--no-trunc', '--format', 'table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.Status}}\t{{.Names}}'],
      ['inspect', '--format', '{{.Name}} {{.Config.Cmd}}', 'startup-c'],
      ['version', '--format', '{{.Client.Version}}'],
      ['version', '--format', 'json'],
    ];
    for (const args of lines) assert.equal(ok(args, { TSPOD_NO_SNAPSHOT: '1' }), ok(args), args.join(' '));
    for (const args of [['images', '--nope'], ['images', '--filter', 'since=startup/none'], ['version', 'extra'], ['rmi', 'startup/none'], ['run', '--pull=never', 'nosuchimage', 'true']]) {
      const fromSnapshot = tspod(args);
      const fromMain = tspod(args, { env: { TSPOD_NO_SNAPSHOT: '1' } });
      assert.notEqual(fromSnapshot.code, 0, args.join(' '));
      assert.deepEqual([fromMain.code, fromMain.stderr], [fromSnapshot.code, fromSnapshot.stderr], args.join(' '));
    }
  });

  // Each command word the launcher starts from a smaller snapshot (DAILY_COMMANDS and
  // LISTING_COMMANDS in native/launcher.c) needs its command modules in that snapshot's bundle:
  // --help loads the word's whole group, and a module left out would fail it.
  test('every command started from a smaller snapshot has its modules there', () => {
    // A blob whose entry fails at build time (a module its groups need was left out) is not
    // written at all, and then every command quietly starts from main.js: the build made all three.
    for (const blob of ['tspod.blob', 'tspod-daily.blob', 'tspod-listing.blob']) assert.ok(fs.existsSync(path.join(testEnv.installDir, 'dist', blob)), blob);
    const words = ['images', 'version', 'container', 'create', 'exec', 'inspect', 'logs', 'ps', 'pull', 'rm', 'rmi', 'run', 'start', 'stop', 'tag'];
    for (const word of words) assert.equal(ok([word, '--help']), ok([word, '--help'], { TSPOD_NO_SNAPSHOT: '1' }), word);
  });

  test('a pipe tspod writes to is left blocking, as it was: the fast exit undoes what node changed', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tspod-stdio-'));
    const fifo = path.join(dir, 'out');
    execFileSync('mkfifo', [fifo]);
    /** O_NONBLOCK of our descriptor, from its fdinfo (flags in octal). */
    const nonBlocking = (fd: number): boolean => (parseInt(/^flags:\s*([0-7]+)/m.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1] ?? '0', 8) & fs.constants.O_NONBLOCK) !== 0;
    const reader = fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    // Shared with tspod's stdout, as a shell's pipe is with what else writes to it. (A spawned
    // child's stdio is made blocking, so the other case cannot be set up from here.)
    const writer = fs.openSync(fifo, fs.constants.O_WRONLY);
    try {
      for (const args of [['version'], ['run', '--rm', 'busybox', 'echo', 'hi']]) {
        const child = spawnTspod(args, { stdio: ['ignore', writer, 'ignore'] });
        const [code] = (await once(child, 'exit')) as [number];
        assert.equal(code, 0, args.join(' '));
        assert.equal(nonBlocking(writer), false, `tspod ${args.join(' ')} left the pipe non-blocking`);
        assert.ok(fs.readSync(reader, Buffer.alloc(65536)) > 0, `tspod ${args.join(' ')} wrote nothing`);
      }
    } finally {
      fs.closeSync(writer);
      fs.closeSync(reader);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a container's monitor gets the user's GLIBC_TUNABLES, not node's huge-page setting", () => {
    for (const [env, expected] of [
      [{}, []],
      [{ GLIBC_TUNABLES: 'glibc.malloc.check=3' }, ['GLIBC_TUNABLES=glibc.malloc.check=3']],
    ] as [Record<string, string>, string[]][]) {
      const id = ok(['run', '-d', 'busybox', 'sleep', '600'], env).trim();
      try {
        const monitor = Number(ok(['inspect', '--format', '{{.State.ConmonPid}}', id]).trim());
        assert.ok(monitor > 0, `no monitor pid for ${id}`);
        assert.deepEqual(launcherVars(monitor), expected);
      } finally {
        ok(['rm', '-f', '-t', '0', id]);
      }
    }
  });
});
