// The C launcher (native/build/tspod), run as real unprivileged users. It is tested on its own:
// a copy of the binary sits in a temporary package whose "CLI" is a tiny main.js that prints
// what it was started with (uid, _TSPOD_* variables, /proc/self/uid_map, its user namespace).
// Needs root, to create the test users and give them (or take away) subordinate id ranges.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const REPO = path.resolve(__dirname, '..', '..', '..');
const PAUSE_COMM = 'tspod-pause';
// Dedicated users, so that counting their pause processes is not disturbed by other tests.
const SUBID_USER = 'tspodlaunch';
const NOSUB_USER = 'tspodnosub';

const SUBID_WARNING = (user: string): string =>
  `WARN[0000] no subordinate uid/gid range for user "${user}" in /etc/subuid or /etc/subgid (or newuidmap is missing): ` +
  `using a single-id user namespace; images with files owned by other users will fail to unpack. ` +
  `Add a range (usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${user}) and run "tspod system migrate".`;

const FAKE_MAIN = `
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');
const env = {};
for (const [k, v] of Object.entries(process.env)) if (k.startsWith('_TSPOD_') || k === 'HOME' || k === 'GLIBC_TUNABLES') env[k] = v;
const out = {
  pid: process.pid,
  uid: process.getuid(),
  gid: process.getgid(),
  cwd: process.cwd(),
  argv: process.argv.slice(2),
  env,
  uidMap: fs.readFileSync('/proc/self/uid_map', 'utf8'),
  gidMap: fs.readFileSync('/proc/self/gid_map', 'utf8'),
  userns: fs.statSync('/proc/self/ns/user').ino,
  mntns: fs.statSync('/proc/self/ns/mnt').ino,
};
if (process.argv[2] === 'nested') {
  const launcher = path.resolve(__dirname, '..', '..', '..', 'native', 'build', 'tspod');
  const r = spawnSync(launcher, ['inner'], { encoding: 'utf8' });
  out.nested = { status: r.status, stderr: r.stderr, out: r.stdout ? JSON.parse(r.stdout) : null };
}
// The helper server (native/helper-server.c): one request, its answer (or how it failed).
function askHelper(args) {
  return new Promise((resolve) => {
    const body = Buffer.from(['', ...args].map((a) => a + '\\0').join(''));
    const head = Buffer.alloc(4);
    head.writeUInt32BE(body.length);
    const s = require('net').createConnection({ path: '\\0' + process.env._TSPOD_HELPER_SOCKET });
    let data = Buffer.alloc(0);
    s.on('connect', () => s.write(Buffer.concat([head, body])));
    s.on('data', (d) => {
      data = Buffer.concat([data, d]);
      if (data.length < 4 || data.length < 4 + data.readUInt32BE(0)) return;
      s.destroy();
      resolve({ code: data.readInt32BE(4), stderr: data.toString('utf8', 12 + data.readUInt32BE(8)) });
    });
    s.on('error', (e) => resolve({ error: e.code }));
    s.on('close', () => resolve({ error: 'closed' }));
  });
}
// Several requests on one connection (the server takes one), their answers in order; on SOCKET
// when given (the connection of an earlier call), else on a new one.
function askHelperMany(requests, socket) {
  return new Promise((resolve) => {
    const frames = requests.map((args) => {
      const body = Buffer.from(['', ...args].map((a) => a + '\\0').join(''));
      const head = Buffer.alloc(4);
      head.writeUInt32BE(body.length);
      return Buffer.concat([head, body]);
    });
    const s = socket || require('net').createConnection({ path: '\\0' + process.env._TSPOD_HELPER_SOCKET });
    const answers = [];
    let data = Buffer.alloc(0);
    // An answer may come in several reads: only whole frames count.
    const onData = (d) => {
      data = Buffer.concat([data, d]);
      while (data.length >= 4 && data.length >= 4 + data.readUInt32BE(0)) {
        const len = data.readUInt32BE(0);
        const outLen = data.readUInt32BE(8);
        answers.push({ code: data.readInt32BE(4), stdout: data.toString('utf8', 12, 12 + outLen), stderr: data.toString('utf8', 12 + outLen, 4 + len) });
        data = data.subarray(4 + len);
      }
      if (answers.length === requests.length) {
        s.removeListener('data', onData);
        resolve({ answers, socket: s });
      }
    };
    s.on('data', onData);
    if (socket) s.write(Buffer.concat(frames));
    else s.on('connect', () => s.write(Buffer.concat(frames)));
    s.once('error', (e) => resolve({ error: e.code }));
  });
}
if (process.argv[3] === 'helper-start') {
  // A program that is ready only once a later request has run (so requests run side by side),
  // then copies a line from its stdin (@write) to a file; one that fails before it is ready.
  const dir = process.argv[4];
  const flag = path.join(dir, 'flag');
  const copy = path.join(dir, 'copy');
  const waiter = 'while [ ! -e ' + flag + ' ]; do sleep 0.01; done; echo ready >&3; read line; echo "$line" > ' + copy;
  askHelperMany([
    ['@start', '1', 'PATH=/usr/bin:/bin', '/bin/sh', '-c', waiter],
    ['@start', '0', '/bin/sh', '-c', 'echo starting >&2; echo boom >&2; exit 3'],
    ['@spawn', '0', '/usr/bin/touch', flag],
    // A ready line written just before the exit wins over the exit, every time.
    ...Array.from({ length: 30 }, () => ['@start', '0', '/bin/sh', '-c', 'echo "error cannot bind" >&3; exit 1']),
  ]).then(async ({ answers, socket, error }) => {
    if (error) return process.stdout.write(JSON.stringify({ ...out, helper: { error } }));
    const pid = Number(answers[0].stdout.split('\\n')[0]);
    const written = (await askHelperMany([['@write', String(pid), 'hello']], socket)).answers[0].code;
    // The program copies the line and exits; the server reaps it (no zombie left behind).
    let copied = '';
    let state = 'running';
    for (let i = 0; i < 500; i++) {
      try { copied = fs.readFileSync(copy, 'utf8'); } catch {}
      try { state = fs.readFileSync('/proc/' + pid + '/stat', 'utf8').split(') ')[1][0]; } catch { state = 'gone'; }
      if (copied && state === 'gone') break;
      await new Promise((r) => setTimeout(r, 10));
    }
    socket.destroy();
    process.stdout.write(JSON.stringify({ ...out, started: { answers, written, copied, state } }));
  });
} else if (process.argv[3] === 'helper-many') {
  // More programs than the server keeps: the rest are refused (the caller then starts them
  // itself); a slot comes free once its program ended and was reaped.
  const sleeper = ['@start', '0', '/bin/sh', '-c', 'echo ready >&3; exec sleep 60'];
  askHelperMany(Array.from({ length: 66 }, () => sleeper)).then(async ({ answers, socket, error }) => {
    if (error) return process.stdout.write(JSON.stringify({ ...out, helper: { error } }));
    // A pid read as 0 would be kill(0): this probe's whole process group.
    const pidOf = (a) => (a.code === 0 ? Number(a.stdout.split('\\n')[0]) : 0);
    const pids = answers.map(pidOf).filter((pid) => pid > 0);
    process.kill(pids[0], 'SIGKILL');
    for (let i = 0; i < 500 && fs.existsSync('/proc/' + pids[0]); i++) await new Promise((r) => setTimeout(r, 10));
    const again = (await askHelperMany([sleeper], socket)).answers[0];
    for (const pid of [...pids.slice(1), pidOf(again)]) if (pid > 0) try { process.kill(pid, 'SIGKILL'); } catch {}
    socket.destroy();
    const refused = answers.filter((a) => a.code !== 0);
    process.stdout.write(JSON.stringify({ ...out, many: { started: pids.length, refused, again: again.code } }));
  });
} else if (process.argv[3] === 'helper-ask') {
  askHelper(['umount', '/nonexistent-tspod-helper']).then((r) => process.stdout.write(JSON.stringify(r)));
} else if (process.argv[3] === 'helper-check') {
  // Another process (a child of this one, with the same environment) first, then this one.
  const child = spawnSync(process.execPath, [__filename, 'run', 'helper-ask'], { encoding: 'utf8', timeout: 10000 });
  askHelper(['umount', '/nonexistent-tspod-helper']).then((self) => {
    out.helper = { child: child.stdout ? JSON.parse(child.stdout) : { error: child.stderr }, self };
    process.stdout.write(JSON.stringify(out));
  });
} else {
  process.stdout.write(JSON.stringify(out));
}
`;

