// The start-up snapshot's training of what every container start says to the launcher's helper
// server and to its monitor (snapshot-training.ts says why training pays): the helper server's
// frames and connection (pkg/storage/helper-server.ts), the monitor's sync channel and the held
// start (pkg/runtime/monitor-launch.ts). A made-up helper server and a made-up monitor answer on
// unix sockets in the temporary directory, closed again before the snapshot is taken; nothing
// is spawned. The helper server's module state (which connection a command talks on) is left as
// it was: the connection here is made directly, not through runOnHelperServer.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { HelperServerConnection, decodeHelperAnswers, encodeHelperAnswer, encodeHelperRequest, establishedHelperServer, runOnHelperServer, takeHelperServer } from '../../pkg/storage/helper-server';
import { SyncChannel, heldStart, readMonitorPid } from '../../pkg/runtime/monitor-launch';
import { serverMonitor } from '../../pkg/runtime/monitor-process';

/** Longer than the exchanges can take: one that hangs fails the build's training instead. */
const EXCHANGE_LIMIT_MS = 10_000;

/** A server on socketPath that runs `answer` on each connection. */
function listen(socketPath: string, answer: (conn: net.Socket) => void): Promise<net.Server> {
  const server = net.createServer((conn) => {
    conn.on('error', () => undefined);
    answer(conn);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve(server));
  });
}

function connected(socketPath: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection({ path: socketPath });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** The helper server's frames, and what a command without a server does (nothing to ask). */
async function helperFrames(): Promise<void> {
  const request = encodeHelperRequest('/', ['@spawn', '1', 'A=B', 'tspod-monitor', '--cid', 'c']);
  if (request.readUInt32BE(0) !== request.length - 4) throw new Error('snapshot training: a malformed helper request');
  const two = Buffer.concat([encodeHelperAnswer(0, 'out', ''), encodeHelperAnswer(1, '', 'failed')]);
  decodeHelperAnswers(two.subarray(0, two.length - 3));
  takeHelperServer({});
  if ((await runOnHelperServer(['mount'])) !== undefined) throw new Error('snapshot training: a helper server answered without one');
  // No server established: the spawn is left to the caller.
  serverMonitor('tspod-monitor', () => [], {}, '/nonexistent/sync');
}

/** One request on a connection to a made-up helper server, then the server's end. */
async function helperConnection(socketPath: string): Promise<void> {
  const server = await listen(socketPath, (conn) => {
    conn.once('data', () => conn.write(encodeHelperAnswer(0, 'ok\n', '')));
  });
  try {
    const socket = await connected(socketPath);
    const helper = new HelperServerConnection(socket);
    const result = await helper.run(['@probe', 'overlay']);
    if (result.code !== 0 || result.stdout !== 'ok\n') throw new Error(`snapshot training: the helper server answered ${JSON.stringify(result)}`);
    socket.destroy();
    await new Promise((resolve) => socket.once('close', resolve));
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
  if (establishedHelperServer() !== undefined) throw new Error('snapshot training: a helper server connection was kept');
}

/** A monitor's report of the created container (with its pid file beside the socket), and the
 * held start it is then asked for. */
async function monitorSync(socketPath: string): Promise<void> {
  const pidFile = `${socketPath}.pid`;
  fs.writeFileSync(pidFile, '4241\n');
  await readMonitorPid(pidFile);
  const server = await listen(socketPath, (conn) => {
    conn.write('{"pid":42}\n');
    conn.once('data', () => conn.end('{"started":true}\n'));
  });
  try {
    const channel = new SyncChannel(await connected(socketPath));
    const line = await channel.next();
    if (line !== '{"pid":42}') throw new Error(`snapshot training: the made-up monitor said ${JSON.stringify(line)}`);
    await heldStart(channel, { cid: 'c', runtime: 'crun', exitDir: '', socketDir: '', timeoutMs: EXCHANGE_LIMIT_MS }).start();
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

/** The helper server's and the monitor's exchanges, on sockets in dir (a temporary directory).
 * One too deep for a socket's path (108 bytes) leaves the connections out. */
export async function trainMonitorExchanges(dir: string): Promise<void> {
  await helperFrames();
  const helperSocket = path.join(dir, 'helper-server.sock');
  const syncSocket = path.join(dir, 'monitor-sync.sock');
  if (Buffer.byteLength(helperSocket) > 107 || Buffer.byteLength(syncSocket) > 107) return;
  await helperConnection(helperSocket);
  await monitorSync(syncSocket);
}
