import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DetachKeyMatcher,
  FRAME_HEADER_SIZE,
  FrameDecoder,
  FrameType,
  MAX_STDIN_CHUNK,
  encodeFrame,
  encodeResize,
  encodeStdin,
  parseExitCode,
} from '../../pkg/runtime/monitor-protocol';
import { MonitorStartError, monitorArgs, runtimeErrorMessage } from '../../pkg/runtime/monitor-launch';

test('encodeFrame writes type, big-endian length, payload', () => {
  assert.deepEqual(encodeFrame(FrameType.Stdout, 'hi'), Buffer.from([1, 0, 0, 0, 2, 0x68, 0x69]));
  assert.deepEqual(encodeFrame(FrameType.Detach), Buffer.from([6, 0, 0, 0, 0]));
  const big = encodeFrame(FrameType.Stdin, Buffer.alloc(0x10203, 7));
  assert.equal(big.readUInt32BE(1), 0x10203);
  assert.equal(big.length, FRAME_HEADER_SIZE + 0x10203);
});

test('resize and exit payloads are decimal text', () => {
  assert.deepEqual(encodeResize(24, 80).subarray(FRAME_HEADER_SIZE).toString(), '24 80');
  assert.throws(() => encodeResize(-1, 80), RangeError);
  assert.throws(() => encodeResize(24, 70000), RangeError);
  assert.throws(() => encodeResize(1.5, 80), RangeError);
  assert.equal(parseExitCode(Buffer.from('137')), 137);
  assert.equal(parseExitCode(Buffer.from('0\n')), 0);
  assert.throws(() => parseExitCode(Buffer.from('x')));
});

test('stdin is split into frames of at most MAX_STDIN_CHUNK', () => {
  const data = Buffer.alloc(MAX_STDIN_CHUNK * 2 + 10, 1);
  const frames = encodeStdin(data);
  assert.deepEqual(frames.map((f) => f.readUInt32BE(1)), [MAX_STDIN_CHUNK, MAX_STDIN_CHUNK, 10]);
  assert.deepEqual(encodeStdin(Buffer.alloc(0)), []);
});

test('FrameDecoder reassembles frames split at every byte boundary', () => {
  const stream = Buffer.concat([
    encodeFrame(FrameType.Stdout, 'hello\n'),
    encodeFrame(FrameType.Stderr, ''),
    encodeFrame(FrameType.Stderr, Buffer.from([0, 255, 10])),
    encodeFrame(FrameType.Exit, '3'),
  ]);
  for (let cut = 0; cut <= stream.length; cut++) {
    for (const step of [1, 2, 7, stream.length]) {
      const decoder = new FrameDecoder();
      const frames = [...decoder.push(stream.subarray(0, cut))];
      for (let off = cut; off < stream.length; off += step) frames.push(...decoder.push(stream.subarray(off, off + step)));
      assert.deepEqual(
        frames.map((f) => [f.type, f.payload.toString('hex')]),
        [
          [1, Buffer.from('hello\n').toString('hex')],
          [2, ''],
          [2, '00ff0a'],
          [5, Buffer.from('3').toString('hex')],
        ],
      );
      assert.equal(decoder.pending, 0);
    }
  }
});

test('FrameDecoder keeps a partial frame and refuses absurd lengths', () => {
  const decoder = new FrameDecoder(100);
  assert.deepEqual(decoder.push(Buffer.from([1, 0, 0, 0, 3, 0x61])), []);
  assert.equal(decoder.pending, 6);
  assert.deepEqual(decoder.push(Buffer.alloc(0)), []);
  assert.deepEqual(decoder.push(Buffer.from('bc')).map((f) => f.payload.toString()), ['abc']);
  assert.throws(() => new FrameDecoder(100).push(Buffer.from([1, 0, 0, 1, 0])), /exceeds/);
});

function feedAll(matcher: DetachKeyMatcher, chunks: string[]): { out: string; detached: boolean } {
  let out = '';
  for (const chunk of chunks) {
    const r = matcher.feed(Buffer.from(chunk, 'latin1'));
    out += r.forward.toString('latin1');
    if (r.detached) return { out, detached: true };
  }
  return { out, detached: false };
}

test('detach keys: Ctrl-P Ctrl-Q detaches, also across chunks, and is not forwarded', () => {
  assert.deepEqual(feedAll(new DetachKeyMatcher(), ['ls\x10\x11rest']), { out: 'ls', detached: true });
  assert.deepEqual(feedAll(new DetachKeyMatcher(), ['ab\x10', '\x11']), { out: 'ab', detached: true });
  assert.deepEqual(feedAll(new DetachKeyMatcher(), ['\x10', '\x10\x11']), { out: '\x10', detached: true });
});

test('detach keys: a broken sequence is forwarded intact', () => {
  assert.deepEqual(feedAll(new DetachKeyMatcher(), ['\x10x']), { out: '\x10x', detached: false });
  assert.deepEqual(feedAll(new DetachKeyMatcher(), ['\x10', 'y', 'z']), { out: '\x10yz', detached: false });
  assert.deepEqual(feedAll(new DetachKeyMatcher(), ['a\x11b']), { out: 'a\x11b', detached: false });
  // A held prefix waits for the next chunk.
  assert.deepEqual(feedAll(new DetachKeyMatcher(), ['a\x10']), { out: 'a', detached: false });
});

