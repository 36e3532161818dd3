// exec, attach and `-it` through a real terminal: `script -qfec CMD /dev/null` gives the
// command a pty (its output is our stdout; what we write to its stdin is typed into the pty),
// so raw mode, window size, Ctrl-C and the detach keys are exercised as a person would.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { asUser, resetUserState, spawnTspod, testEnv, tspod, waitFor } from './harness';

/** A command running as the test user on a fresh pty. */
class PtySession {
  private readonly child: ChildProcess;
  output = '';
  readonly exited: Promise<number>;

  constructor(shellCommand: string) {
    const e = testEnv;
    const vars = { HOME: e.home, USER: e.user, LOGNAME: e.user, XDG_RUNTIME_DIR: e.runtimeDir, PATH: e.path, TERM: 'xterm' };
    const argv = [
      'setpriv', `--reuid=${e.uid}`, `--regid=${e.gid}`, '--init-groups', 'env', '-i',
      ...Object.entries(vars).map(([k, v]) => `${k}=${v}`),
      'script', '-qfec', shellCommand, '/dev/null',
    ];
    this.child = spawn(argv[0], argv.slice(1), { cwd: e.home, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, stdio: 'pipe' });
    this.child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString('utf8')));
    this.child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString('utf8')));
    this.child.stdin?.on('error', () => {});
    this.exited = new Promise((resolve) => this.child.on('close', (code, signal) => resolve(code ?? 128 + (signal === 'SIGKILL' ? 9 : 15))));
  }

  type(text: string): void {
    this.child.stdin?.write(text);
  }

  async expect(pattern: RegExp, timeoutMs = 30_000): Promise<void> {
    try {
      await waitFor(() => pattern.test(this.output), timeoutMs, `${pattern} in the terminal`);
    } catch (err) {
      throw new Error(`${(err as Error).message}; got ${JSON.stringify(this.output)}`);
    }
  }

  /** The exit code; kills the session if it did not end within timeoutMs. */
  async exitCode(timeoutMs = 30_000): Promise<number> {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    this.child.stdin?.destroy();
    return code;
  }
}

/** The prompt of busybox sh as root (followed by its cursor-position query, ESC [6n). */
const PROMPT = /# /;

