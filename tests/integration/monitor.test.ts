// tspod-monitor with real runc containers, as root and as the unprivileged test user inside
// tspod's user namespace. Like storage-drivers.test.ts this file is two things:
//   - the node:test suite (run by root): each scenario runs once in this process (root mode)
//     and once through the installed launcher as the test user
//     (`tspod unshare node <this file> --in-namespace SCENARIO DIR`, uid 0 of its namespace);
//   - with --in-namespace, the body that runs one scenario and prints a JSON report.
// Scenarios build a busybox rootfs, write config.json with `runc spec` (`--rootless` in the
// namespace), start a monitor with startMonitor, attach with connectAttach, and always
// `runc delete -f` their containers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { AttachSession, connectAttach } from '../../pkg/runtime/monitor-client';
import { MonitorOptions, MonitorStartError, monitorArgs, monitorBinaryPath, startMonitor } from '../../pkg/runtime/monitor-launch';
import { FrameDecoder, FrameType } from '../../pkg/runtime/monitor-protocol';
import { RunResult, hasTestEnv, testEnv, tspod } from './harness';

const IN_NAMESPACE = '--in-namespace';
const WAIT_MS = 20_000;
const RSS_LIMIT_KB = 2048;

// ---------------------------------------------------------------- helpers ------------------

interface Ctx {
  dir: string;
  rootless: boolean;
  runc: string;
  runcRoot: string;
  rootfs: string;
}

type Report = Record<string, unknown>;

function findRunc(): string {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/bin', '/sbin', '/usr/local/sbin']) {
    const file = path.join(dir || '.', 'runc');
    if (fs.existsSync(file)) return file;
  }
  throw new Error('runc not found');
}

function makeCtx(dir: string, rootless: boolean): Ctx {
  const rootfs = path.join(dir, 'rootfs');
  fs.mkdirSync(path.join(rootfs, 'bin'), { recursive: true });
  fs.mkdirSync(path.join(rootfs, 'tmp'), { recursive: true });
  fs.copyFileSync('/bin/busybox', path.join(rootfs, 'bin/busybox'));
  fs.chmodSync(path.join(rootfs, 'bin/busybox'), 0o755);
  const applets = execFileSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).split('\n').filter((a) => a && a !== 'busybox');
  for (const applet of applets) fs.symlinkSync('busybox', path.join(rootfs, 'bin', applet));
  return { dir, rootless, runc: findRunc(), runcRoot: path.join(dir, 'runc-root'), rootfs };
}

let containerCounter = 0;

interface Container {
  id: string;
  bundle: string;
  socketDir: string;
  exitDir: string;
  logPath: string;
  config: { process: Record<string, unknown> };
}

/** A bundle whose config.json runs ARGS; the rootfs is shared by all of the context's bundles. */
function makeContainer(ctx: Ctx, args: string[], terminal = false, socketDir?: string): Container {
  const id = `tspod-mon-${process.pid}-${++containerCounter}`;
  const bundle = path.join(ctx.dir, id);
  fs.mkdirSync(bundle, { recursive: true });
  execFileSync(ctx.runc, ['spec', ...(ctx.rootless ? ['--rootless'] : []), '--bundle', bundle]);
  const file = path.join(bundle, 'config.json');
  const config = JSON.parse(fs.readFileSync(file, 'utf8'));
  config.root = { path: ctx.rootfs, readonly: false };
  config.process.args = args;
  config.process.terminal = terminal;
  fs.writeFileSync(file, JSON.stringify(config));
  const sockets = socketDir ?? path.join(bundle, 'sock');
  fs.mkdirSync(sockets, { recursive: true });
  fs.mkdirSync(path.join(bundle, 'exits'));
  return { id, bundle, socketDir: sockets, exitDir: path.join(bundle, 'exits'), logPath: path.join(bundle, 'ctr.log'), config };
}

function monitorOptions(ctx: Ctx, c: Container, extra: Partial<MonitorOptions> = {}): MonitorOptions {
  return {
    cid: c.id,
    bundle: c.bundle,
    runtime: ctx.runc,
    runtimeArgs: ['--root', ctx.runcRoot],
    exitDir: c.exitDir,
    socketDir: c.socketDir,
    logDriver: 'k8s-file',
    logPath: c.logPath,
    ...extra,
  };
}

