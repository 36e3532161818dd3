// The attach client of tspod-monitor: connects to `<socketDir>/attach`, writes the container's
// output to the given streams, sends stdin (and its EOF), terminal resizes and detach, and
// ends with the container's exit code. Frames: monitor-protocol.ts.
//
//   const session = await connectAttach(socket, { stdin: process.stdin, stdout, stderr, tty });
//   await runtimeStart(id);              // only now: no output is missed
//   const { exitCode, detached } = await session.result;
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { HostError } from '../errors';
import {
  DEFAULT_DETACH_KEYS,
  DetachKeyMatcher,
  FrameDecoder,
  FrameType,
  encodeFrame,
  encodeResize,
  encodeStdin,
  parseExitCode,
} from './monitor-protocol';

export interface AttachOptions {
  /** Sent to the container (it must have been started with stdin open); its end sends EOF. */
  stdin?: Readable;
  /** Absent: that stream is not shown (`run -a stdout` leaves stderr out). */
  stdout?: Writable;
  /** Unused with a tty: a pty has one output stream. */
  stderr?: Writable;
  tty: boolean;
  /**
   * The detach sequence, key by key (default Ctrl-P Ctrl-Q); [] turns detaching off. Like
   * Docker, only a tty session watches for it.
   */
  detachKeys?: Buffer[];
  /**
   * This client removes the container once it has exited (an attached `run --rm`): the
   * connection stays open after the exit frame until cleanupDone() or close(), and the monitor
   * runs no exit command of its own when cleanupDone() came first.
   */
  cleansUp?: boolean;
}

export interface AttachResult {
  /** Undefined when the connection ended without an exit frame (detached, monitor gone). */
  exitCode?: number;
  detached: boolean;
}

/** sun_path holds 108 bytes with its NUL. */
const SUN_PATH_MAX = 107;

