// Starting tspod-monitor (native/monitor.c), the process that owns a container's stdio, log
// and exit code for the container's whole life. The monitor detaches itself (it is not our
// child once startMonitor resolves) and reports on its "sync fd" (inherited, or a connection to
// a socket we listen on: monitor-process.ts) one JSON line: {"pid":N} once `runtime create` (or
// `runtime exec --detach`) succeeded, or {"error":"...","code":N} with the runtime's stderr on
// one line. With holdStart the fd stays open for one exchange more: HeldStart.start() asks the
// monitor to run `runtime start`.
//
// Order for `run -a` / `run -it`: startMonitor, then connect to `<socketDir>/attach`
// (monitor-client.ts), then `runtime start`: output written before the client connected would
// only reach the log. An exec'd process runs before startMonitor resolves: pass
// exec.holdOutputForAttach so the monitor keeps its output until the first client.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Socket } from 'node:net';
import { CommandNotRunnableError, HostError, TspodError } from '../errors';
import { nativeBinary } from '../package-root';
import { launchMonitor } from './monitor-process';

export type MonitorLogDriver = 'k8s-file' | 'json-file' | 'local' | 'journald' | 'none' | 'passthrough';

export interface MonitorExecOptions {
  /** The OCI process JSON passed to `runtime exec --process`. */
  processFile: string;
  /** Names the exit file: `<exitDir>/<execId>`. */
  execId: string;
  /** Keep the output until the first attach client connects (at most 60 s). */
  holdOutputForAttach?: boolean;
}

export interface MonitorOptions {
  /** The container's id, as the runtime knows it. */
  cid: string;
  /** The OCI bundle (holds config.json); not used for exec. */
  bundle?: string;
  /** Path of runc or crun. */
  runtime: string;
  /** Global runtime arguments before the verb, e.g. ['--root', dir]. */
  runtimeArgs?: string[];
  /** `<exitDir>/<cid>` (or `<execId>`) receives the exit code. */
  exitDir: string;
  /** Holds the attach socket (`attach`); one directory per monitor. */
  socketDir: string;
  /** Default k8s-file. passthrough: the container gets this process's stdin/stdout/stderr. */
  logDriver?: MonitorLogDriver;
  logPath?: string;
  /** Bytes; undefined or -1: unlimited. */
  logSizeMax?: number;
  /** Rotation keeps logPath.1 .. logPath.(N-1). */
  logMaxFiles?: number;
  /** Rotated files are gzipped (logPath.1.gz ...). */
  logCompress?: boolean;
  /** The container's name (journald's CONTAINER_NAME). */
  name?: string;
  /** journald: CONTAINER_TAG and SYSLOG_IDENTIFIER. */
  logTag?: string;
  /** journald: its native socket, when not the default. */
  journalSocket?: string;
  terminal?: boolean;
  /** Keep the container's stdin open for attach clients (-i). */
  stdin?: boolean;
  /** The monitor's pid file; default `<socketDir>/monitor.pid`. */
  pidFile?: string;
  /** Passed to the runtime as --pid-file; default `<socketDir>/container.pid` (exec.pid). */
  containerPidFile?: string;
  /** Run after the container exited and its exit file is written: [program, ...args]. */
  exitCommand?: string[];
  exec?: MonitorExecOptions;
  /** The health check timer: run `command` every intervalMs (after the previous check ended). */
  healthcheck?: { intervalMs: number; command: string[] };
  /** --sdnotify=container: bind `proxy` for the container and relay it to `socket` (NOTIFY_SOCKET). */
  sdnotify?: { proxy: string; socket: string };
  syslog?: boolean;
  /** The monitor's (and so the runtime's and exit command's) environment. */
  env?: NodeJS.ProcessEnv;
  /** How long to wait for the sync message (and the start's answer); default 120 s. */
  timeoutMs?: number;
  /** The monitor runs `runtime start` when asked (MonitorStarted.held); without it the caller
   * runs the runtime itself. Saves the CLI a process (a fork of its whole heap). */
  holdStart?: boolean;
  /** With holdStart: crun's exec.fifo, written to start instead (OciRuntime.startFifo). */
  startFifo?: string;
  /** What the monitor releases after the exit, before anyone learns of it: `runtime delete`
   * (runtime) and unmounts (mounts: the root, a network namespace's file). */
  release?: { runtime: boolean; mounts: string[] };
  /** Where to listen for the monitor's sync connection when the launcher's helper server starts
   * it (monitor-process.ts); without it (or a server) the monitor is spawned. */
  syncSocket?: string;
  /** Default: <pkgroot>/native/build/tspod-monitor, or $TSPOD_MONITOR. */
  monitorPath?: string;
}

