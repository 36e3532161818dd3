/*
 * The integration-test harness: the contract between tests/run.sh (which provisions the machine)
 * and every integration test. Integration tests run as root under `npm test`; this module runs
 * each command as the unprivileged test user, the way a person would type it.
 *
 * env.json (path in $TSPOD_TEST_ENV, written by tests/harness/setup.sh; see TestEnv below):
 *   user, uid, gid, home, runtimeDir   the test user (`tspodtest`), its home and XDG_RUNTIME_DIR
 *   subuid, subgid                     its /etc/subuid and /etc/subgid range: {start, count}
 *   bin, installDir, node, path        the tspod binary (/opt/tspod-test/bin/tspod, a link to the
 *                                      launcher in installDir, a world-readable copy of this
 *                                      build), the node it execs, the PATH commands get
 *   registry                           "127.0.0.1:PORT": a plain HTTP registry, no auth; the test
 *                                      user's registries.conf mirrors docker.io to it, so
 *                                      `tspod pull busybox` resolves docker.io/library/busybox here
 *   authRegistry, authUser, authPassword   an HTTP registry with basic auth (tspod / tspod-pass)
 *   registriesConf                     the user's ~/.config/containers/registries.conf
 *   repoDir, harnessDir                the checkout under test and its tests/harness
 *   images                             what `registry` serves, by "name:tag":
 *     busybox:latest     Docker v2s2 manifest; one layer: /bin/busybox + applet links in /bin,
 *                        /etc/passwd (root 0, tester 1000, nobody 65534), /etc/group (root,
 *                        tester 1000, extra 2000 with member tester, nobody), /tmp 1777,
 *                        /home/tester (1000:1000) with hello.txt 0644 and private.txt 0600 owned
 *                        1000:1000. Cmd ["sh"], PATH env, label org.tspod.test=busybox
 *     busybox:oci        the same image as an OCI manifest (same config and layer digests)
 *     multilayer:latest  OCI; layers: busybox; /data/{a.txt "a", b.txt "b", b-link (a hard link
 *                        to b.txt), link -> a.txt, opq/old.txt, opq/sub/deep.txt}; a whiteout of
 *                        /data/b.txt (b-link stays) and an opaque /data/opq holding only new.txt.
 *                        Config: User tester, WorkingDir /data, Entrypoint ["/bin/sh","-c"],
 *                        Cmd ["echo multilayer $(id -u) $(pwd) $(cat a.txt)"] (prints
 *                        "multilayer 1000 /data a"), Env MULTILAYER=1, ExposedPorts 8080/tcp
 *                        9090/udp, Volumes /vol, label, 4 history entries (the last empty_layer)
 *     multiarch:latest   an OCI index: linux/amd64 (busybox layer + /arch "amd64") and
 *                        linux/arm64/v8 (one layer: /arch "arm64"); Cmd ["cat","/arch"]
 *     debian:bookworm    (only with TSPOD_TEST_DEBIAN=1 or under `npm run bench`) v2s2, one
 *                        layer: debootstrap --variant=minbase bookworm; Cmd ["bash"]
 *     Each: {ref, repository, tag, digest (of the manifest or index), mediaType, configDigest,
 *     diffIds, layers (compressed digests), platforms? ("os/arch[/variant]" -> {digest,
 *     configDigest, diffIds, layers}; the top level then describes linux/amd64)}.
 *     Under docker.io short names: busybox, busybox:oci, multilayer, multiarch, debian:bookworm.
 *   authImages                         what `authRegistry` serves: busybox:latest (as above)
 *
 * The registries and images are fresh for each `npm test`; the test user's tspod state
 * (~/.local/share/tspod, $XDG_RUNTIME_DIR/tspod) is wiped at the start of the run, not between
 * tests: call resetUserState() where a test needs a clean slate. Tests run one file at a time.
 *
 * Usage:
 *   import { tspod, testEnv, waitFor } from './harness';
 *   const r = tspod(['run', '--rm', 'busybox', 'echo', 'hi']);
 *   assert.equal(r.code, 0, r.stderr); assert.equal(r.stdout, 'hi\n');
 */
import { ChildProcess, spawn, spawnSync, StdioOptions } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface ImageDescription {
  ref: string;
  repository: string;
  tag: string;
  digest: string;
  mediaType: string;
  configDigest: string;
  diffIds: string[];
  layers: string[];
  platforms?: Record<string, PlatformImage>;
}

export interface PlatformImage {
  digest: string;
  configDigest: string;
  diffIds: string[];
  layers: string[];
}

export interface IdRange {
  start: number;
  count: number;
}