function runc(ctx: Ctx, args: string[]): string {
  return execFileSync(ctx.runc, ['--root', ctx.runcRoot, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function runcState(ctx: Ctx, id: string): string | undefined {
  const r = spawnSync(ctx.runc, ['--root', ctx.runcRoot, 'state', id], { encoding: 'utf8' });
  return r.status === 0 ? (JSON.parse(r.stdout) as { status: string }).status : undefined;
}

function removeContainer(ctx: Ctx, c: Container): void {
  spawnSync(ctx.runc, ['--root', ctx.runcRoot, 'delete', '-f', c.id], { stdio: 'ignore' });
}

async function waitFor(cond: () => boolean, what: string, ms = WAIT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Alive and not a zombie. */
function processAlive(pid: number): boolean {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return !/^State:\s+Z/m.test(status);
  } catch {
    return false;
  }
}

function procStatus(pid: number, field: string): string {
  const m = new RegExp(`^${field}:\\s+(.*)$`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? m[1] : '';
}

/** TARGET is a mount point of this process's mount namespace. */
function mountedAt(target: string): boolean {
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((line) => line.split(' ')[4] === target);
}

async function exitFile(c: Container, name = c.id): Promise<number> {
  const file = path.join(c.exitDir, name);
  await waitFor(() => fs.existsSync(file), `exit file ${file}`);
  return Number(fs.readFileSync(file, 'utf8'));
}

class Collector extends Writable {
  private chunks: Buffer[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.chunks.push(chunk);
    cb();
  }
  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

interface K8sRecord {
  time: string;
  stream: string;
  tag: string;
  text: string;
}

function parseK8s(file: string): K8sRecord[] {
  const records: K8sRecord[] = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (line === '') continue;
    const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z) (stdout|stderr) ([FP]) (.*)$/s.exec(line);
    assert.ok(m, `not a k8s-file record: ${JSON.stringify(line.slice(0, 100))}`);
    records.push({ time: m[1], stream: m[2], tag: m[3], text: m[4] });
  }
  return records;
}

/** A stream's text as a log reader rebuilds it: P records continue, F records end a line. */
function k8sText(records: K8sRecord[], stream: string): string {
  return records.filter((r) => r.stream === stream).map((r) => (r.tag === 'F' ? `${r.text}\n` : r.text)).join('');
}

/** Monitor, attach client, `runc start`: the order `run -a` uses. */
async function startAttached(ctx: Ctx, c: Container, extra: Partial<MonitorOptions> = {}, stdin?: PassThrough, tty = false) {
  const started = await startMonitor(monitorOptions(ctx, c, extra));
  const stdout = new Collector();
  const stderr = new Collector();
  const session = await connectAttach(path.join(c.socketDir, 'attach'), { stdout, stderr, stdin, tty });
  runc(ctx, ['start', c.id]);
  return { started, session, stdout, stderr };
}

// ---------------------------------------------------------------- scenarios ----------------

const scenarios: Record<string, (ctx: Ctx) => Promise<Report | void>> = {
  /** k8s-file records with stream names and F/P; the attach client gets the same bytes. */
  async 'k8s-file log and attach'(ctx) {
    const script = "echo line1; echo err1 >&2; head -c 20000 /dev/zero | tr '\\0' a; echo; printf tail; exit 7";
    const c = makeContainer(ctx, ['sh', '-c', script]);
    try {
      const { session, stdout, stderr } = await startAttached(ctx, c);
      const result = await session.result;
      assert.deepEqual(result, { exitCode: 7, detached: false });
      const expected = `line1\n${'a'.repeat(20000)}\ntail`;
      assert.equal(stdout.text(), expected);
      assert.equal(stderr.text(), 'err1\n');
      assert.equal(await exitFile(c), 7);
      const records = parseK8s(c.logPath);
      assert.equal(k8sText(records, 'stdout'), expected);
      assert.equal(k8sText(records, 'stderr'), 'err1\n');
      const out = records.filter((r) => r.stream === 'stdout').map((r) => `${r.tag}${r.text.length}`);
      assert.deepEqual(out, ['F5', 'P16384', 'F3616', 'P4'], 'a line over 16 KiB is split with P; the unterminated tail is P');
      await waitFor(() => !fs.existsSync(path.join(c.socketDir, 'attach')), 'the attach socket to be removed at exit');
    } finally {
      removeContainer(ctx, c);
    }
  },

  async 'json-file log'(ctx) {
    const c = makeContainer(ctx, ['sh', '-c', `echo 'say "hi" <&>'; printf '\\001tab\\there\\n' >&2; printf 'caf\\303\\251 \\377\\n'`]);
    try {
      const started = await startMonitor(monitorOptions(ctx, c, { logDriver: 'json-file' }));
      assert.ok(started.containerPid > 0);
      runc(ctx, ['start', c.id]);
      assert.equal(await exitFile(c), 0);
      const raw = fs.readFileSync(c.logPath, 'utf8');
      assert.ok(raw.includes('\\u003c\\u0026\\u003e'), 'HTML characters escaped as Docker does');
      const lines = raw.trim().split('\n').map((l) => JSON.parse(l) as { log: string; stream: string; time: string });
      for (const l of lines) assert.match(l.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/);
      assert.deepEqual(lines.filter((l) => l.stream === 'stdout').map((l) => l.log), ['say "hi" <&>\n', 'café \ufffd\n']);
      assert.deepEqual(lines.filter((l) => l.stream === 'stderr').map((l) => l.log), ['\u0001tab\there\n']);
    } finally {
      removeContainer(ctx, c);
    }
  },

  /** A shell on a pty: echo, resize seen by stty, exit code. */
  async 'terminal: input, resize, exit code'(ctx) {
    const c = makeContainer(ctx, ['sh'], true);
    try {
      const stdin = new PassThrough();
      const { session, stdout } = await startAttached(ctx, c, { terminal: true, stdin: true }, stdin, true);
      stdin.write('echo hi\n');
      await waitFor(() => /\r?\nhi\r?\n/.test(stdout.text()), 'the echo from the shell');
      session.sendResize(33, 101);
      stdin.write('stty size\n');
      await waitFor(() => /33 101/.test(stdout.text()), 'stty size to report 33 101');
      stdin.write('exit 3\n');
      assert.deepEqual(await session.result, { exitCode: 3, detached: false });
      assert.equal(await exitFile(c), 3);
      const records = parseK8s(c.logPath);
      assert.ok(records.every((r) => r.stream === 'stdout'), 'pty output is logged as stdout');
      assert.ok(k8sText(records, 'stdout').includes('33 101'));
    } finally {
      removeContainer(ctx, c);
    }
  },

  /** Socket dir past sun_path's 108 bytes: console and attach sockets go through /proc. */
  async 'long socket directory'(ctx) {
    const deep = path.join(ctx.dir, 'x'.repeat(60), 'y'.repeat(60));
    const c = makeContainer(ctx, ['sh', '-c', 'echo long-path-ok'], true, deep);
    try {
      const { session, stdout } = await startAttached(ctx, c, { terminal: true });
      assert.equal((await session.result).exitCode, 0);
      assert.match(stdout.text(), /long-path-ok/);
      await waitFor(() => !fs.existsSync(path.join(deep, 'attach')), 'the attach socket to be removed at exit');
    } finally {
      removeContainer(ctx, c);
    }
  },

  /** Ctrl-P Ctrl-Q leaves the container running; a second client takes over. */
  async 'detach and attach again'(ctx) {
    const c = makeContainer(ctx, ['sh'], true);
    try {
      const first = new PassThrough();
      const { session, stdout } = await startAttached(ctx, c, { terminal: true, stdin: true }, first, true);
      first.write('echo one\n');
      await waitFor(() => /\r?\none\r?\n/.test(stdout.text()), 'the first echo');
      first.write(Buffer.from([0x10, 0x11]));
      assert.deepEqual(await session.result, { detached: true });
      assert.equal(runcState(ctx, c.id), 'running');
      const second = new PassThrough();
      const out = new Collector();
      const again = await connectAttach(path.join(c.socketDir, 'attach'), { stdin: second, stdout: out, stderr: out, tty: true });
      second.write('echo two; exit 4\n');
      assert.deepEqual(await again.result, { exitCode: 4, detached: false });
      assert.match(out.text(), /two/);
      assert.doesNotMatch(out.text(), /one/, 'no backlog is replayed to a new client');
    } finally {
      removeContainer(ctx, c);
    }
  },

  /** A client that never reads is dropped after a bounded pause; the other client gets everything. */
  async 'a stuck attach client does not stall the container'(ctx) {
    const size = 4_000_000;
    const c = makeContainer(ctx, ['sh', '-c', `head -c ${size} /dev/zero; echo done >&2`]);
    try {
      await startMonitor(monitorOptions(ctx, c, { logDriver: 'none', logPath: undefined }));
      const socket = path.join(c.socketDir, 'attach');
      const stuck = net.createConnection(socket);
      await new Promise((resolve) => stuck.once('connect', resolve));
      stuck.pause();
      const stdout = new Collector();
      const stderr = new Collector();
      const session = await connectAttach(socket, { stdout, stderr, tty: false });
      const t0 = Date.now();
      runc(ctx, ['start', c.id]);
      assert.equal(await exitFile(c), 0);
      assert.ok(Date.now() - t0 < 8000, `the container took ${Date.now() - t0} ms: the stuck client held it back too long`);
      assert.deepEqual(await session.result, { exitCode: 0, detached: false });
      assert.equal(stdout.text().length, size);
      assert.equal(stderr.text(), 'done\n');
      const frames: number[] = [];
      const decoder = new FrameDecoder();
      stuck.on('data', (chunk: Buffer) => frames.push(...decoder.push(chunk).map((f) => f.type)));
      stuck.resume();
      await new Promise((resolve) => stuck.once('close', resolve));
      assert.ok(!frames.includes(FrameType.Exit), 'the stuck client was dropped before the end');
    } finally {
      removeContainer(ctx, c);
    }
  },

  /** A stdin pipe: cat echoes, then exits when the client's stdin ends. */
  async 'stdin pipe and EOF'(ctx) {
    const c = makeContainer(ctx, ['cat']);
    try {
      const stdin = new PassThrough();
      const { session, stdout } = await startAttached(ctx, c, { stdin: true }, stdin);
      stdin.write('first\n');
      await waitFor(() => stdout.text() === 'first\n', 'cat to echo');
      stdin.end('second\n');
      assert.deepEqual(await session.result, { exitCode: 0, detached: false });
      assert.equal(stdout.text(), 'first\nsecond\n');
    } finally {
      removeContainer(ctx, c);
    }
  },

  async 'log rotation'(ctx) {
    const script = 'i=0; while [ $i -lt 200 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done';
    const c = makeContainer(ctx, ['sh', '-c', script]);
    try {
      await startMonitor(monitorOptions(ctx, c, { logSizeMax: 1000, logMaxFiles: 3 }));
      runc(ctx, ['start', c.id]);
      assert.equal(await exitFile(c), 0);
      await waitFor(() => !fs.existsSync(path.join(c.socketDir, 'attach')), 'the monitor to finish');
      const files = fs.readdirSync(c.bundle).filter((f) => f.startsWith('ctr.log')).sort();
      assert.deepEqual(files, ['ctr.log', 'ctr.log.1', 'ctr.log.2']);
      for (const f of files) assert.ok(fs.statSync(path.join(c.bundle, f)).size < 1200, `${f} is about the max size`);
      const last = parseK8s(c.logPath);
      assert.equal(last[last.length - 1].text, 'line-199-' + 'x'.repeat(40));
      const older = parseK8s(`${c.logPath}.1`);
      const firstNewer = Number(/line-(\d+)/.exec(last[0].text)?.[1]);
      assert.equal(Number(/line-(\d+)/.exec(older[older.length - 1].text)?.[1]), firstNewer - 1, 'rotation loses no line');
    } finally {
      removeContainer(ctx, c);
    }
  },

  async 'killed container exits 137'(ctx) {
    const c = makeContainer(ctx, ['sleep', '1000']);
    try {
      const { session } = await startAttached(ctx, c);
      runc(ctx, ['kill', c.id, 'KILL']);
      assert.deepEqual(await session.result, { exitCode: 137, detached: false });
      assert.equal(await exitFile(c), 137);
    } finally {
      removeContainer(ctx, c);
    }
  },

  /** --sync-start: created, not running, until the caller asks; then started by the monitor,
   * with the attach client that connected first getting all output. At the exit the runtime's
   * record and the --release-mount target are gone before the exit file appears. */
  async 'held start, and the release at the exit'(ctx) {
    const c = makeContainer(ctx, ['sh', '-c', 'echo started; exit 5']);
    const held = path.join(c.bundle, 'held-mount');
    fs.mkdirSync(held);
    execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', held]);
    try {
      const started = await startMonitor(monitorOptions(ctx, c, { holdStart: true, release: { runtime: true, mounts: [held] } }));
      assert.ok(started.held, 'a held start');
      const stdout = new Collector();
      const session = await connectAttach(path.join(c.socketDir, 'attach'), { stdout, stderr: new Collector(), tty: false });
      assert.equal(runcState(ctx, c.id), 'created', 'nothing runs before start()');
      await started.held.start();
      assert.deepEqual(await session.result, { exitCode: 5, detached: false });
      assert.equal(stdout.text(), 'started\n');
      assert.equal(await exitFile(c), 5);
      assert.equal(runcState(ctx, c.id), undefined, 'the runtime deleted the container before the exit file');
      assert.ok(!mountedAt(held), 'the release mount was unmounted before the exit file');
    } finally {
      if (mountedAt(held)) execFileSync('umount', [held]);
      removeContainer(ctx, c);
    }
  },

  /** A caller that gives up (or dies) before start(): the created container is deleted and
   * ends as a killed one, so nothing waits forever for a start. */
  async 'an abandoned held start deletes the created container'(ctx) {
    const c = makeContainer(ctx, ['sleep', '1000']);
    try {
      const started = await startMonitor(monitorOptions(ctx, c, { holdStart: true }));
      started.held?.abandon();
      assert.equal(await exitFile(c), 137);
      assert.equal(runcState(ctx, c.id), undefined);
      await waitFor(() => !processAlive(started.monitorPid), 'the monitor to exit');
    } finally {
      removeContainer(ctx, c);
    }
  },

  /** The runtime's failure to start reaches the caller as MonitorStartError, with its words. */
  async 'a held start that fails reports the runtime\'s error'(ctx) {
    const c = makeContainer(ctx, ['sleep', '1000']);
    try {
      const started = await startMonitor(monitorOptions(ctx, c, { holdStart: true }));
      // The runtime loses its record while the created process waits: its start fails.
      const state = path.join(ctx.runcRoot, c.id);
      fs.renameSync(state, `${state}.hidden`);
      try {
        await assert.rejects(started.held?.start() as Promise<void>, (err: unknown) => {
          assert.ok(err instanceof MonitorStartError, String(err));
          assert.ok(err.code !== 0);
          assert.match(err.message, /does not exist|not found|no such/i);
          return true;
        });
      } finally {
        fs.renameSync(`${state}.hidden`, state);
      }
      assert.equal(runcState(ctx, c.id), 'created', 'the process did not run');
      runc(ctx, ['delete', '-f', c.id]);
      assert.equal(await exitFile(c), 137);
    } finally {
      removeContainer(ctx, c);
    }
  },

  /** --sync-socket: the monitor connects to a socket its caller listens on (how the launcher's
   * helper server starts it) and reports there, as on an inherited fd. */
  async 'sync over a socket the caller listens on'(ctx) {
    const c = makeContainer(ctx, ['sh', '-c', 'exit 4']);
    const file = path.join(ctx.dir, `sync-${containerCounter}.sock`);
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(file, () => resolve()));
    try {
      const connected = new Promise<net.Socket>((resolve) => server.once('connection', resolve));
      const monitor = spawnSync(monitorBinaryPath(), monitorArgs({ ...monitorOptions(ctx, c), holdStart: true }, file), { encoding: 'utf8' });
      assert.equal(monitor.status, 0, monitor.stderr);
      const socket = await connected;
      const lines: string[] = [];
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        text += chunk;
        while (text.includes('\n')) {
          lines.push(text.slice(0, text.indexOf('\n')));
          text = text.slice(text.indexOf('\n') + 1);
        }
      });
      await waitFor(() => lines.length === 1, 'the pid line');
      assert.match(lines[0], /^\{"pid":\d+\}$/);
      socket.write('start\n');
      await waitFor(() => lines.length === 2, 'the answer to start');
      assert.equal(lines[1], '{"started":true}');
      assert.equal(await exitFile(c), 4);
      socket.destroy();
    } finally {
      server.close();
      removeContainer(ctx, c);
    }
  },

  async 'exit command runs after the exit file'(ctx) {
    const c = makeContainer(ctx, ['true']);
    const marker = path.join(c.bundle, 'exit-command-ran');
    try {
      const touch = fs.existsSync('/usr/bin/touch') ? '/usr/bin/touch' : '/bin/touch';
      await startMonitor(monitorOptions(ctx, c, { exitCommand: [touch, marker] }));
      runc(ctx, ['start', c.id]);
      assert.equal(await exitFile(c), 0);
      await waitFor(() => fs.existsSync(marker), 'the exit command to create its file');
    } finally {
      removeContainer(ctx, c);
    }
  },

  /** An attached `run --rm` removes the container itself: the monitor waits for it and then
   * starts no exit command; the container's end is still reported first. */
  async 'a client that cleans up replaces the exit command'(ctx) {
    const c = makeContainer(ctx, ['sh', '-c', 'exit 3']);
    const marker = path.join(c.bundle, 'exit-command-ran');
    try {
      const touch = fs.existsSync('/usr/bin/touch') ? '/usr/bin/touch' : '/bin/touch';
      const started = await startMonitor(monitorOptions(ctx, c, { exitCommand: [touch, marker] }));
      const session = await connectAttach(path.join(c.socketDir, 'attach'), { stdout: new Collector(), stderr: new Collector(), tty: false, cleansUp: true });
      runc(ctx, ['start', c.id]);
      assert.deepEqual(await session.result, { exitCode: 3, detached: false });
      assert.equal(await exitFile(c), 3);
      assert.ok(processAlive(started.monitorPid), 'the monitor waits while the client cleans up');
      await session.cleanupDone();
      await waitFor(() => !processAlive(started.monitorPid), 'the monitor to exit');
      assert.equal(fs.existsSync(marker), false, 'no exit command after the client cleaned up');
    } finally {
      removeContainer(ctx, c);
    }
  },

  /** The same client killed before it cleaned up (its connection just closes): the exit
   * command runs after all, so a --rm container whose CLI died is still removed. */
  async 'a client that claims cleanup and vanishes leaves it to the exit command'(ctx) {
    const c = makeContainer(ctx, ['true']);
    const marker = path.join(c.bundle, 'exit-command-ran');
    try {
      const touch = fs.existsSync('/usr/bin/touch') ? '/usr/bin/touch' : '/bin/touch';
      await startMonitor(monitorOptions(ctx, c, { exitCommand: [touch, marker] }));
      const session = await connectAttach(path.join(c.socketDir, 'attach'), { stdout: new Collector(), stderr: new Collector(), tty: false, cleansUp: true });
      runc(ctx, ['start', c.id]);
      assert.equal((await session.result).exitCode, 0);
      session.close();
      await waitFor(() => fs.existsSync(marker), 'the exit command to create its file');
    } finally {
      removeContainer(ctx, c);
    }
  },

  async 'create failure carries the runtime error'(ctx) {
    const c = makeContainer(ctx, ['nonexistent-binary']);
    try {
      await assert.rejects(startMonitor(monitorOptions(ctx, c)), (err: unknown) => {
        assert.ok(err instanceof MonitorStartError, String(err));
        assert.match(err.message, /executable file not found/);
        assert.match(err.runtimeMessage, /nonexistent-binary/);
        assert.equal(err.code, 1);
        assert.equal(err.exitCode, 125);
        return true;
      });
      assert.ok(!fs.existsSync(path.join(c.socketDir, 'attach')), 'a failed monitor removes its socket');
    } finally {
      removeContainer(ctx, c);
    }
  },

  /** startMonitor from a node process that exits: the monitor stays and still does its job. */
  async 'monitor outlives its caller'(ctx) {
    const c = makeContainer(ctx, ['sleep', '1000']);
    try {
      const { monitorPid, callerPid } = callerProcess(monitorOptions(ctx, c));
      assert.ok(processAlive(monitorPid), 'the monitor runs after its caller exited');
      assert.notEqual(Number(procStatus(monitorPid, 'PPid')), callerPid);
      assert.equal(runcState(ctx, c.id), 'created');
      runc(ctx, ['start', c.id]);
      assert.equal(runcState(ctx, c.id), 'running');
      runc(ctx, ['kill', c.id, 'KILL']);
      assert.equal(await exitFile(c), 137);
      await waitFor(() => !processAlive(monitorPid), 'the monitor to exit');
    } finally {
      removeContainer(ctx, c);
    }
  },

  /** --ready-fd (the helper server's @start): no fork to detach; "ready" on the fd once set up,
   * then the create's report on the sync fd as always, from the very process started. */
  async 'started detached: ready on its fd, no fork'(ctx) {
    const c = makeContainer(ctx, ['sleep', '1000']);
    const pidFile = path.join(ctx.dir, `${c.id}.monitor.pid`);
    const child = spawn(monitorBinaryPath(), [...monitorArgs({ ...monitorOptions(ctx, c), pidFile }, 4), '--ready-fd', '3'], {
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
    });
    const readLine = (stream: NodeJS.ReadableStream): Promise<string> =>
      new Promise((resolve, reject) => {
        let text = '';
        stream.on('data', (d: Buffer) => {
          text += d.toString();
          if (text.includes('\n')) resolve(text);
        });
        stream.on('end', () => reject(new Error(`ended after ${JSON.stringify(text)}`)));
      });
    try {
      assert.equal(await readLine(child.stdio[3] as NodeJS.ReadableStream), 'ready\n');
      const report = JSON.parse(await readLine(child.stdio[4] as NodeJS.ReadableStream)) as { pid?: number };
      assert.ok(report.pid && report.pid > 0, JSON.stringify(report));
      assert.equal(Number(fs.readFileSync(pidFile, 'utf8')), child.pid, 'the monitor is the process started, not a fork of it');
      assert.ok(processAlive(child.pid as number));
      assert.equal(runcState(ctx, c.id), 'created');
      runc(ctx, ['start', c.id]);
      runc(ctx, ['kill', c.id, 'KILL']);
      assert.equal(await exitFile(c), 137);
      await waitFor(() => child.exitCode !== null, 'the monitor to exit');
      assert.equal(child.exitCode, 0);
    } finally {
      child.kill('SIGKILL');
      removeContainer(ctx, c);
    }
  },

  /** passthrough: the container writes to the caller's own stdout; nothing is logged. */
  async 'passthrough stdio'(ctx) {
    const c = makeContainer(ctx, ['sh', '-c', 'echo through-the-caller']);
    try {
      const { stdout } = callerProcess(monitorOptions(ctx, c, { logDriver: 'passthrough', logPath: undefined }), c.id, ctx);
      assert.equal(stdout, 'through-the-caller\n');
      assert.equal(await exitFile(c), 0);
    } finally {
      removeContainer(ctx, c);
    }
  },

  async 'exec session with attach'(ctx) {
    const c = makeContainer(ctx, ['sleep', '1000']);
    try {
      await startMonitor(monitorOptions(ctx, c));
      runc(ctx, ['start', c.id]);
      const processFile = path.join(c.bundle, 'exec.json');
      fs.writeFileSync(processFile, JSON.stringify({ ...c.config.process, args: ['sh', '-c', 'echo from-exec; echo oops >&2; exit 5'] }));
      const socketDir = path.join(c.bundle, 'exec-sock');
      fs.mkdirSync(socketDir);
      await startMonitor(monitorOptions(ctx, c, {
        socketDir,
        logDriver: 'none',
        logPath: undefined,
        exec: { processFile, execId: 'exec1', holdOutputForAttach: true },
      }));
      const stdout = new Collector();
      const stderr = new Collector();
      const result = await (await connectAttach(path.join(socketDir, 'attach'), { stdout, stderr, tty: false })).result;
      assert.deepEqual(result, { exitCode: 5, detached: false });
      assert.equal(stdout.text(), 'from-exec\n');
      assert.equal(stderr.text(), 'oops\n');
      assert.equal(await exitFile(c, 'exec1'), 5);
      assert.equal(runcState(ctx, c.id), 'running', 'the container outlives its exec session');

      // The same with a pty: the runtime hands the exec'd process's master over the console socket.
      const ttyProcess = path.join(c.bundle, 'exec-tty.json');
      fs.writeFileSync(ttyProcess, JSON.stringify({ ...c.config.process, terminal: true, args: ['sh', '-c', 'tty; exit 2'] }));
      const ttySockets = path.join(c.bundle, 'exec-tty-sock');
      fs.mkdirSync(ttySockets);
      await startMonitor(monitorOptions(ctx, c, {
        socketDir: ttySockets,
        logDriver: 'none',
        logPath: undefined,
        terminal: true,
        exec: { processFile: ttyProcess, execId: 'exec2', holdOutputForAttach: true },
      }));
      const ttyOut = new Collector();
      const ttyResult = await (await connectAttach(path.join(ttySockets, 'attach'), { stdout: ttyOut, stderr: ttyOut, tty: true })).result;
      assert.deepEqual(ttyResult, { exitCode: 2, detached: false });
      assert.match(ttyOut.text(), /\/dev\/pts\/\d+/);
      assert.equal(await exitFile(c, 'exec2'), 2);
    } finally {
      removeContainer(ctx, c);
    }
  },

  async 'SIGTERM is ignored, SIGKILL leaves the container running; idle RSS'(ctx) {
    const c = makeContainer(ctx, ['sleep', '1000']);
    try {
      const { monitorPid, containerPid } = await startMonitor(monitorOptions(ctx, c));
      runc(ctx, ['start', c.id]);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const rssKb = parseInt(procStatus(monitorPid, 'VmRSS'), 10);
      assert.ok(rssKb <= RSS_LIMIT_KB, `idle monitor RSS ${rssKb} kB exceeds ${RSS_LIMIT_KB} kB`);
      process.kill(monitorPid, 'SIGTERM');
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.ok(processAlive(monitorPid), 'SIGTERM does not stop the monitor');
      process.kill(monitorPid, 'SIGKILL');
      await waitFor(() => !processAlive(monitorPid), 'the killed monitor to go');
      assert.equal(runcState(ctx, c.id), 'running');
      assert.ok(processAlive(containerPid));
      return { rssKb };
    } finally {
      removeContainer(ctx, c);
    }
  },
};