test('detach keys: custom sequences and none', () => {
  const ctrlX = [Buffer.from([0x18]), Buffer.from('e')];
  assert.deepEqual(feedAll(new DetachKeyMatcher(ctrlX), ['\x18\x18e']), { out: '\x18', detached: true });
  assert.deepEqual(feedAll(new DetachKeyMatcher([]), ['\x10\x11']), { out: '\x10\x11', detached: false });
});

test('monitorArgs passes every option the monitor documents', () => {
  const args = monitorArgs({
    cid: 'c1',
    bundle: '/b',
    runtime: '/usr/bin/runc',
    runtimeArgs: ['--root', '/r'],
    exitDir: '/e',
    socketDir: '/s',
    logDriver: 'json-file',
    logPath: '/l/ctr.log',
    logSizeMax: 1000,
    logMaxFiles: 3,
    terminal: true,
    stdin: true,
    pidFile: '/s/mon.pid',
    exitCommand: ['/usr/bin/tspod', 'container', 'cleanup', 'c1'],
    holdStart: true,
    release: { runtime: true, mounts: ['/c/merged', '/run/net/ns'] },
  });
  assert.deepEqual(args, [
    '--cid', 'c1', '--runtime', '/usr/bin/runc', '--exit-dir', '/e', '--socket-dir', '/s', '--bundle', '/b',
    '--runtime-arg', '--root', '--runtime-arg', '/r', '--log-driver', 'json-file', '--log-path', '/l/ctr.log',
    '--log-size-max', '1000', '--log-max-files', '3', '--terminal', '--stdin', '--sync-fd', '3', '--pidfile', '/s/mon.pid',
    '--exit-command', '/usr/bin/tspod', '--exit-command-arg', 'container', '--exit-command-arg', 'cleanup',
    '--exit-command-arg', 'c1', '--sync-start', '--release-runtime', '--release-mount', '/c/merged',
    '--release-mount', '/run/net/ns',
  ]);
  const exec = monitorArgs({
    cid: 'c1', runtime: 'runc', exitDir: '/e', socketDir: '/x', logDriver: 'none',
    exec: { processFile: '/x/p.json', execId: 'e1', holdOutputForAttach: true },
  });
  assert.deepEqual(exec.slice(exec.indexOf('--exec')), ['--exec', '--exec-process', '/x/p.json', '--exec-id', 'e1', '--exec-attach']);
  assert.deepEqual(exec.slice(exec.indexOf('--pidfile'), exec.indexOf('--pidfile') + 2), ['--pidfile', '/x/monitor.pid']);
  const socket = monitorArgs({ cid: 'c1', runtime: 'runc', exitDir: '/e', socketDir: '/x', bundle: '/b' }, '/run/t/sync-1.sock');
  assert.deepEqual(socket.slice(socket.indexOf('--sync-socket'), socket.indexOf('--sync-socket') + 2), ['--sync-socket', '/run/t/sync-1.sock']);
  assert.ok(!socket.includes('--sync-fd'));
  // crun's exec.fifo goes with a held start only
  const base = { cid: 'c1', runtime: 'crun', exitDir: '/e', socketDir: '/x', startFifo: '/r/c1/exec.fifo' };
  const fifo = monitorArgs({ ...base, holdStart: true });
  assert.deepEqual(fifo.slice(fifo.indexOf('--sync-start'), fifo.indexOf('--sync-start') + 3), ['--sync-start', '--start-fifo', '/r/c1/exec.fifo']);
  assert.ok(!monitorArgs(base).includes('--start-fifo'));
});

test('runtimeErrorMessage strips logrus decoration and keeps plain text', () => {
  const runc =
    'time="2024-01-02T03:04:05Z" level=warning msg="unable to get oom kill count"; ' +
    'time="2024-01-02T03:04:05Z" level=error msg="runc create failed: unable to start container process: exec: \\"nope\\": executable file not found in $PATH"';
  assert.equal(runtimeErrorMessage(runc), 'runc create failed: unable to start container process: exec: "nope": executable file not found in $PATH');
  assert.equal(runtimeErrorMessage('{"level":"error","msg":"a \\"b\\"","time":"x"}'), 'a "b"');
  assert.equal(runtimeErrorMessage('time="x" level=fatal msg=plain'), 'plain');
  assert.equal(runtimeErrorMessage('  crun: executable file `nope` not found in $PATH: No such file or directory '),
    'crun: executable file `nope` not found in $PATH: No such file or directory');
});

test("a command that cannot run is 127 or 126 in runc's and crun's words, anything else stays the runtime's failure", () => {
  const failure = (message: string) => new MonitorStartError('create failed', message, 1);
  const cases: [string, number | undefined, string][] = [
    ['time="x" level=error msg="runc create failed: unable to start container process: exec: \\"nope\\": executable file not found in $PATH"', 127, 'exec: "nope": executable file not found in $PATH'],
    ['exec failed: unable to start container process: exec: "/etc": is a directory', 126, 'exec: "/etc": is a directory'],
    ['executable file `nope` not found in $PATH: No such file or directory', 127, 'executable file `nope` not found in $PATH: No such file or directory'],
    ['open executable: Permission denied', 126, 'open executable: Permission denied'],
    // crun's word for a directory
    ['open executable: Operation not permitted', 126, 'open executable: Operation not permitted'],
    ['cannot set memory limit: invalid argument', undefined, 'cannot set memory limit: invalid argument'],
  ];
  for (const [message, code, text] of cases) {
    const err = failure(message);
    assert.equal(err.failure, text);
    assert.equal(err.commandNotRunnable()?.exitCode, code, message);
  }
});