/** Longer socket paths are reached through an open directory fd: /proc/self/fd/N/NAME. */
function connectSocket(socketPath: string): Promise<net.Socket> {
  let dirFd: number | undefined;
  let target = socketPath;
  if (Buffer.byteLength(socketPath) > SUN_PATH_MAX) {
    dirFd = fs.openSync(path.dirname(socketPath), fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    target = `/proc/self/fd/${dirFd}/${path.basename(socketPath)}`;
  }
  return new Promise((resolve, reject) => {
    // Half-open: a client that cleans up still has to report it after the monitor's end.
    const socket = net.createConnection({ path: target, allowHalfOpen: true });
    const done = (): void => {
      if (dirFd !== undefined) fs.closeSync(dirFd);
      dirFd = undefined;
    };
    socket.once('connect', () => {
      done();
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (err) => {
      done();
      reject(new HostError(`cannot attach to ${socketPath}: ${err.message}`));
    });
  });
}

/** Resolves once everything written to STREAM so far has been handed on. */
function flushed(stream: Writable): Promise<void> {
  if (stream.destroyed || stream.writableEnded) return Promise.resolve();
  return new Promise((resolve) => stream.write(Buffer.alloc(0), () => resolve()));
}

export class AttachSession {
  readonly result: Promise<AttachResult>;
  private resolveResult!: (r: AttachResult) => void;
  private readonly decoder = new FrameDecoder();
  private readonly matcher: DetachKeyMatcher | undefined;
  private exitCode: number | undefined;
  private detached = false;
  private finished = false;
  private readonly onStdinData = (chunk: Buffer | string): void => this.forwardStdin(chunk);
  private readonly onStdinEnd = (): void => this.closeStdin();

  constructor(
    private readonly socket: net.Socket,
    private readonly opts: AttachOptions,
  ) {
    this.result = new Promise((resolve) => (this.resolveResult = resolve));
    const keys = opts.detachKeys ?? [...DEFAULT_DETACH_KEYS];
    this.matcher = opts.tty && keys.length > 0 ? new DetachKeyMatcher(keys) : undefined;
    if (opts.cleansUp) socket.write(encodeFrame(FrameType.Cleanup));
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('end', () => void this.finish());
    socket.on('close', () => void this.finish());
    // After an exit frame a reset is the monitor closing; before it, the monitor is gone.
    socket.on('error', () => void this.finish());
    if (opts.stdin) {
      opts.stdin.on('data', this.onStdinData);
      opts.stdin.on('end', this.onStdinEnd);
      opts.stdin.resume();
    }
  }

  /** TIOCSWINSZ on the container's pty (ignored without a tty). */
  sendResize(rows: number, cols: number): void {
    this.send(encodeResize(rows, cols));
  }

  /** Closes the container's stdin (a pipe; with a tty, EOF is ^D typed into it). */
  closeStdin(): void {
    this.send(encodeFrame(FrameType.StdinEof));
  }

  /** Leaves the container running; result resolves with detached: true. */
  detach(): void {
    if (this.finished) return;
    this.detached = true;
    this.send(encodeFrame(FrameType.Detach));
    this.socket.end();
    void this.finish();
  }

  /** The container is removed (cleansUp): the monitor then skips its exit command. Resolves
   * once the frame is with the kernel: the monitor reads it even after this process is gone,
   * so there is no need to wait for the monitor's own end. */
  cleanupDone(): Promise<void> {
    if (this.socket.destroyed || !this.socket.writable) return Promise.resolve();
    return new Promise((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.end(encodeFrame(FrameType.CleanupDone), () => resolve());
    });
  }

  /** Drops the connection (a cleansUp session that did not clean up: the monitor's exit
   * command does it). */
  close(): void {
    this.socket.destroy();
  }

  private send(frame: Buffer): boolean {
    if (this.finished || this.socket.destroyed || !this.socket.writable) return true;
    return this.socket.write(frame);
  }

  private forwardStdin(chunk: Buffer | string): void {
    const data = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    const { forward, detached } = this.matcher ? this.matcher.feed(data) : { forward: data, detached: false };
    let flowing = true;
    if (forward.length > 0) for (const frame of encodeStdin(forward)) flowing = this.send(frame) && flowing;
    if (detached) return this.detach();
    if (!flowing && this.opts.stdin) {
      const stdin = this.opts.stdin;
      stdin.pause();
      this.socket.once('drain', () => {
        if (!this.finished) stdin.resume();
      });
    }
  }

  private receive(chunk: Buffer): void {
    let frames;
    try {
      frames = this.decoder.push(chunk);
    } catch {
      this.socket.destroy();
      return;
    }
    for (const frame of frames) {
      if (frame.type === FrameType.Stdout) this.opts.stdout?.write(frame.payload);
      else if (frame.type === FrameType.Stderr) (this.opts.tty ? this.opts.stdout : this.opts.stderr)?.write(frame.payload);
      else if (frame.type === FrameType.Exit) this.exitCode = parseExitCode(frame.payload);
    }
  }

  private async finish(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    const stdin = this.opts.stdin;
    if (stdin) {
      stdin.off('data', this.onStdinData);
      stdin.off('end', this.onStdinEnd);
      stdin.pause();
    }
    // A session that cleans up keeps its end open to report it (cleanupDone); others are done.
    if (this.opts.cleansUp && this.exitCode !== undefined && !this.socket.destroyed) this.socket.once('error', () => undefined);
    else if (!this.detached) this.socket.destroy();
    await Promise.all([this.opts.stdout, this.opts.stderr].map((s) => (s ? flushed(s) : undefined)));
    this.resolveResult(this.detached ? { detached: true } : { exitCode: this.exitCode, detached: false });
  }
}

/** Connects; the session then relays until the container exits or the client detaches. */
export async function connectAttach(socketPath: string, opts: AttachOptions): Promise<AttachSession> {
  return new AttachSession(await connectSocket(socketPath), opts);
}

/** connectAttach and wait for the end: for attaching to a container that already runs. */
export async function attach(socketPath: string, opts: AttachOptions): Promise<AttachResult> {
  return (await connectAttach(socketPath, opts)).result;
}