// As root crun refuses this host's hybrid cgroups (tspod picks runc there): crun's scenarios run
// where tspod runs crun, rootless.
const rootlessScenarios: Record<string, (ctx: Ctx) => Promise<Report | void>> = {
  /** --start-fifo (crun): the monitor starts the created container through crun's exec.fifo, as
   * `crun start` does, without running it; crun then says running. Without a reader at that path
   * it runs `runtime start`. The runtime is a wrapper that records the verbs it was given. */
  async 'a held start through crun\'s exec.fifo, and the fallback to runtime start'(ctx) {
    const crun = ['/usr/bin/crun', '/usr/sbin/crun', '/usr/local/bin/crun'].find((f) => fs.existsSync(f));
    assert.ok(crun, 'crun is installed (tests/run.sh installs it)');
    const verbs = path.join(ctx.dir, `crun-verbs-${containerCounter}`);
    const wrapper = path.join(ctx.dir, `crun-wrapper-${containerCounter}`);
    // The verb follows `--root DIR`.
    fs.writeFileSync(wrapper, `#!/bin/sh\necho "$3" >> ${verbs}\nexec ${crun} "$@"\n`, { mode: 0o755 });
    const crunState = (id: string): string | undefined => {
      const r = spawnSync(crun, ['--root', ctx.runcRoot, 'state', id], { encoding: 'utf8' });
      return r.status === 0 ? (JSON.parse(r.stdout) as { status: string }).status : undefined;
    };
    for (const [fifo, verbsUsed] of [['exec.fifo', ['create']], ['no-such-fifo', ['create', 'start']]] as const) {
      fs.writeFileSync(verbs, '');
      const c = makeContainer(ctx, ['sh', '-c', 'echo started; read line; exit 6']);
      try {
        const started = await startMonitor(monitorOptions(ctx, c, { runtime: wrapper, holdStart: true, stdin: true, startFifo: path.join(ctx.runcRoot, c.id, fifo) }));
        const stdout = new Collector();
        const stdin = new PassThrough();
        const session = await connectAttach(path.join(c.socketDir, 'attach'), { stdout, stderr: new Collector(), stdin, tty: false });
        assert.equal(crunState(c.id), 'created');
        await started.held?.start();
        await waitFor(() => stdout.text() === 'started\n', 'the container\'s output');
        assert.equal(crunState(c.id), 'running', fifo);
        stdin.end('done\n');
        assert.deepEqual(await session.result, { exitCode: 6, detached: false });
        assert.deepEqual(fs.readFileSync(verbs, 'utf8').trim().split('\n'), verbsUsed);
      } finally {
        spawnSync(crun, ['--root', ctx.runcRoot, 'delete', '-f', c.id], { stdio: 'ignore' });
      }
    }
  },
};