interface FakeOutput {
  pid: number;
  uid: number;
  gid: number;
  cwd: string;
  argv: string[];
  env: Record<string, string>;
  uidMap: string;
  gidMap: string;
  userns: number;
  mntns: number;
  nested?: { status: number; stderr: string; out: FakeOutput | null };
  /** `run helper-start DIR`: the answers to @start, @start, @spawn; @write's status; what the
   * started program copied from its stdin; its process state after that */
  started?: { answers: { code: number; stdout: string; stderr: string }[]; written: number; copied: string; state: string };
  many?: { started: number; refused: { code: number; stdout: string; stderr: string }[]; again: number };
  /** `run helper-check`: what a child and this process got from the helper server */
  helper?: { child: { code?: number; stderr?: string; error?: string }; self: { code?: number; stderr?: string; error?: string } };
  /** set by the fake start-up snapshot's main function */
  snapshot?: boolean;
}

// A start-up snapshot for the fake package: its main function reports like FAKE_MAIN does.
const FAKE_SNAPSHOT_ENTRY = `
require('v8').startupSnapshot.setDeserializeMainFunction(() => {
  const env = { GLIBC_TUNABLES: process.env.GLIBC_TUNABLES, _TSPOD_GLIBC_TUNABLES: process.env._TSPOD_GLIBC_TUNABLES };
  process.stdout.write(JSON.stringify({ snapshot: true, uid: process.getuid(), argv: process.argv.slice(1), execArgv: process.execArgv, env }));
});
`;

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  out: FakeOutput;
}

interface TestUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

let work = '';
let launcher = '';
let fakeMain = '';
let subidUser: TestUser;
let nosubUser: TestUser;

function sh(file: string, args: string[]): string {
  return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function subidLines(file: string, user: string): string[] {
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.split(':')[0] === user);
}

function ensureUser(name: string): TestUser {
  try {
    sh('id', ['-u', name]);
  } catch {
    sh('useradd', ['-m', '-s', '/bin/bash', name]);
  }
  const uid = Number(sh('id', ['-u', name]).trim());
  const gid = Number(sh('id', ['-g', name]).trim());
  return { name, uid, gid, home: sh('getent', ['passwd', name]).trim().split(':')[5] };
}

/** Debian's useradd assigns one range; the user gets two, to show that every range is mapped. */
function ensureSubids(user: TestUser): void {
  while (subidLines('/etc/subuid', user.name).length < 2 || subidLines('/etc/subgid', user.name).length < 2) {
    let next = 100000;
    for (const file of ['/etc/subuid', '/etc/subgid']) {
      for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
        const [, start, count] = line.split(':');
        if (start && count) next = Math.max(next, Number(start) + Number(count));
      }
    }
    const range = `${next}-${next + 65535}`;
    sh('usermod', ['--add-subuids', range, '--add-subgids', range, user.name]);
  }
}

