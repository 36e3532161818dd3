// How the monitor's process starts (monitor-launch.ts says what it is told and what it answers).
// Spawned by this process, it gets its sync channel as an inherited socket (fd 3). Spawning
// forks this process's whole heap (2-5 ms here), so where the launcher gave this command a helper
// server (native/helper-server.c) that small process starts it instead, and the monitor connects
// back to a socket this process listens on (--sync-socket). Passthrough (the container gets our
// stdio) always spawns: only our own child can inherit our stdio.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { HostError } from '../errors';
import { environmentArgs, establishedHelperServer, serverDeclined } from '../storage/helper-server';

const STDERR_KEEP = 4096;

export interface LaunchedMonitor {
  /** the sync channel, once the monitor has it */
  sync: Promise<net.Socket>;
  /** rejects when the monitor could not be started (never resolves otherwise) */
  failed: Promise<never>;
  /** the last line of what the monitor said on stderr before it detached */
  why(): Promise<string>;
  /** releases what the launch holds (not the sync socket) */
  done(): void;
}

const lastLine = (text: string): string => text.trim().split('\n').pop() || 'no message';

/** The monitor as our child, its sync channel an inherited socket. ARGS(fd) gives its arguments. */
// Exported, like serverMonitor, for the start-up snapshot's training alone
// (cmd/tspod/snapshot-monitor-training.ts).
export function spawnMonitor(file: string, args: (sync: number) => string[], env: NodeJS.ProcessEnv, passthrough: boolean): LaunchedMonitor {
  const child = spawn(file, args(3), {
    env,
    // passthrough: the container gets our stdio. Otherwise stderr only carries what the
    // monitor says before it can use the sync fd (bad arguments).
    stdio: passthrough ? ['inherit', 'inherit', 'inherit', 'pipe'] : ['ignore', 'ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_KEEP);
  });
  const failed = new Promise<never>((_resolve, reject) => {
    child.once('error', (err) => reject(new HostError(`cannot start ${file}: ${err.message}`)));
  });
  failed.catch(() => {}); // only the caller's race cares
  return {
    sync: Promise.resolve(child.stdio[3] as net.Socket),
    failed,
    why: async () => lastLine(stderr),
    done: () => {
      child.stderr?.destroy();
      child.unref();
    },
  };
}

/**
 * The monitor started by the helper server, when this command has already talked to it (run and
 * start have: the root's mount), so that the request is written now, before the caller goes on
 * to spawn the network helpers; undefined otherwise.
 */
export function serverMonitor(file: string, args: (sync: string) => string[], env: NodeJS.ProcessEnv, syncSocket: string): LaunchedMonitor | undefined {
  const helper = establishedHelperServer();
  if (!helper) return undefined;
  fs.rmSync(syncSocket, { force: true });
  const server = net.createServer();
  try {
    // A path server binds and listens within listen(): the monitor may connect from now on.
    server.listen(syncSocket);
  } catch {
    return undefined;
  }
  const sync = new Promise<net.Socket>((resolve, reject) => {
    server.once('connection', (socket: net.Socket) => {
      server.close();
      resolve(socket);
    });
    server.once('error', (err) => reject(new HostError(`listening on ${syncSocket} for tspod-monitor: ${err.message}`)));
  });
  sync.catch(() => {});
  // @start: the server starts it in a session of its own and reaps it, so it need not fork
  // twice to detach (~1 ms of a start, more while the network's helpers start beside it); it
  // says "ready" on fd 3 where its forks would have ended. Where the server cannot (no pidfds
  // before Linux 5.3, too many programs kept), @spawn, and the monitor detaches itself.
  const spawnArgs = [...environmentArgs(env), file, ...args(syncSocket)];
  const result = helper
    .run(['@start', ...spawnArgs, '--ready-fd', '3'])
    .then((r) => (serverDeclined(r) ? helper.run(['@spawn', ...spawnArgs]) : r));
  result.catch(() => undefined);
  const failed = Promise.race([
    sync.then(() => new Promise<never>(() => undefined)),
    result.then(
      (r) => {
        if (r.code !== 0) throw new HostError(`tspod-monitor exited (${r.code}) without reporting: ${lastLine(r.stderr)}`);
        return new Promise<never>(() => undefined);
      },
      (err: Error) => {
        throw new HostError(`starting tspod-monitor: ${err.message}`);
      },
    ),
  ]);
  failed.catch(() => {});
  return {
    sync,
    failed,
    why: async () => lastLine((await result.catch(() => undefined))?.stderr ?? ''),
    done: () => server.close(),
  };
}

/**
 * Starts the monitor `file` with the arguments ARGS gives for its sync channel (an fd number, or
 * the path of the socket to connect to). SYNC_SOCKET: where to listen when the helper server
 * starts it (sun_path holds 107 bytes).
 */
export function launchMonitor(
  file: string,
  args: (sync: number | string) => string[],
  opts: { env: NodeJS.ProcessEnv; passthrough: boolean; syncSocket?: string },
): LaunchedMonitor {
  if (!opts.passthrough && opts.syncSocket && Buffer.byteLength(opts.syncSocket) < 108) {
    const launched = serverMonitor(file, args, opts.env, opts.syncSocket);
    if (launched) return launched;
  }
  return spawnMonitor(file, args, opts.env, opts.passthrough);
}