function psNames(all = true): string[] {
  const r = tspod(['ps', ...(all ? ['-a'] : []), '--format', '{{.Names}}']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n').filter(Boolean);
}

/** The test user's processes whose command line mentions WORD (nothing should be left). */
function userProcesses(word: string): string[] {
  const r = spawnSync('ps', ['-u', String(testEnv.uid), '-o', 'pid=,args='], { encoding: 'utf8' });
  return r.stdout.split('\n').filter((l) => l.includes(word));
}

let counter = 0;
const uniqueName = (what: string): string => `xa-${what}-${process.pid}-${++counter}`;

describe('run -it on a terminal', () => {
  before(() => {
    resetUserState();
    const r = tspod(['pull', '-q', 'busybox']);
    assert.equal(r.code, 0, r.stderr);
  });

  test('a shell gets typed commands and its exit code is tspod\'s', async () => {
    const name = uniqueName('sh');
    const s = new PtySession(`tspod run -it --rm --name ${name} busybox sh`);
    await s.expect(PROMPT);
    s.type('echo hi$((40+2))\r');
    await s.expect(/hi42/);
    s.type('exit 3\r');
    assert.equal(await s.exitCode(), 3, s.output);
    assert.ok(!psNames().includes(name));
    assert.deepEqual(userProcesses(name), []);
  });

  test('the container sees the size of the terminal', async () => {
    const s = new PtySession('stty rows 30 cols 100; tspod run -it --rm busybox stty size');
    assert.equal(await s.exitCode(), 0, s.output);
    assert.match(s.output, /^30 100\r?$/m);
  });

  test('Ctrl-C interrupts the foreground command and the shell survives', async () => {
    const name = uniqueName('intr');
    const s = new PtySession(`tspod run -it --rm --name ${name} busybox sh`);
    await s.expect(PROMPT);
    s.type('sleep 100\r');
    await new Promise((r) => setTimeout(r, 500));
    s.type('\x03');
    s.type('echo alive$((1+1))\r');
    await s.expect(/alive2/, 10_000);
    s.type('exit 0\r');
    assert.equal(await s.exitCode(), 0, s.output);
    assert.deepEqual(userProcesses(name), []);
  });

  test('ctrl-p ctrl-q detaches; attach reconnects and gets the exit code', async () => {
    const name = uniqueName('detach');
    const s = new PtySession(`tspod run -it --name ${name} busybox sh`);
    await s.expect(PROMPT);
    s.type('\x10\x11');
    assert.equal(await s.exitCode(), 0, s.output);
    const ps = tspod(['ps', '--format', '{{.Names}} {{.Status}}']);
    assert.match(ps.stdout, new RegExp(`^${name} Up`, 'm'));

    const a = new PtySession(`tspod attach ${name}`);
    await new Promise((r) => setTimeout(r, 500));
    a.type('echo back$((2+3))\r');
    await a.expect(/back5/);
    a.type('exit 7\r');
    assert.equal(await a.exitCode(), 7, a.output);
    await waitFor(() => /Exited \(7\)/.test(tspod(['ps', '-a', '--filter', `name=${name}`, '--format', '{{.Status}}']).stdout) || !psNames().includes(name), 10_000, 'the container to be recorded as exited');
    assert.equal(tspod(['rm', '-f', name]).code, 0);
  });

  test('the terminal is put back when tspod is killed with SIGTERM', async () => {
    const name = uniqueName('term');
    const s = new PtySession(`tspod run -it --rm --name ${name} busybox sh; echo rc=$?; stty -a | grep -o -- '-\\?icanon '`);
    await s.expect(PROMPT);
    const pid = spawnSync('pgrep', ['-u', String(testEnv.uid), '-f', `node.*run -it --rm --name ${name}`], { encoding: 'utf8' }).stdout.split('\n')[0];
    assert.ok(pid, 'the tspod process');
    process.kill(Number(pid), 'SIGTERM');
    assert.equal(await s.exitCode(), 0, s.output);
    assert.match(s.output, /rc=143/);
    assert.match(s.output, /^icanon /m, 'canonical mode is back on');
    tspod(['rm', '-f', name]);
  });

  test('--detach-keys picks another sequence', async () => {
    const name = uniqueName('keys');
    const s = new PtySession(`tspod run -it --detach-keys ctrl-x --name ${name} busybox sh`);
    await s.expect(PROMPT);
    s.type('\x18');
    assert.equal(await s.exitCode(), 0, s.output);
    assert.ok(psNames(false).includes(name));
    assert.equal(tspod(['rm', '-f', name]).code, 0);
  });
});

describe('start -ai and the signal proxy', () => {
  test('start -ai attaches a terminal of the caller\'s size', async () => {
    const name = uniqueName('start');
    assert.equal(tspod(['create', '-it', '--name', name, 'busybox', 'sh']).code, 0);
    const s = new PtySession(`stty rows 31 cols 90; tspod start -ai ${name}`);
    await s.expect(PROMPT);
    s.type('stty size\r');
    await s.expect(/31 90/);
    s.type('exit 2\r');
    assert.equal(await s.exitCode(), 2, s.output);
    tspod(['rm', '-f', name]);
  });

  test('without a tty, SIGINT to tspod reaches the container (--sig-proxy)', async () => {
    const child = spawnTspod(['run', '--rm', 'busybox', 'sh', '-c', 'trap "echo got; exit 9" INT; echo ready; while :; do sleep 0.1; done']);
    let out = '';
    child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    await waitFor(() => out.includes('ready'), 30_000, 'the container to start');
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    assert.equal(await closed, 9, out);
    clearTimeout(timer);
    assert.match(out, /got/);
  });
});

describe('exec', () => {
  const name = uniqueName('exec');
  before(() => {
    const r = tspod(['run', '-d', '--name', name, 'busybox', 'sleep', '1000']);
    assert.equal(r.code, 0, r.stderr);
  });
  after(() => {
    tspod(['rm', '-f', '-t', '0', name]);
  });

  test('runs a command and passes its output and exit code', () => {
    const r = tspod(['exec', name, 'echo', 'hi']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hi\n');
    const split = tspod(['exec', name, 'sh', '-c', 'echo out; echo err >&2; exit 4']);
    assert.equal(split.code, 4);
    assert.equal(split.stdout, 'out\n');
    assert.equal(split.stderr, 'err\n');
    assert.equal(tspod(['exec', name, 'false']).code, 1);
  });

  test('127 for a missing command, 126 for one that cannot be executed', () => {
    const missing = tspod(['exec', name, 'nosuch']);
    assert.equal(missing.code, 127);
    assert.match(missing.stderr, /^Error: .*nosuch.*not found/m);
    assert.equal(tspod(['exec', name, '/etc/passwd']).code, 126);
    assert.equal(tspod(['exec', name, '/etc']).code, 126);
  });

  test('-e, --env-file, -u and -w', () => {
    assert.equal(tspod(['exec', '-e', 'A=1', name, 'sh', '-c', 'echo $A']).stdout, '1\n');
    asUser(['sh', '-c', 'printf "B=2\\n" > envfile']);
    assert.equal(tspod(['exec', '--env-file', 'envfile', name, 'sh', '-c', 'echo $B']).stdout, '2\n');
    const user = tspod(['exec', '-u', 'tester', name, 'id', '-u']);
    assert.equal(user.code, 0, user.stderr);
    assert.equal(user.stdout, '1000\n');
    assert.equal(tspod(['exec', '-u', 'tester', name, 'sh', '-c', 'echo $HOME']).stdout, '/home/tester\n');
    assert.equal(tspod(['exec', '-w', '/tmp', name, 'pwd']).stdout, '/tmp\n');
  });

  test('-i passes stdin', () => {
    const r = tspod(['exec', '-i', name, 'cat'], { input: 'foo\nbar\n' });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'foo\nbar\n');
  });

  test('-d leaves the process running in the background', async () => {
    const r = tspod(['exec', '-d', name, 'sh', '-c', 'sleep 1; echo done > /tmp/detached']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '');
    await waitFor(() => tspod(['exec', name, 'cat', '/tmp/detached']).stdout === 'done\n', 15_000, 'the detached exec to finish');
  });

  test('-it gets a terminal of the caller\'s size', async () => {
    const s = new PtySession(`stty rows 30 cols 100; tspod exec -it ${name} sh -c 'stty size; tty; exit 4'`);
    assert.equal(await s.exitCode(), 4, s.output);
    assert.match(s.output, /^30 100\r?$/m);
    assert.match(s.output, /^\/dev\/pts\/\d+\r?$/m);
  });

  test('an interactive shell through exec -it', async () => {
    const s = new PtySession(`tspod exec -it ${name} sh`);
    await s.expect(PROMPT);
    s.type('echo in$((6*7))\r');
    await s.expect(/in42/);
    s.type('exit 5\r');
    assert.equal(await s.exitCode(), 5, s.output);
  });

  test('no exec session is left recorded', () => {
    // The sessions above ended; only the container's own processes remain.
    const r = tspod(['exec', name, 'ps', '-o', 'args']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.split('\n').filter((l) => l && !/^(COMMAND|sleep 1000|ps -o args)/.test(l.trim())), []);
    // Each session's monitor directory goes with it (a detached one's at the next exec).
    const dirs = asUser(['sh', '-c', `ls -d "$XDG_RUNTIME_DIR"/tspod/containers/*/exec-* 2>/dev/null; true`]);
    assert.equal(dirs.stdout, '');
    const db = `${testEnv.home}/.local/share/tspod/tspod.db`;
    const rows = asUser(['sqlite3', '-cmd', '.timeout 5000', db, 'SELECT count(*) FROM exec_sessions']);
    assert.equal(rows.code, 0, rows.stderr);
    assert.equal(rows.stdout.trim(), '0');
  });

  test('exec on a stopped container fails with 125', () => {
    const stopped = uniqueName('stopped');
    assert.equal(tspod(['create', '--name', stopped, 'busybox', 'true']).code, 0);
    const r = tspod(['exec', stopped, 'echo', 'hi']);
    assert.equal(r.code, 125);
    assert.equal(r.stderr, 'Error: can only create exec sessions on running containers: container state improper\n');
    tspod(['rm', '-f', stopped]);
  });
});

describe('attach', () => {
  test('attach --no-stdin follows the output and ends with the exit code', async () => {
    const name = uniqueName('follow');
    assert.equal(tspod(['run', '-d', '--name', name, 'busybox', 'sh', '-c', 'sleep 1; echo late; exit 6']).code, 0);
    const r = tspod(['attach', '--no-stdin', name]);
    assert.equal(r.code, 6, r.stderr);
    assert.equal(r.stdout, 'late\n');
    tspod(['rm', '-f', name]);
  });

  test('attach to a stopped container fails', () => {
    const name = uniqueName('nostart');
    assert.equal(tspod(['create', '--name', name, 'busybox', 'true']).code, 0);
    const r = tspod(['attach', name]);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /running containers/);
    tspod(['rm', '-f', name]);
  });
});