export interface MonitorStarted {
  monitorPid: number;
  containerPid: number;
  /** With holdStart: the created container's start. */
  held?: HeldStart;
}

/**
 * A created container the monitor starts when asked. start() once the network is ready and any
 * attach client connected; abandon() (or this process's exit) makes the monitor delete the
 * created container instead. Between the two the channel does not keep this process alive.
 */
export interface HeldStart {
  /** Rejects with MonitorStartError carrying `runtime start`'s message. */
  start(): Promise<void>;
  abandon(): void;
}

/** `runtime create`/`exec` failed, or the monitor could not start it. */
export class MonitorStartError extends TspodError {
  constructor(
    message: string,
    /** What the monitor reported: the runtime's stderr on one line, or its own failure. */
    readonly runtimeMessage: string,
    /** The runtime's exit status; 125 when the monitor failed on its own. */
    readonly code: number,
  ) {
    super(message);
  }

  /** The runtime's message without runc's "create failed: unable to start container process:". */
  get failure(): string {
    return runtimeErrorMessage(this.runtimeMessage).replace(/^(runc )?(create |exec )?failed: (unable to start container process: )?/, '');
  }

  /**
   * The failure as Docker and Podman report a command that cannot run: 127 when it does not
   * exist, 126 when it cannot be executed (in runc's and crun's words; crun says "Operation not
   * permitted" for a directory). Undefined for any other failure.
   */
  commandNotRunnable(): CommandNotRunnableError | undefined {
    const msg = this.failure;
    if (/executable file not found|not found in \$PATH|no such file or directory/i.test(msg)) {
      return new CommandNotRunnableError(`${msg}: OCI runtime attempted to invoke a command that was not found`, true);
    }
    if (/permission denied|operation not permitted|exec format error|is a directory/i.test(msg)) {
      return new CommandNotRunnableError(`${msg}: OCI permission denied`, false);
    }
    return undefined;
  }
}

const DEFAULT_TIMEOUT_MS = 120_000;

export function monitorBinaryPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.TSPOD_MONITOR || nativeBinary('tspod-monitor');
}

export function defaultMonitorPidFile(socketDir: string): string {
  return path.join(socketDir, 'monitor.pid');
}

/** The monitor's argument list (documented at the top of native/monitor.c). */
/** SYNC: the inherited sync fd, or the socket to connect to (monitor-process.ts). */
export function monitorArgs(opts: MonitorOptions, sync: number | string = 3): string[] {
  const args = ['--cid', opts.cid, '--runtime', opts.runtime, '--exit-dir', opts.exitDir, '--socket-dir', opts.socketDir];
  if (opts.bundle !== undefined) args.push('--bundle', opts.bundle);
  for (const arg of opts.runtimeArgs ?? []) args.push('--runtime-arg', arg);
  args.push('--log-driver', opts.logDriver ?? 'k8s-file');
  if (opts.logPath !== undefined) args.push('--log-path', opts.logPath);
  if (opts.logSizeMax !== undefined) args.push('--log-size-max', String(opts.logSizeMax));
  if (opts.logMaxFiles !== undefined) args.push('--log-max-files', String(opts.logMaxFiles));
  if (opts.logCompress) args.push('--log-compress');
  if (opts.name !== undefined) args.push('--name', opts.name);
  if (opts.logTag !== undefined) args.push('--log-tag', opts.logTag);
  if (opts.journalSocket !== undefined) args.push('--journal-socket', opts.journalSocket);
  if (opts.terminal) args.push('--terminal');
  if (opts.stdin) args.push('--stdin');
  args.push(...(typeof sync === 'number' ? ['--sync-fd', String(sync)] : ['--sync-socket', sync]), '--pidfile', opts.pidFile ?? defaultMonitorPidFile(opts.socketDir));
  if (opts.containerPidFile !== undefined) args.push('--container-pidfile', opts.containerPidFile);
  if (opts.exitCommand && opts.exitCommand.length > 0) {
    const [program, ...rest] = opts.exitCommand;
    args.push('--exit-command', program);
    for (const arg of rest) args.push('--exit-command-arg', arg);
  }
  if (opts.exec) {
    args.push('--exec', '--exec-process', opts.exec.processFile, '--exec-id', opts.exec.execId);
    if (opts.exec.holdOutputForAttach) args.push('--exec-attach');
  }
  if (opts.healthcheck && opts.healthcheck.command.length > 0) {
    const [program, ...rest] = opts.healthcheck.command;
    args.push('--health-interval-ms', String(Math.max(1, Math.round(opts.healthcheck.intervalMs))), '--health-command', program);
    for (const arg of rest) args.push('--health-command-arg', arg);
  }
  if (opts.sdnotify) args.push('--sdnotify-proxy', opts.sdnotify.proxy, '--sdnotify-socket', opts.sdnotify.socket);
  if (opts.syslog) args.push('--syslog');
  if (opts.holdStart) args.push('--sync-start');
  if (opts.holdStart && opts.startFifo) args.push('--start-fifo', opts.startFifo);
  if (opts.release?.runtime) args.push('--release-runtime');
  for (const mount of opts.release?.mounts ?? []) args.push('--release-mount', mount);
  return args;
}