export interface TestEnv {
  user: string;
  uid: number;
  gid: number;
  home: string;
  runtimeDir: string;
  subuid: IdRange;
  subgid: IdRange;
  bin: string;
  installDir: string;
  node: string;
  path: string;
  registry: string;
  /** the plain registry's filesystem storage (docker/registry/v2/...): tests that need a
   * registry serving bad content tamper with blobs here */
  registryData: string;
  authRegistry: string;
  authUser: string;
  authPassword: string;
  registriesConf: string;
  repoDir: string;
  harnessDir: string;
  images: Record<string, ImageDescription>;
  authImages: Record<string, ImageDescription>;
}

export interface RunOptions {
  /** Written to the command's stdin, which is then closed (stdin is always closed at start). */
  input?: string;
  /** Killed with SIGKILL after this long; default 120 s. */
  timeoutMs?: number;
  /** Added to (or overriding) the clean environment the command gets. */
  env?: Record<string, string>;
  /** Default: the test user's home (asUser, tspod) or / (asRoot). */
  cwd?: string;
}

export interface RunResult {
  /** The exit status; 128 + the signal number when a signal ended the command (as in a shell). */
  code: number;
  stdout: string;
  stderr: string;
  signal: string | null;
  /** True when the command was killed for running past timeoutMs. */
  timedOut: boolean;
}

export interface SpawnOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** Default: all three piped. */
  stdio?: StdioOptions;
}

const DEFAULT_TIMEOUT_MS = 120_000;
const MAX_OUTPUT_BYTES = 256 * 1024 * 1024;
const SETPRIV = fs.existsSync('/usr/bin/setpriv') ? '/usr/bin/setpriv' : 'setpriv';
const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

let loaded: TestEnv | undefined;

function loadTestEnv(): TestEnv {
  if (loaded) return loaded;
  const file = process.env.TSPOD_TEST_ENV;
  if (!file) {
    throw new Error(
      'TSPOD_TEST_ENV is not set: integration tests need the harness. Run them with `sudo npm test` ' +
        '(tests/run.sh provisions the test user and the registries and writes env.json).',
    );
  }
  loaded = JSON.parse(fs.readFileSync(file, 'utf8')) as TestEnv;
  return loaded;
}

/** True when the harness's env.json is available (tests can skip themselves otherwise). */
export function hasTestEnv(): boolean {
  const file = process.env.TSPOD_TEST_ENV;
  return !!file && fs.existsSync(file);
}

/** The contents of env.json, read on first use; throws a clear error when TSPOD_TEST_ENV is unset. */
export const testEnv: TestEnv = new Proxy({} as TestEnv, {
  get: (_target, key) => Reflect.get(loadTestEnv(), key),
  has: (_target, key) => Reflect.has(loadTestEnv(), key),
  ownKeys: () => Reflect.ownKeys(loadTestEnv()),
  getOwnPropertyDescriptor: (_target, key) => {
    const descriptor = Reflect.getOwnPropertyDescriptor(loadTestEnv(), key);
    return descriptor && { ...descriptor, configurable: true };
  },
});

/** The description of a pushed image ("busybox:latest"); throws if the run did not push it. */
export function image(name: string): ImageDescription {
  const found = testEnv.images[name];
  if (!found) {
    throw new Error(`image ${name} was not pushed by the harness (have: ${Object.keys(testEnv.images).join(', ')})`);
  }
  return found;
}

/** Whether the harness pushed an image (debian:bookworm only with TSPOD_TEST_DEBIAN=1). */
export function hasImage(name: string): boolean {
  return hasTestEnv() && name in testEnv.images;
}

/** argv that runs `argv` as the test user with a login-like environment and nothing inherited. */
function userCommand(argv: string[], env: Record<string, string> = {}): string[] {
  const e = testEnv;
  const vars: Record<string, string> = {
    HOME: e.home,
    USER: e.user,
    LOGNAME: e.user,
    XDG_RUNTIME_DIR: e.runtimeDir,
    PATH: e.path,
    ...env,
  };
  return [
    SETPRIV,
    `--reuid=${e.uid}`,
    `--regid=${e.gid}`,
    '--init-groups',
    'env',
    '-i',
    ...Object.entries(vars).map(([k, v]) => `${k}=${v}`),
    ...argv,
  ];
}

function rootEnv(env: Record<string, string> = {}): Record<string, string> {
  return { HOME: '/root', USER: 'root', LOGNAME: 'root', PATH: `${testEnv.path}:/usr/local/sbin:/usr/sbin:/sbin`, ...env };
}

function exitCode(status: number | null, signal: NodeJS.Signals | null): number {
  if (status !== null) return status;
  if (signal) return 128 + (os.constants.signals[signal] ?? 0);
  return -1;
}