/**
 * Runs startMonitor in a separate node process that exits right after (passthrough: it also
 * starts the container and waits for its exit file, since its stdout is the container's).
 */
function callerProcess(opts: MonitorOptions, startId?: string, ctx?: Ctx): { monitorPid: number; callerPid: number; stdout: string } {
  const launch = path.join(__dirname, '../../pkg/runtime/monitor-launch.js');
  const script = `
    const fs = require('fs');
    const { execFileSync } = require('child_process');
    const [opts, start] = JSON.parse(process.argv[1]);
    require(${JSON.stringify(launch)}).startMonitor(opts).then((r) => {
      if (start) {
        execFileSync(start.runc, ['--root', start.root, 'start', start.id], { stdio: ['ignore', 'ignore', 'inherit'] });
        const file = opts.exitDir + '/' + start.id;
        const until = Date.now() + 20000;
        while (!fs.existsSync(file) && Date.now() < until) execFileSync('sleep', ['0.02']);
      }
      process.stderr.write(JSON.stringify({ ...r, callerPid: process.pid }));
      process.exit(0);
    }, (e) => { process.stderr.write('FAILED ' + e.message); process.exit(1); });`;
  const start = startId && ctx ? { runc: ctx.runc, root: ctx.runcRoot, id: startId } : undefined;
  const r = spawnSync(process.execPath, ['-e', script, JSON.stringify([opts, start])], { encoding: 'utf8', timeout: WAIT_MS });
  assert.equal(r.status, 0, `caller failed: ${r.stderr}`);
  return { ...(JSON.parse(r.stderr) as { monitorPid: number; callerPid: number }), stdout: r.stdout };
}