/** usermod edits the files under their lock, unlike a rewrite of our own. */
function removeSubids(user: TestUser): void {
  const args: string[] = [];
  for (const [file, flag] of [
    ['/etc/subuid', '--del-subuids'],
    ['/etc/subgid', '--del-subgids'],
  ]) {
    for (const line of subidLines(file, user.name)) {
      const [, start, count] = line.split(':').map(Number);
      args.push(flag, `${start}-${start + count - 1}`);
    }
  }
  if (args.length > 0) sh('usermod', [...args, user.name]);
  assert.equal(subidLines('/etc/subuid', user.name).length + subidLines('/etc/subgid', user.name).length, 0);
}

function expectedMap(file: string, user: TestUser, ownId: number): number[][] {
  const maps = [[0, ownId, 1]];
  let next = 1;
  for (const line of subidLines(file, user.name)) {
    const [, start, count] = line.split(':').map(Number);
    maps.push([next, start, count]);
    next += count;
  }
  return maps;
}

function parseMap(text: string): number[][] {
  return text
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number));
}

/** A runtime dir of its own for each scenario: scenarios never share a pause process. */
function freshRuntimeDir(user: TestUser, label: string, mode = 0o700): string {
  const dir = path.join(work, `run-${label}`);
  fs.mkdirSync(dir);
  fs.chownSync(dir, user.uid, user.gid);
  fs.chmodSync(dir, mode);
  return dir;
}

function userEnv(user: TestUser, runtimeDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    HOME: user.home,
    XDG_RUNTIME_DIR: runtimeDir,
    TMPDIR: path.join(work, 'tmp'),
    PATH: '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin',
    ...extra,
  };
}

function parseOutput(stdout: string, stderr: string, code: number | null): FakeOutput {
  try {
    return JSON.parse(stdout) as FakeOutput;
  } catch {
    throw new Error(`launcher exited ${code}, stdout ${JSON.stringify(stdout)}, stderr ${JSON.stringify(stderr)}`);
  }
}

/** Runs the launcher as USER (or as root when USER is undefined) and parses what main.js saw. */
function runLauncher(user: TestUser | undefined, env: Record<string, string>, args: string[] = []): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const ids = user ? { uid: user.uid, gid: user.gid } : {};
    const child = spawn(launcher, args, { cwd: work, env, ...ids, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code !== 0) {
        resolve({ code, stdout, stderr, out: undefined as unknown as FakeOutput });
        return;
      }
      try {
        resolve({ code, stdout, stderr, out: parseOutput(stdout, stderr, code) });
      } catch (err) {
        reject(err);
      }
    });
  });
}

async function runOk(user: TestUser | undefined, env: Record<string, string>, args: string[] = []): Promise<RunResult> {
  const r = await runLauncher(user, env, args);
  assert.equal(r.code, 0, `launcher failed: ${r.stderr}`);
  return r;
}

function procStat(pid: number): { comm: string; state: string; ppid: number } | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = text.lastIndexOf(')');
    const rest = text.slice(close + 2).split(' ');
    return { comm: text.slice(text.indexOf('(') + 1, close), state: rest[0], ppid: Number(rest[1]) };
  } catch {
    return undefined;
  }
}

function procUid(pid: number): number | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
  } catch {
    return undefined;
  }
}

function nsInode(pid: number, ns: 'user' | 'mnt'): number {
  return fs.statSync(`/proc/${pid}/ns/${ns}`).ino;
}

/** Live (not zombie) pause processes owned by UID. */
function livePauseProcesses(uid: number): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const stat = procStat(pid);
    if (stat?.comm !== PAUSE_COMM || stat.state === 'Z' || stat.state === 'X') continue;
    if (procUid(pid) === uid) pids.push(pid);
  }
  return pids;
}