/** Go's strconv.Quote body back to text (JSON's escapes plus \x, \a, \v, \U). */
function unquoteGo(body: string): string {
  return body.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)/g, (_m, e: string) => {
    const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v' };
    if (e.length > 1) return String.fromCodePoint(parseInt(e.slice(1), 16));
    return simple[e] ?? e;
  });
}

/**
 * The runtime's error without its logger's decoration: runc (logrus) writes
 * `time="..." level=error msg="runc create failed: ..."`; crun writes plain text. The monitor
 * joins stderr lines with "; ". Messages of level error/fatal win; otherwise the text as is.
 */
export function runtimeErrorMessage(raw: string): string {
  const messages: string[] = [];
  const logfmt = /level=(?:error|fatal)\s+msg=(?:"((?:[^"\\]|\\.)*)"|(\S+))/g;
  for (const m of raw.matchAll(logfmt)) messages.push(m[1] !== undefined ? unquoteGo(m[1]) : m[2]);
  const json = /"level":"(?:error|fatal)","msg":"((?:[^"\\]|\\.)*)"/g;
  for (const m of raw.matchAll(json)) messages.push(unquoteGo(m[1]));
  return messages.length > 0 ? messages.join('; ') : raw.trim();
}

interface SyncMessage {
  pid?: number;
  error?: string;
  code?: number;
}

function parseSync(line: string): SyncMessage {
  try {
    const msg = JSON.parse(line) as SyncMessage;
    if (typeof msg === 'object' && msg !== null) return msg;
  } catch {
    // reported below
  }
  throw new HostError(`tspod-monitor sent an invalid sync message: ${JSON.stringify(line)}`);
}

/** Exported for the start-up snapshot's training (see SyncChannel). */
export async function readMonitorPid(pidFile: string): Promise<number> {
  // A few bytes the monitor has just written: read in place. fs.promises would load node's
  // fs/promises modules (not in the start-up snapshot) into every run, start and exec: ~1 ms.
  const text = fs.readFileSync(pidFile, 'utf8');
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new HostError(`${pidFile} holds no pid: ${JSON.stringify(text)}`);
  return pid;
}

/** The sync fd, line by line: the monitor's messages in, the start request out. */
// Exported, like heldStart and readMonitorPid, for the start-up snapshot's training alone
// (cmd/tspod/snapshot-monitor-training.ts runs them against a made-up monitor).
export class SyncChannel {
  private text = '';
  private ended = false;
  private waiting: ((line: string | undefined) => void) | undefined;

  constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.text += chunk;
      this.deliver();
    });
    const end = (): void => {
      this.ended = true;
      this.deliver();
    };
    socket.on('end', end);
    socket.on('error', end);
    socket.on('close', end);
  }

  private deliver(): void {
    if (!this.waiting) return;
    const nl = this.text.indexOf('\n');
    if (nl < 0 && !this.ended) return;
    const line = nl >= 0 ? this.text.slice(0, nl) : this.text.trim() === '' ? undefined : this.text;
    this.text = nl >= 0 ? this.text.slice(nl + 1) : '';
    const resolve = this.waiting;
    this.waiting = undefined;
    resolve(line);
  }

  /** The next line; undefined when the fd closed without one. Keeps this process alive meanwhile. */
  next(): Promise<string | undefined> {
    this.socket.ref();
    return new Promise<string | undefined>((resolve) => {
      this.waiting = (line) => {
        this.socket.unref();
        resolve(line);
      };
      this.deliver();
    });
  }

  send(line: string): void {
    this.socket.write(`${line}\n`);
  }

  close(): void {
    this.socket.removeAllListeners('data');
    this.socket.on('error', () => {});
    this.socket.destroy();
  }
}

/** PROMISE, or a HostError "WHAT within MS ms" when it takes longer. */
async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new HostError(`${what} within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The next line, or the timeout's rejection. */
function nextLine(channel: SyncChannel, ms: number, what: string): Promise<string | undefined> {
  return withTimeout(channel.next(), ms, what);
}

export function heldStart(channel: SyncChannel, opts: MonitorOptions): HeldStart {
  let used = false;
  return {
    async start(): Promise<void> {
      if (used) throw new HostError(`the start of ${opts.cid} was already used`);
      used = true;
      try {
        channel.send('start');
        const line = await nextLine(channel, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, `tspod-monitor did not start ${opts.cid}`);
        if (line === undefined) throw new HostError(`tspod-monitor for ${opts.cid} exited before starting it`);
        const msg = parseSync(line) as SyncMessage & { started?: boolean };
        if (msg.error !== undefined) throw new MonitorStartError(runtimeErrorMessage(msg.error), msg.error, msg.code ?? 125);
        if (msg.started !== true) throw new HostError(`tspod-monitor sent an invalid answer to start: ${JSON.stringify(line)}`);
      } finally {
        channel.close();
      }
    },
    abandon(): void {
      used = true;
      channel.close();
    },
  };
}

/**
 * Starts the monitor for one container (or exec session) and waits until the runtime created
 * it. Rejects with MonitorStartError carrying the runtime's message when create/exec failed;
 * the caller maps "executable file not found" to 127 and "permission denied" to 126. After a
 * rejection the monitor is gone, but a container the runtime did create may be left in the
 * "created" state: the caller deletes it (`runtime delete -f`).
 */
export async function startMonitor(opts: MonitorOptions): Promise<MonitorStarted> {
  const file = opts.monitorPath ?? monitorBinaryPath(opts.env);
  const pidFile = opts.pidFile ?? defaultMonitorPidFile(opts.socketDir);
  const launched = launchMonitor(file, (sync) => monitorArgs({ ...opts, pidFile }, sync), {
    env: opts.env ?? process.env,
    passthrough: opts.logDriver === 'passthrough',
    syncSocket: opts.syncSocket,
  });
  const ms = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let channel: SyncChannel | undefined;
  let held: HeldStart | undefined;
  try {
    channel = new SyncChannel(await withTimeout(Promise.race([launched.sync, launched.failed]), ms, `tspod-monitor for ${opts.cid} did not report`));
    const line = await Promise.race([nextLine(channel, ms, `tspod-monitor for ${opts.cid} did not report`), launched.failed]);
    if (line === undefined) {
      throw new HostError(`tspod-monitor for ${opts.cid} exited without reporting: ${await launched.why()}`);
    }
    const msg = parseSync(line);
    if (msg.error !== undefined) {
      throw new MonitorStartError(runtimeErrorMessage(msg.error), msg.error, msg.code ?? 125);
    }
    if (!Number.isInteger(msg.pid) || (msg.pid as number) <= 0) {
      throw new HostError(`tspod-monitor sent no container pid: ${JSON.stringify(line)}`);
    }
    const monitorPid = await readMonitorPid(pidFile);
    if (opts.holdStart) held = heldStart(channel, opts);
    return { monitorPid, containerPid: msg.pid as number, held };
  } finally {
    if (!held) channel?.close();
    launched.done();
  }
}