// ---------------------------------------------------------------- in-namespace body --------

async function inNamespace(name: string, dir: string): Promise<void> {
  let report: Report;
  try {
    const ctx = makeCtx(dir, true);
    report = { ok: true, ...((await (scenarios[name] ?? rootlessScenarios[name])(ctx)) ?? {}) };
  } catch (err) {
    report = { ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
  }
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

// ---------------------------------------------------------------- root-side suite ----------

const installedSelf = (): string => path.join(testEnv.installDir, 'dist/tests/integration', path.basename(__filename));

function parseReport(run: RunResult): Report {
  assert.equal(run.code, 0, `namespace script failed (${run.code}): ${run.stderr}`);
  const report = JSON.parse(run.stdout.trim().split('\n').pop() as string) as Report;
  assert.ok(report.ok, String(report.error));
  return report;
}

function registerSuite(): void {
  describe('tspod-monitor as root', () => {
    let ctx: Ctx;
    before(() => {
      ctx = makeCtx(fs.mkdtempSync(path.join(os.tmpdir(), 'tspod-monitor-test-')), false);
    });
    after(() => {
      if (ctx) fs.rmSync(ctx.dir, { recursive: true, force: true });
    });
    for (const [name, run] of Object.entries(scenarios)) {
      test(name, { timeout: 60_000 }, async (t) => {
        const report = await run(ctx);
        if (report?.rssKb !== undefined) t.diagnostic(`idle monitor RSS (root): ${report.rssKb} kB`);
      });
    }
  });

  describe('tspod-monitor rootless, in tspod\'s user namespace', { skip: !hasTestEnv() && 'needs the harness (sudo npm test)' }, () => {
    let work = '';
    before(() => {
      work = fs.mkdtempSync(path.join(testEnv.home, '.tspod-monitor-test-'));
      fs.chownSync(work, testEnv.uid, testEnv.gid);
    });
    after(() => {
      if (work) fs.rmSync(work, { recursive: true, force: true });
    });
    let n = 0;
    for (const name of [...Object.keys(scenarios), ...Object.keys(rootlessScenarios)]) {
      test(name, { timeout: 90_000 }, (t) => {
        const dir = path.join(work, String(++n));
        const report = parseReport(tspod(['unshare', testEnv.node, installedSelf(), IN_NAMESPACE, name, dir], { timeoutMs: 80_000 }));
        if (report.rssKb !== undefined) t.diagnostic(`idle monitor RSS (rootless): ${report.rssKb} kB`);
      });
    }
  });
}

if (process.argv[2] === IN_NAMESPACE) {
  // Exit even if a scenario left a handle behind: the report is all the caller reads.
  void inNamespace(process.argv[3], process.argv[4]).then(() => process.exit(0));
} else {
  registerSuite();
}