function runSync(argv: string[], env: Record<string, string>, cwd: string, opts: RunOptions): RunResult {
  const r = spawnSync(argv[0], argv.slice(1), {
    cwd,
    env,
    input: opts.input ?? '',
    timeout: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    killSignal: 'SIGKILL',
    encoding: 'utf8',
    maxBuffer: MAX_OUTPUT_BYTES,
  });
  const timedOut = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
  if (r.error && !timedOut) throw new Error(`cannot run ${argv.join(' ')}: ${r.error.message}`);
  return {
    code: exitCode(r.status, r.signal),
    stdout: r.stdout ?? '',
    stderr: r.stderr ?? '',
    signal: r.signal,
    timedOut,
  };
}

function runAsync(argv: string[], env: Record<string, string>, cwd: string, opts: RunOptions): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { cwd, env, stdio: 'pipe' });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.stdin.on('error', () => {}); // the command may exit without reading its input
    child.stdin.end(opts.input ?? '');
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${argv.join(' ')}: ${err.message}`));
    });
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({
        code: exitCode(status, signal),
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
        signal,
        timedOut,
      });
    });
  });
}

/** Runs any command as the test user (cwd: its home). */
export function asUser(argv: string[], opts: RunOptions = {}): RunResult {
  return runSync(userCommand(argv, opts.env), { PATH: SYSTEM_PATH }, opts.cwd ?? testEnv.home, opts);
}

/** asUser, without blocking the event loop (for concurrency tests). */
export function asUserAsync(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  return runAsync(userCommand(argv, opts.env), { PATH: SYSTEM_PATH }, opts.cwd ?? testEnv.home, opts);
}

/** Runs `tspod ARGS` as the test user, found on the test PATH as a person's shell would. */
export function tspod(args: string[], opts: RunOptions = {}): RunResult {
  return asUser(['tspod', ...args], opts);
}

/** tspod(), without blocking the event loop: start several and await them together. */
export function tspodAsync(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return asUserAsync(['tspod', ...args], opts);
}

/**
 * Starts `tspod ARGS` as the test user and returns the child (long-running and interactive tests;
 * wrap it in `script -qec` or a pty helper for a terminal). The caller must kill it.
 */
export function spawnTspod(args: string[], opts: SpawnOptions = {}): ChildProcess {
  const argv = userCommand(['tspod', ...args], opts.env);
  return spawn(argv[0], argv.slice(1), {
    cwd: opts.cwd ?? testEnv.home,
    env: { PATH: SYSTEM_PATH },
    stdio: opts.stdio ?? 'pipe',
  });
}

/**
 * Runs any command as root with a clean environment (HOME=/root, PATH = the test PATH plus the
 * sbin directories), cwd /: for tspod's root-mode tests, as `asRoot(['tspod', ...])`.
 */
export function asRoot(argv: string[], opts: RunOptions = {}): RunResult {
  return runSync(argv, rootEnv(opts.env), opts.cwd ?? '/', opts);
}

/** asRoot, without blocking the event loop. */
export function asRootAsync(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
  return runAsync(argv, rootEnv(opts.env), opts.cwd ?? '/', opts);
}

/**
 * Kills the test user's tspod processes (launcher, pause process, monitors, containers, their
 * helpers) and removes ~/.local/share/tspod and $XDG_RUNTIME_DIR/tspod. Other processes and
 * files of the user stay.
 */
/** The pid runs (a zombie left to a pid 1 that does not reap counts as gone). */
export function processRuns(pid: number): boolean {
  try {
    return !/\) [ZX] /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

export function resetUserState(): void {
  const script = path.join(testEnv.harnessDir, 'reset-user-state.sh');
  const r = runSync(['bash', script], { PATH: SYSTEM_PATH, TSPOD_TEST_USER: testEnv.user }, '/', {
    timeoutMs: 60_000,
  });
  if (r.code !== 0) throw new Error(`resetUserState failed (${r.code}): ${r.stderr}${r.stdout}`);
}

/**
 * A systemd journal for the journald log driver's tests (tests/harness/journal.sh): started as
 * root when none runs. stop() stops it again, only if this call started it (started).
 */
export function startJournal(): { started: boolean; stop: () => void } {
  const script = path.join(testEnv.harnessDir, 'journal.sh');
  const env = { TSPOD_TEST_VAR: path.dirname(process.env.TSPOD_TEST_ENV ?? '/var/tmp/tspod-test/env.json') };
  const r = asRoot(['bash', script, 'start'], { env, timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`journal.sh start failed (${r.code}): ${r.stderr}${r.stdout}`);
  if (r.stdout.trim() !== 'started') return { started: false, stop: () => undefined };
  const stop = () => {
    const s = asRoot(['bash', script, 'stop'], { env, timeoutMs: 30_000 });
    if (s.code !== 0) throw new Error(`journal.sh stop failed (${s.code}): ${s.stderr}${s.stdout}`);
  };
  return { started: true, stop };
}

/** Polls `cond` every 20 ms until it holds; throws `timed out waiting for ${what}` after timeoutMs. */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() >= deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
