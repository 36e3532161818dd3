// The launcher's helper server (native/helper-server.c): for run, start, pull and a few others
// the launcher forks a small process before it becomes node, which runs mount-helper verbs on
// request. A spawn from node forks its whole heap (2-5 ms here); asking the server costs a fork
// of a small process and a round trip on a unix socket. Where there is no server (other
// commands, an older launcher, a failed connect) mounts.ts spawns the helper as before.
//   request  [u32 BE length][CWD \0 VERB \0 ARG \0 ...]
//   answer   [u32 BE length][i32 BE exit status][u32 BE stdout length][stdout][stderr]
import * as net from 'node:net';
import { HostError } from '../errors';

export interface HelperResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** The server refused a request itself (no pidfds, too many programs kept, no pipes): the
 * caller starts the program another way. Not the program's own failure. */
export function serverDeclined(r: HelperResult): boolean {
  return r.code === 125 && r.stderr.startsWith('tspod helper server:');
}

interface Pending {
  resolve: (result: HelperResult) => void;
  reject: (err: Error) => void;
}

const SOCKET_ENV = '_TSPOD_HELPER_SOCKET';

/** Frames a request: the working directory ('' for none), then the verb and its arguments. */
export function encodeHelperRequest(cwd: string, args: string[]): Buffer {
  const body = Buffer.from([cwd, ...args].map((a) => `${a}\0`).join(''), 'utf8');
  const frame = Buffer.allocUnsafe(4 + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, 4);
  return frame;
}

/** An answer as native/helper-server.c frames it: for made-up servers (the start-up snapshot's
 * training, tests). */
export function encodeHelperAnswer(code: number, stdout: string, stderr: string): Buffer {
  const out = Buffer.from(stdout);
  const err = Buffer.from(stderr);
  const frame = Buffer.alloc(12);
  frame.writeUInt32BE(8 + out.length + err.length, 0);
  frame.writeInt32BE(code, 4);
  frame.writeUInt32BE(out.length, 8);
  return Buffer.concat([frame, out, err]);
}

/** Whole answers out of a byte stream; the bytes of an incomplete one stay in `rest`. */
export function decodeHelperAnswers(data: Buffer): { answers: HelperResult[]; rest: Buffer } {
  const answers: HelperResult[] = [];
  let off = 0;
  while (data.length - off >= 4) {
    const len = data.readUInt32BE(off);
    if (len < 8) throw new HostError(`the helper server sent a malformed answer (${len} bytes)`);
    if (data.length - off - 4 < len) break;
    const body = data.subarray(off + 4, off + 4 + len);
    const outLen = body.readUInt32BE(4);
    if (outLen > len - 8) throw new HostError('the helper server sent a malformed answer');
    answers.push({ code: body.readInt32BE(0), stdout: body.toString('utf8', 8, 8 + outLen), stderr: body.toString('utf8', 8 + outLen) });
    off += 4 + len;
  }
  return { answers, rest: data.subarray(off) };
}

export class HelperServerConnection {
  private readonly pending: Pending[] = [];
  private buffered: Buffer = Buffer.alloc(0);

  constructor(private readonly socket: net.Socket) {
    socket.unref();
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    const broken = (err?: Error): void => this.fail(new HostError(`the helper server ended${err ? `: ${err.message}` : ''}`));
    socket.on('error', broken);
    socket.on('close', () => broken());
  }

  run(args: string[], cwd = ''): Promise<HelperResult> {
    return new Promise<HelperResult>((resolve, reject) => {
      this.pending.push({ resolve, reject });
      // Only a request in flight keeps this process alive.
      this.socket.ref();
      this.socket.write(encodeHelperRequest(cwd, args));
    });
  }

  private receive(chunk: Buffer): void {
    let decoded;
    try {
      decoded = decodeHelperAnswers(this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk);
    } catch (err) {
      this.socket.destroy();
      this.fail(err as Error);
      return;
    }
    this.buffered = decoded.rest;
    for (const answer of decoded.answers) this.pending.shift()?.resolve(answer);
    if (this.pending.length === 0) this.socket.unref();
  }

  private fail(err: Error): void {
    connection = undefined;
    established = undefined;
    for (const p of this.pending.splice(0)) p.reject(err);
  }
}

let socketName: string | undefined;
let connection: Promise<HelperServerConnection | undefined> | undefined;
/** the connection once it is made: requests on it are written at once */
let established: HelperServerConnection | undefined;

/**
 * Takes the server's name out of the environment (at start, before anything is spawned: a child
 * must not inherit it). The server accepts this process alone.
 */
export function takeHelperServer(env: NodeJS.ProcessEnv = process.env): void {
  socketName = env[SOCKET_ENV] || undefined;
  delete env[SOCKET_ENV];
}

// Exported for the start-up snapshot's training alone (cmd/tspod/snapshot-start-compile.ts).
export function connect(name: string): Promise<HelperServerConnection | undefined> {
  return new Promise((resolve) => {
    const socket = net.createConnection({ path: `\0${name}` });
    socket.once('connect', () => {
      socket.removeAllListeners('error');
      established = new HelperServerConnection(socket);
      resolve(established);
    });
    socket.once('error', () => {
      socketName = undefined;
      resolve(undefined);
    });
  });
}

/** ENV as the server's @spawn and @start take it: N, then N entries NAME=VALUE. */
export function environmentArgs(env: NodeJS.ProcessEnv): string[] {
  const entries = Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined).map(([k, v]) => `${k}=${v}`);
  return [String(entries.length), ...entries];
}

/** A connection made earlier in this command, on which a request is written at once. */
export function establishedHelperServer(): HelperServerConnection | undefined {
  return established;
}

/**
 * Resolves once the connection to the server is made, when it is being made. Requests asked for
 * before are then on their way: the server works on them while this process goes on. (The
 * connection completes in an event loop turn, which synchronous work, such as opening the
 * database, would otherwise put off until the first await of an answer.)
 */
export async function helperServerConnected(): Promise<void> {
  await connection;
}

/**
 * Runs a mount-helper verb on the server; undefined when there is none to ask (the caller then
 * spawns the helper). Rejects when the server broke down while it had the request.
 */
export async function runOnHelperServer(args: string[], cwd = ''): Promise<HelperResult | undefined> {
  if (!socketName) return undefined;
  connection ??= connect(socketName);
  const conn = await connection;
  return conn?.run(args, cwd);
}