/** UID's running processes (zombies left out) and their command lines. */
function processesOf(uid: number): { pid: number; args: string }[] {
  const found: { pid: number; args: string }[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const stat = procStat(pid);
    if (!stat || stat.state === 'Z' || stat.state === 'X' || procUid(pid) !== uid) continue;
    try {
      found.push({ pid, args: fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ') });
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

async function waitUntilDead(pid: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const stat = procStat(pid);
    if (stat === undefined || stat.state === 'Z' || stat.state === 'X') return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`process ${pid} did not die`);
}

function countOccurrences(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

function killAllPause(): void {
  for (const user of [subidUser, nosubUser]) {
    if (!user) continue;
    for (const pid of livePauseProcesses(user.uid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

before(() => {
  if (process.getuid?.() !== 0) {
    throw new Error('launcher.test needs to run as root: it creates the users tspodlaunch and tspodnosub and edits their /etc/subuid and /etc/subgid ranges');
  }
  // Always rebuild: the test must exercise the current sources.
  sh('make', ['-s', '-C', path.join(REPO, 'native'), `NODE=${process.execPath}`]);

  subidUser = ensureUser(SUBID_USER);
  ensureSubids(subidUser);
  nosubUser = ensureUser(NOSUB_USER);
  removeSubids(nosubUser);
  killAllPause();
  // The fallback after XDG_RUNTIME_DIR is /run/user/UID: keep it absent so the tmp fallback is taken.
  for (const user of [subidUser, nosubUser]) fs.rmSync(`/run/user/${user.uid}`, { recursive: true, force: true });

  work = fs.mkdtempSync(path.join(os.tmpdir(), 'tspod-launcher-'));
  fs.chmodSync(work, 0o755);
  fs.mkdirSync(path.join(work, 'tmp'), { mode: 0o1777 });
  fs.chmodSync(path.join(work, 'tmp'), 0o1777);
  const pkg = path.join(work, 'pkg');
  fs.mkdirSync(path.join(pkg, 'native', 'build'), { recursive: true });
  fs.mkdirSync(path.join(pkg, 'dist', 'cmd', 'tspod'), { recursive: true });
  launcher = path.join(pkg, 'native', 'build', 'tspod');
  fakeMain = path.join(pkg, 'dist', 'cmd', 'tspod', 'main.js');
  fs.copyFileSync(path.join(REPO, 'native', 'build', 'tspod'), launcher);
  fs.chmodSync(launcher, 0o755);
  fs.writeFileSync(fakeMain, FAKE_MAIN, { mode: 0o644 });
});

after(() => {
  killAllPause();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('launcher with subordinate ids', () => {
  let runtimeDir = '';
  let first: RunResult;

  test('the first call creates the pause process and maps every subordinate range', async () => {
    runtimeDir = freshRuntimeDir(subidUser, 'subid');
    first = await runOk(subidUser, userEnv(subidUser, runtimeDir), ['ps', '-a']);
    const { out } = first;
    assert.equal(first.stderr, '', 'no warning when the ranges exist');
    assert.equal(out.uid, 0);
    assert.equal(out.gid, 0);
    assert.deepEqual(out.argv, ['ps', '-a']);
    assert.equal(out.cwd, work, 'the working directory survives setns');
    assert.deepEqual(parseMap(out.uidMap), expectedMap('/etc/subuid', subidUser, subidUser.uid));
    assert.deepEqual(parseMap(out.gidMap), expectedMap('/etc/subgid', subidUser, subidUser.gid));
    assert.ok(parseMap(out.uidMap).length >= 3, 'both subordinate ranges are mapped');
    const pausePid = Number(out.env._TSPOD_PAUSE_PID);
    // fds 0-2's flags as node got them ("t": a terminal; "-": closed), for the CLI's fast exit.
    assert.match(out.env._TSPOD_STDIO ?? '', /^(\d+|t|-),(\d+|t|-),(\d+|t|-)$/);
    delete out.env._TSPOD_STDIO;
    assert.deepEqual(out.env, {
      HOME: subidUser.home,
      _TSPOD_ROOTLESS: '1',
      _TSPOD_HOST_UID: String(subidUser.uid),
      _TSPOD_HOST_GID: String(subidUser.gid),
      _TSPOD_RUNTIME_DIR: runtimeDir,
      _TSPOD_USERNS: 'subid',
      _TSPOD_PAUSE_PID: String(pausePid),
      _TSPOD_IN_USERNS: '1',
    });
    assert.equal(fs.readFileSync(path.join(runtimeDir, 'tspod', 'pause.pid'), 'utf8').trim(), String(pausePid));
    assert.equal(fs.statSync(path.join(runtimeDir, 'tspod')).mode & 0o777, 0o700);
    assert.ok(fs.existsSync(path.join(runtimeDir, 'tspod', 'pause.lock')));
  });

  test('the pause process is a detached, idle daemon', async () => {
    const pausePid = Number(first.out.env._TSPOD_PAUSE_PID);
    const stat = procStat(pausePid);
    assert.ok(stat, 'pause process is alive');
    assert.equal(stat.comm, PAUSE_COMM);
    // Not the argv of the command that happened to create it (ps would show that command).
    assert.match(fs.readFileSync(`/proc/${pausePid}/cmdline`, 'utf8'), new RegExp(`^${PAUSE_COMM}\0--idle\0\\d+\0$`));
    assert.equal(procUid(pausePid), subidUser.uid);
    assert.notEqual(stat.ppid, first.out.pid, 'not a child of the node process');
    assert.notEqual(stat.ppid, process.pid, 'not a child of the caller');
    assert.equal(nsInode(pausePid, 'user'), first.out.userns);
    assert.equal(nsInode(pausePid, 'mnt'), first.out.mntns);
    assert.deepEqual(fs.readdirSync(`/proc/${pausePid}/fd`), [], 'holds no file descriptors');
    assert.equal(fs.readlinkSync(`/proc/${pausePid}/cwd`), '/');
    const fields = fs.readFileSync(`/proc/${pausePid}/stat`, 'utf8').split(') ')[1].split(' ');
    assert.equal(Number(fields[3]), pausePid, 'session leader');
    assert.equal(Number(fields[4]), 0, 'no controlling terminal');
    for (const signal of ['SIGINT', 'SIGHUP', 'SIGPIPE'] as const) process.kill(pausePid, signal);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(procStat(pausePid)?.state, 'S', 'SIGINT, SIGHUP and SIGPIPE are ignored');
  });

  test('a second call joins the same namespace', async () => {
    const second = await runOk(subidUser, userEnv(subidUser, runtimeDir));
    assert.equal(second.stderr, '');
    assert.equal(second.out.userns, first.out.userns);
    assert.equal(second.out.mntns, first.out.mntns);
    assert.equal(second.out.env._TSPOD_PAUSE_PID, first.out.env._TSPOD_PAUSE_PID);
    assert.equal(livePauseProcesses(subidUser.uid).length, 1);
  });

  test('a nested call inside the namespace does not join again', async () => {
    const r = await runOk(subidUser, userEnv(subidUser, runtimeDir), ['nested']);
    const nested = r.out.nested;
    assert.ok(nested);
    assert.equal(nested.status, 0, nested.stderr);
    assert.ok(nested.out);
    assert.equal(nested.out.uid, 0);
    assert.equal(nested.out.userns, first.out.userns);
    assert.equal(nested.out.env._TSPOD_IN_USERNS, '1');
    assert.equal(nested.out.env._TSPOD_ROOTLESS, '1');
    assert.equal(nested.out.env._TSPOD_HOST_UID, String(subidUser.uid));
  });

  test('run, start, pull and build get a helper server that runs mount-helper verbs for node alone; other commands none', async () => {
    const r = await runOk(subidUser, userEnv(subidUser, runtimeDir), ['run', 'helper-check']);
    assert.match(r.out.env._TSPOD_HELPER_SOCKET ?? '', /^tspod-helper-\d+-[0-9a-f]{8}$/);
    const helper = r.out.helper;
    assert.ok(helper);
    assert.equal(helper.child.code, undefined, `another process was served: ${JSON.stringify(helper.child)}`);
    assert.equal(helper.self.code, 1, JSON.stringify(helper.self));
    assert.match(helper.self.stderr ?? '', /^umount \/nonexistent-tspod-helper: No such file or directory\n$/);
    for (const word of ['start', 'pull', 'build']) assert.ok((await runOk(subidUser, userEnv(subidUser, runtimeDir), [word])).out.env._TSPOD_HELPER_SOCKET, word);
    for (const word of ['ps', 'images', 'rm']) assert.equal((await runOk(subidUser, userEnv(subidUser, runtimeDir), [word])).out.env._TSPOD_HELPER_SOCKET, undefined, word);
    // The server goes with node (killed as node ends): nothing of it is left.
    for (let i = 0; i < 100 && processesOf(subidUser.uid).some((p) => p.args.includes('helper-check')); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(processesOf(subidUser.uid).filter((p) => p.args.includes('helper-check')), []);
  });

  test('the helper server runs requests side by side, answers in order, and starts programs that run on with their stdin kept', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tspod-helper-start-'));
    fs.chmodSync(dir, 0o777);
    try {
      const r = await runOk(subidUser, userEnv(subidUser, runtimeDir), ['run', 'helper-start', dir]);
      const started = r.out.started;
      assert.ok(started, JSON.stringify(r.out));
      const [waiter, failing, touch, ...quick] = started.answers;
      assert.equal(waiter.code, 0, JSON.stringify(waiter));
      assert.match(waiter.stdout, /^\d+\nready\n$/);
      assert.deepEqual(failing, { code: 3, stdout: '', stderr: 'starting\nboom\n' });
      assert.equal(touch.code, 0, JSON.stringify(touch));
      assert.equal(quick.length, 30);
      for (const a of quick) assert.ok(a.code === 0 && /^\d+\nerror cannot bind\n$/.test(a.stdout), JSON.stringify(a));
      assert.equal(started.written, 0);
      assert.equal(started.copied, 'hello\n');
      assert.equal(started.state, 'gone');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the helper server keeps 64 programs at most: more are refused for the caller to start, and a reaped one frees its place', async () => {
    const r = await runOk(subidUser, userEnv(subidUser, runtimeDir), ['run', 'helper-many']);
    const many = r.out.many;
    assert.ok(many, JSON.stringify(r.out));
    assert.equal(many.started, 64);
    assert.deepEqual(many.refused, [1, 2].map(() => ({ code: 125, stdout: '', stderr: 'tspod helper server: too many programs started by this command\n' })));
    assert.equal(many.again, 0);
  });

  test('after kill -9 of the pause process a call creates a new one', async () => {
    const old = Number(first.out.env._TSPOD_PAUSE_PID);
    process.kill(old, 'SIGKILL');
    await waitUntilDead(old);
    const r = await runOk(subidUser, userEnv(subidUser, runtimeDir));
    const pid = Number(r.out.env._TSPOD_PAUSE_PID);
    assert.notEqual(pid, old);
    assert.notEqual(r.out.userns, first.out.userns);
    assert.equal(procStat(pid)?.comm, PAUSE_COMM);
    assert.deepEqual(parseMap(r.out.uidMap), expectedMap('/etc/subuid', subidUser, subidUser.uid));
    assert.equal(fs.readFileSync(path.join(runtimeDir, 'tspod', 'pause.pid'), 'utf8').trim(), String(pid));
  });

  test('a wiped runtime dir makes the next call create a new pause process', async () => {
    const before = await runOk(subidUser, userEnv(subidUser, runtimeDir));
    fs.rmSync(path.join(runtimeDir, 'tspod'), { recursive: true, force: true });
    const after = await runOk(subidUser, userEnv(subidUser, runtimeDir));
    assert.notEqual(after.out.env._TSPOD_PAUSE_PID, before.out.env._TSPOD_PAUSE_PID);
    assert.notEqual(after.out.userns, before.out.userns);
    assert.ok(fs.existsSync(path.join(runtimeDir, 'tspod', 'pause.pid')));
    process.kill(Number(before.out.env._TSPOD_PAUSE_PID), 'SIGKILL');
  });

  test('a stale pid file naming an unrelated process is not joined', async () => {
    const r0 = await runOk(subidUser, userEnv(subidUser, runtimeDir));
    const pidFile = path.join(runtimeDir, 'tspod', 'pause.pid');
    // A live process of the same user that is not a pause process (the pid was reused).
    const sleeper = spawn('sleep', ['30'], { uid: subidUser.uid, gid: subidUser.gid, stdio: 'ignore' });
    try {
      fs.writeFileSync(pidFile, `${sleeper.pid}\n`);
      const r = await runOk(subidUser, userEnv(subidUser, runtimeDir));
      assert.notEqual(r.out.env._TSPOD_PAUSE_PID, String(sleeper.pid));
      assert.notEqual(r.out.userns, nsInode(sleeper.pid as number, 'user'));
      assert.equal(procStat(Number(r.out.env._TSPOD_PAUSE_PID))?.comm, PAUSE_COMM);
      process.kill(Number(r0.out.env._TSPOD_PAUSE_PID), 'SIGKILL');
    } finally {
      sleeper.kill('SIGKILL');
    }
  });

  test('20 concurrent first calls create exactly one pause process', async () => {
    killAllPause();
    const dir = freshRuntimeDir(subidUser, 'concurrent');
    const results = await Promise.all(Array.from({ length: 20 }, () => runOk(subidUser, userEnv(subidUser, dir))));
    const pids = new Set(results.map((r) => r.out.env._TSPOD_PAUSE_PID));
    const namespaces = new Set(results.map((r) => r.out.userns));
    assert.equal(pids.size, 1, `pause pids: ${[...pids].join(' ')}`);
    assert.equal(namespaces.size, 1);
    assert.deepEqual(livePauseProcesses(subidUser.uid), [Number([...pids][0])]);
    for (const r of results) assert.equal(r.stderr, '');
  });

  test('_TSPOD_NO_USERNS=1 stays outside any namespace', async () => {
    const dir = freshRuntimeDir(subidUser, 'no-userns');
    const r = await runOk(subidUser, userEnv(subidUser, dir, { _TSPOD_NO_USERNS: '1' }));
    assert.equal(r.out.uid, subidUser.uid);
    assert.deepEqual(parseMap(r.out.uidMap), [[0, 0, 4294967295]]);
    assert.equal(r.out.env._TSPOD_ROOTLESS, '1');
    assert.equal(r.out.env._TSPOD_HOST_UID, String(subidUser.uid));
    assert.equal(r.out.env._TSPOD_RUNTIME_DIR, dir);
    assert.equal(r.out.env._TSPOD_USERNS, 'subid');
    assert.equal(r.out.env._TSPOD_PAUSE_PID, undefined);
    assert.equal(r.out.env._TSPOD_IN_USERNS, undefined);
    assert.ok(!fs.existsSync(path.join(dir, 'tspod', 'pause.pid')));
  });
});

describe('launcher fallbacks and errors', () => {
  test('a user without subordinate ids gets a single-id namespace and one warning', async () => {
    const dir = freshRuntimeDir(nosubUser, 'nosub');
    const first = await runOk(nosubUser, userEnv(nosubUser, dir));
    assert.equal(first.stderr, `${SUBID_WARNING(NOSUB_USER)}\n`);
    assert.deepEqual(parseMap(first.out.uidMap), [[0, nosubUser.uid, 1]]);
    assert.deepEqual(parseMap(first.out.gidMap), [[0, nosubUser.gid, 1]]);
    assert.equal(first.out.uid, 0);
    assert.equal(first.out.env._TSPOD_USERNS, 'single');
    const second = await runOk(nosubUser, userEnv(nosubUser, dir));
    assert.equal(second.stderr, '', 'the warning shows only when the namespace is created');
    assert.equal(second.out.env._TSPOD_USERNS, 'single');
    assert.equal(second.out.userns, first.out.userns);
  });

  test('an unwritable XDG_RUNTIME_DIR falls back to $TMPDIR/tspod-run-UID with one warning', async () => {
    const xdg = freshRuntimeDir(subidUser, 'readonly', 0o500);
    const fallback = path.join(work, 'tmp', `tspod-run-${subidUser.uid}`);
    const first = await runOk(subidUser, userEnv(subidUser, xdg));
    assert.equal(first.stderr, `WARN[0000] XDG_RUNTIME_DIR "${xdg}" is not writable by uid ${subidUser.uid}: using ${fallback}\n`);
    assert.equal(first.out.env._TSPOD_RUNTIME_DIR, fallback);
    const st = fs.statSync(fallback);
    assert.ok(st.isDirectory());
    assert.equal(st.uid, subidUser.uid);
    assert.equal(st.mode & 0o777, 0o700);
    assert.ok(fs.existsSync(path.join(fallback, 'tspod', 'pause.pid')));
    const second = await runOk(subidUser, userEnv(subidUser, xdg));
    assert.equal(second.stderr, '');
    assert.equal(second.out.userns, first.out.userns);
  });

  test('a fallback dir that belongs to someone else is refused', async () => {
    const tmpdir = path.join(work, 'hostile-tmp');
    fs.mkdirSync(tmpdir, { mode: 0o1777 });
    fs.chmodSync(tmpdir, 0o1777);
    const squatted = path.join(tmpdir, `tspod-run-${subidUser.uid}`);
    fs.mkdirSync(squatted, { mode: 0o777 });
    const r = await runLauncher(subidUser, userEnv(subidUser, '', { TMPDIR: tmpdir }));
    assert.equal(r.code, 125);
    assert.equal(
      r.stderr,
      `Error: runtime directory ${squatted} is not a directory owned by uid ${subidUser.uid}; remove it or set XDG_RUNTIME_DIR to a directory you own\n`,
    );
  });

  test('a failing newuidmap is one error line with its own message, and leaves no pause process', async () => {
    const dir = freshRuntimeDir(subidUser, 'badmap');
    const fakeBin = path.join(work, 'fake-bin');
    fs.mkdirSync(fakeBin, { mode: 0o755 });
    const fake = `#!${process.execPath}\nprocess.stderr.write('newuidmap: write to uid_map failed: Operation not permitted\\n');\nprocess.exit(1);\n`;
    fs.writeFileSync(path.join(fakeBin, 'newuidmap'), fake, { mode: 0o755 });
    const before = livePauseProcesses(subidUser.uid);
    const env = userEnv(subidUser, dir, { PATH: `${fakeBin}:/usr/local/bin:/usr/bin:/bin` });
    const r = await runLauncher(subidUser, env);
    assert.equal(r.code, 125);
    assert.match(
      r.stderr,
      new RegExp(
        `^Error: ${fakeBin}/newuidmap \\d+ 0 ${subidUser.uid} 1 1 \\d+ \\d+ \\d+ \\d+ \\d+ failed: newuidmap: write to uid_map failed: Operation not permitted; check that /etc/subuid .*\\n$`,
      ),
    );
    assert.equal(r.stderr.split('\n').length, 2, 'one line');
    assert.ok(!fs.existsSync(path.join(dir, 'tspod', 'pause.pid')));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(livePauseProcesses(subidUser.uid), before);
  });

  test('a node that cannot be executed is one error line and exit 125', async () => {
    const dir = freshRuntimeDir(subidUser, 'badnode');
    const r = await runLauncher(subidUser, userEnv(subidUser, dir, { TSPOD_NODE: '/nonexistent/node' }));
    assert.equal(r.code, 125);
    assert.equal(r.stderr, 'Error: cannot execute /nonexistent/node: No such file or directory; install Node.js 20 or set TSPOD_NODE to the node binary\n');
  });

  test('root runs node directly with _TSPOD_ROOTLESS=0', async () => {
    const r = await runOk(undefined, { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/root', _TSPOD_PAUSE_PID: '1', _TSPOD_IN_USERNS: '1' });
    assert.equal(r.out.uid, 0);
    assert.deepEqual(parseMap(r.out.uidMap), [[0, 0, 4294967295]]);
    assert.deepEqual(r.out.env, { HOME: '/root', _TSPOD_ROOTLESS: '0', _TSPOD_STDIO: r.out.env._TSPOD_STDIO });
    assert.match(r.out.env._TSPOD_STDIO ?? '', /^(\d+|t|-),(\d+|t|-),(\d+|t|-)$/);
    assert.equal(r.out.userns, fs.statSync('/proc/self/ns/user').ino);
  });
});

describe('launcher cost', () => {
  function timeOne(file: string, args: string[], user: TestUser, env: Record<string, string>): number {
    const start = process.hrtime.bigint();
    const r = spawnSync(file, args, { cwd: work, env, uid: user.uid, gid: user.gid, stdio: ['ignore', 'ignore', 'pipe'] });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    assert.equal(r.status, 0, String(r.stderr));
    return ms;
  }

  function median(values: number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
  }

  test('joining an existing namespace costs well under 5 ms', async () => {
    const dir = freshRuntimeDir(subidUser, 'bench');
    await runOk(subidUser, userEnv(subidUser, dir));
    const env = userEnv(subidUser, dir);
    // The launcher alone: exec /bin/true instead of node, against /bin/true run directly.
    const trueEnv = { ...env, TSPOD_NODE: '/bin/true' };
    const runs: Record<string, () => number> = {
      'launcher+node': () => timeOne(launcher, [], subidUser, env),
      'node directly': () => timeOne(process.execPath, [fakeMain], subidUser, env),
      'launcher+/bin/true': () => timeOne(launcher, [], subidUser, trueEnv),
      '/bin/true directly': () => timeOne('/bin/true', [], subidUser, env),
    };
    const times: Record<string, number[]> = {};
    for (const name of Object.keys(runs)) times[name] = [];
    // Interleaved, so that CPU frequency and cache warmth drift affects every variant alike.
    const n = 100;
    for (let i = 0; i < n; i++) for (const [name, run] of Object.entries(runs)) times[name].push(run());
    const stats = Object.entries(times).map(([name, t]) => {
      const total = t.reduce((a, b) => a + b, 0);
      return `${name}: total ${total.toFixed(0)} ms, median ${median(t).toFixed(2)} ms`;
    });
    const nodeOverhead = median(times['launcher+node']) - median(times['node directly']);
    const joinOverhead = median(times['launcher+/bin/true']) - median(times['/bin/true directly']);
    const report = `${n} launches each: ${stats.join('; ')}; join cost (median) ${joinOverhead.toFixed(2)} ms over /bin/true, ${nodeOverhead.toFixed(2)} ms over node`;
    process.stdout.write(`# ${report}\n`);
    assert.ok(joinOverhead < 5, report);
  });
});

describe('launcher start-up snapshot', () => {
  let blob = '';
  let stamp = '';
  let listingBlob = '';
  let dailyBlob = '';
  let runBlob = '';

  before(() => {
    const entry = path.join(work, 'snapshot-entry.js');
    fs.writeFileSync(entry, FAKE_SNAPSHOT_ENTRY);
    blob = path.join(work, 'pkg', 'dist', 'tspod.blob');
    stamp = `${blob}.node`;
    sh(process.execPath, ['--snapshot-blob', blob, '--no-rehash-snapshot', '--build-snapshot', entry]);
    const node = fs.statSync(process.execPath);
    fs.writeFileSync(stamp, `${node.size} ${Math.floor(node.mtimeMs / 1000)} --no-rehash-snapshot\n`);
    listingBlob = path.join(work, 'pkg', 'dist', 'tspod-listing.blob');
    dailyBlob = path.join(work, 'pkg', 'dist', 'tspod-daily.blob');
    runBlob = path.join(work, 'pkg', 'dist', 'tspod-run.blob');
    for (const copy of [listingBlob, dailyBlob, runBlob]) {
      fs.copyFileSync(blob, copy);
      fs.copyFileSync(stamp, `${copy}.node`);
    }
  });

  after(() => {
    for (const file of [blob, listingBlob, dailyBlob, runBlob]) {
      fs.rmSync(file, { force: true });
      fs.rmSync(`${file}.node`, { force: true });
    }
  });

  const rootEnv = (extra: Record<string, string> = {}): Record<string, string> => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/root', ...extra });
  // Words node itself would take for its own options must reach the CLI untouched.
  const args = ['--log-level', 'debug', '--', '-v', 'ps'];

  test('node starts from dist/tspod.blob when it was built by the same node, with every argument passed on', async () => {
    const r = await runOk(undefined, rootEnv(), args);
    assert.equal(r.out.snapshot, true);
    assert.deepEqual(r.out.argv, args);
    assert.deepEqual((r.out as unknown as { execArgv: string[] }).execArgv, ['--snapshot-blob', blob, '--no-rehash-snapshot']);
  });

  test('images and version start from dist/tspod-listing.blob, run, create and start from dist/tspod-run.blob, the other daily container commands from dist/tspod-daily.blob, the rest and any line starting with a flag from dist/tspod.blob', async () => {
    const started = async (argv: string[]): Promise<string> => {
      const r = await runOk(undefined, rootEnv(), argv);
      assert.deepEqual(r.out.argv, argv);
      return (r.out as unknown as { execArgv: string[] }).execArgv[1];
    };
    assert.equal(await started(['images', '-a']), listingBlob);
    assert.equal(await started(['version']), listingBlob);
    for (const argv of [['run', '--rm', 'busybox'], ['create', 'busybox'], ['start', 'x']]) assert.equal(await started(argv), runBlob, argv.join(' '));
    for (const argv of [['ps', '-a'], ['container', 'cleanup', 'x'], ['rm', '-f', 'x']]) assert.equal(await started(argv), dailyBlob, argv.join(' '));
    for (const argv of [['image', 'ls'], ['build', '.'], ['--root', '/x', 'images'], ['--log-level', 'debug', 'ps'], ['imagesx'], []]) assert.equal(await started(argv), blob, argv.join(' '));
  });

  test('a smaller blob that cannot be used leaves its commands to dist/tspod.blob', async () => {
    const listingStamp = `${listingBlob}.node`;
    const good = fs.readFileSync(listingStamp, 'utf8');
    fs.writeFileSync(listingStamp, '1 1 --no-rehash-snapshot\n');
    try {
      const r = await runOk(undefined, rootEnv(), ['images']);
      assert.deepEqual((r.out as unknown as { execArgv: string[] }).execArgv, ['--snapshot-blob', blob, '--no-rehash-snapshot']);
    } finally {
      fs.writeFileSync(listingStamp, good);
    }
    for (const [missing, argv, fallback] of [
      [listingBlob, ['version'], () => blob],
      [dailyBlob, ['ps'], () => blob],
      // run's own blob missing: the daily one, which holds run too
      [runBlob, ['run'], () => dailyBlob],
    ] as const) {
      fs.renameSync(missing, `${missing}.away`);
      try {
        const r = await runOk(undefined, rootEnv(), [...argv]);
        assert.deepEqual((r.out as unknown as { execArgv: string[] }).execArgv, ['--snapshot-blob', fallback(), '--no-rehash-snapshot']);
      } finally {
        fs.renameSync(`${missing}.away`, missing);
      }
    }
  });

  test("node from the snapshot runs with malloc on huge pages, and the user's GLIBC_TUNABLES is kept for the CLI to put back", async () => {
    const none = await runOk(undefined, rootEnv(), args);
    assert.deepEqual(none.out.env, { GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1', _TSPOD_GLIBC_TUNABLES: '' });
    const own = await runOk(undefined, rootEnv({ GLIBC_TUNABLES: 'glibc.malloc.check=3' }), args);
    assert.deepEqual(own.out.env, { GLIBC_TUNABLES: 'glibc.malloc.check=3:glibc.malloc.hugetlb=1', _TSPOD_GLIBC_TUNABLES: '=glibc.malloc.check=3' });
    // The user's own hugetlb choice stands.
    const off = await runOk(undefined, rootEnv({ GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' }), args);
    assert.deepEqual(off.out.env, { GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' });
  });

  test('TSPOD_NO_SNAPSHOT=1 starts from main.js', async () => {
    const r = await runOk(undefined, rootEnv({ TSPOD_NO_SNAPSHOT: '1', GLIBC_TUNABLES: 'glibc.malloc.check=3' }), args);
    assert.equal(r.out.snapshot, undefined);
    assert.deepEqual(r.out.argv, args);
    // Only a start from the snapshot reads a blob: main.js runs with the user's settings.
    assert.equal(r.out.env.GLIBC_TUNABLES, 'glibc.malloc.check=3');
    assert.equal(r.out.env._TSPOD_GLIBC_TUNABLES, undefined);
  });

  // node exits 14 on a blob built with other V8 flags than it is given: main.js must run instead.
  for (const [what, stampText] of [
    ['by another node binary', () => '1 1 --no-rehash-snapshot\n'],
    ['with other V8 flags', (good: string) => good.replace(' --no-rehash-snapshot', '')],
  ] as const) {
    test(`a blob built ${what} is not used: main.js runs instead`, async () => {
      const good = fs.readFileSync(stamp, 'utf8');
      fs.writeFileSync(stamp, stampText(good));
      try {
        const r = await runOk(undefined, rootEnv(), args);
        assert.equal(r.out.snapshot, undefined);
        assert.deepEqual(r.out.argv, args);
      } finally {
        fs.writeFileSync(stamp, good);
      }
    });
  }
});
