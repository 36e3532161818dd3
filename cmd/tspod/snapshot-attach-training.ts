// The attach session's part of the start-up snapshot's training: an attached `run` connects to
// its monitor's socket, reads frames into the caller's streams and reports its cleanup. Besides
// tspod's attach client, that is much of Node's own net, stream and timer code, which the
// snapshot holds uncompiled unless it ran while the snapshot was built (~40 K characters of
// source compiled by every `run`). Here a made-up monitor in the temporary directory answers
// one session: a unix socket in that directory, closed again before the snapshot is taken.
import * as net from 'node:net';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { connectAttach } from '../../pkg/runtime/monitor-client';
import { FrameType, encodeFrame } from '../../pkg/runtime/monitor-protocol';

/** Longer than a session can take: a session that hangs fails the build's training instead. */
const SESSION_LIMIT_MS = 10_000;

/** A monitor that sends some output and the exit code, then waits for the client's end. */
function madeUpMonitor(socketPath: string): Promise<net.Server> {
  const server = net.createServer({ allowHalfOpen: true }, (conn) => {
    conn.on('error', () => undefined);
    conn.resume();
    conn.end(Buffer.concat([encodeFrame(FrameType.Stdout, 'hello\n'), encodeFrame(FrameType.Stderr, 'warning\n'), encodeFrame(FrameType.Exit, '0')]));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => resolve(server));
  });
}

/** One attached session as `run --rm` has it (it reports its cleanup), against dir/attach. A
 * temporary directory too deep for a socket's path (108 bytes) leaves it out. */
export async function trainAttach(dir: string): Promise<void> {
  const socketPath = path.join(dir, 'attach');
  if (Buffer.byteLength(socketPath) > 107) return;
  const server = await madeUpMonitor(socketPath);
  let timer: NodeJS.Timeout | undefined;
  try {
    const output = new PassThrough();
    output.setEncoding('utf8');
    output.resume();
    const session = await connectAttach(socketPath, { stdout: output, stderr: output, tty: false, cleansUp: true });
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        session.close();
        reject(new Error('snapshot training: the attach session did not end'));
      }, SESSION_LIMIT_MS);
    });
    const result = await Promise.race([session.result, limit]);
    if (result.exitCode !== 0) throw new Error(`snapshot training: the attach session ended with ${JSON.stringify(result)}`);
    await Promise.race([session.cleanupDone(), limit]);
    session.close();
    output.end();
  } finally {
    clearTimeout(timer);
    await new Promise((resolve) => server.close(resolve));
  }
}
