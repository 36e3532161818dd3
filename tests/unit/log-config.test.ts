import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
// The module itself (not a namespace copy) for a test that wraps one of its functions.
import nodeFs = require('node:fs');
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { checkLogDriverUsable, inspectLogPath, logTagOf, monitorLogSettings, parseLogOpts } from '../../pkg/container/log-config';
import { nanoTime, parseLocalRecords } from '../../pkg/container/log-local-format';
import { LogReader, parseLogChunk, rotatedLogFiles } from '../../pkg/container/container-logs';
import { InvalidArgumentError, HostError } from '../../pkg/errors';

test('log opts: sizes, counts, booleans and paths are checked per driver', () => {
  assert.deepEqual(parseLogOpts(['max-size=10m', 'max-file=3', 'compress=true', 'tag=web'], 'json-file'), {
    'max-size': '10m',
    'max-size-bytes': String(10 * 1024 * 1024),
    'max-file': '3',
    compress: 'true',
    tag: 'web',
  });
  assert.equal(parseLogOpts(['path=logs/x.log'], 'k8s-file', '/home/u').path, '/home/u/logs/x.log');
  for (const bad of [['max-size=lots'], ['max-file=0'], ['max-file=1.5'], ['compress=yes'], ['mode=blocking'], ['x']]) {
    assert.throws(() => parseLogOpts(bad, 'json-file'), InvalidArgumentError, bad.join());
  }
  assert.throws(() => parseLogOpts(['max-size=1m'], 'none'), /unknown log opt "max-size" for the none log driver/);
  assert.deepEqual(parseLogOpts(['tag=x'], 'passthrough'), { tag: 'x' });
});

test('drivers: unknown ones are bad input; journald needs its socket', () => {
  assert.throws(() => checkLogDriverUsable('syslog'), InvalidArgumentError);
  assert.throws(() => checkLogDriverUsable('journald', '/nonexistent/socket'), (err: Error) => err instanceof HostError && /does not exist here/.test(err.message));
  for (const d of ['k8s-file', 'json-file', 'local', 'none', 'passthrough']) checkLogDriverUsable(d);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tspod-journal-'));
  try {
    const socket = path.join(dir, 'socket');
    fs.writeFileSync(socket, '');
    checkLogDriverUsable('journald', socket);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('journald: tag and socket for the monitor; a tag template sees the container as Podman\'s does', () => {
  const settings = monitorLogSettings('journald', parseLogOpts(['tag={{.Name}}/{{.ImageName}}'], 'journald'), '/c/ctr.log', {});
  assert.equal(settings.driver, 'journald');
  assert.equal(settings.journalSocket, '/run/systemd/journal/socket');
  assert.equal(monitorLogSettings('journald', {}, '/c/ctr.log', { TSPOD_JOURNAL_SOCKET: '/x/socket' }).journalSocket, '/x/socket');
  const data = { ID: 'a'.repeat(64), Name: 'web', ImageName: 'docker.io/library/busybox:latest', Image: 'b'.repeat(64) };
  assert.equal(logTagOf(settings.tag, data), 'web/docker.io/library/busybox:latest');
  assert.equal(logTagOf('plain', data), 'plain');
  assert.equal(logTagOf(undefined, data), undefined);
  assert.throws(() => parseLogOpts(['tag={{.Name'], 'journald'), InvalidArgumentError);
  assert.equal(inspectLogPath('journald', {}, '/c/ctr.log'), '');
  assert.equal(inspectLogPath('k8s-file', {}, '/c/ctr.log'), '/c/ctr.log');
});

test('monitor settings: Docker\'s local defaults, the user\'s options over them, path=', () => {
  assert.deepEqual(monitorLogSettings('local', {}, '/c/ctr.log'), { driver: 'local', path: '/c/ctr.log', maxSize: 20 * 1024 * 1024, maxFiles: 5, compress: true });
  assert.deepEqual(monitorLogSettings('local', parseLogOpts(['max-size=1k', 'compress=false'], 'local'), '/c/ctr.log'), { driver: 'local', path: '/c/ctr.log', maxSize: 1024, maxFiles: 5, compress: false });
  assert.deepEqual(monitorLogSettings('json-file', { path: '/x.log' }, '/c/ctr.log'), { driver: 'json-file', path: '/x.log', maxSize: -1, maxFiles: 1, compress: false });
});

/** One record as native/monitor-log-local.c writes it. */
function localRecord(source: string, timeNs: bigint, line: string, partial = false): Buffer {
  const varint = (v: bigint): number[] => {
    const out: number[] = [];
    do {
      const b = Number(v & 0x7fn);
      v >>= 7n;
      out.push(v ? b | 0x80 : b);
    } while (v);
    return out;
  };
  const text = Buffer.from(line);
  const msg = Buffer.from([0x0a, source.length, ...Buffer.from(source), 0x10, ...varint(timeNs), 0x1a, ...varint(BigInt(text.length)), ...text, ...(partial ? [0x20, 1] : [])]);
  const size = Buffer.alloc(4);
  size.writeUInt32BE(msg.length);
  return Buffer.concat([size, msg, size]);
}

test('local records decode to lines; an unfinished record waits', () => {
  const t = 1_764_300_000_123_456_789n;
  const data = Buffer.concat([localRecord('stdout', t, 'hello'), localRecord('stderr', t + 1n, 'part', true), localRecord('stdout', t, 'x'.repeat(300))]);
  const { lines, consumed } = parseLocalRecords(data.subarray(0, data.length - 10));
  assert.deepEqual(lines, [
    { time: '2025-11-28T03:20:00.123456789Z', stream: 'stdout', text: 'hello\n' },
    { time: '2025-11-28T03:20:00.123456790Z', stream: 'stderr', text: 'part' },
  ]);
  assert.equal(consumed, data.length - localRecord('stdout', t, 'x'.repeat(300)).length);
  assert.equal(nanoTime(0n), '1970-01-01T00:00:00.000000000Z');
});

test('text chunks stop at the last newline', () => {
  const { lines, consumed } = parseLogChunk(Buffer.from('2024-01-02T03:04:05.000000001Z stdout F a\n2024-01-02T03:04:05.0'), 'k8s-file');
  assert.equal(lines.length, 1);
  assert.equal(consumed, 42);
});

test('rotated files: oldest first, a finished .gz over a leftover plain file; the reader follows a rotation', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tspod-logs-'));
  const log = path.join(dir, 'ctr.log');
  for (const f of ['ctr.log', 'ctr.log.1', 'ctr.log.1.gz', 'ctr.log.2.gz', 'ctr.log.10', 'ctr.log.x', 'other.1']) fs.writeFileSync(path.join(dir, f), '');
  assert.deepEqual(rotatedLogFiles(log).map((f) => path.basename(f)), ['ctr.log.10', 'ctr.log.2.gz', 'ctr.log.1.gz']);
  for (const f of fs.readdirSync(dir)) fs.rmSync(path.join(dir, f));
  const rec = (n: number) => `2024-01-02T03:04:05.000000001Z stdout F ${n}\n`;
  fs.writeFileSync(log, rec(1));
  const reader = new LogReader(log, 'k8s-file');
  assert.deepEqual(reader.read().map((l) => l.text), ['1\n']);
  fs.appendFileSync(log, rec(2));
  fs.renameSync(log, `${log}.1`);
  fs.writeFileSync(log, rec(3));
  assert.deepEqual(reader.poll().map((l) => l.text), ['2\n', '3\n']);
  // two rotations between polls (the first rotated file compressed, as compress=true does): the
  // file in between is read too, and nothing twice
  fs.appendFileSync(log, rec(4));
  fs.writeFileSync(`${log}.2.gz`, zlib.gzipSync(fs.readFileSync(`${log}.1`)));
  fs.rmSync(`${log}.1`);
  fs.renameSync(log, `${log}.1`);
  fs.writeFileSync(log, rec(5));
  fs.renameSync(`${log}.1`, `${log}.1.tmp`);
  fs.writeFileSync(`${log}.2.gz`, zlib.gzipSync(fs.readFileSync(`${log}.1.tmp`)));
  fs.rmSync(`${log}.1.tmp`);
  fs.renameSync(log, `${log}.1`);
  fs.writeFileSync(log, rec(6));
  assert.deepEqual(reader.poll().map((l) => l.text), ['4\n', '5\n', '6\n']);
  // rotated when no live file exists yet (between the rename and the new file): that poll reads
  // the rotated file; then, before the next poll, the new file is written and rotated again too
  fs.appendFileSync(log, rec(7));
  fs.rmSync(`${log}.2.gz`);
  fs.renameSync(`${log}.1`, `${log}.2`);
  fs.renameSync(log, `${log}.1`);
  assert.deepEqual(reader.poll().map((l) => l.text), ['7\n']);
  fs.writeFileSync(log, rec(8));
  fs.renameSync(`${log}.1`, `${log}.2`);
  fs.renameSync(log, `${log}.1`);
  fs.writeFileSync(log, rec(9));
  assert.deepEqual(reader.poll().map((l) => l.text), ['8\n', '9\n']);
  assert.deepEqual(reader.poll(), []);
  // a rotated file that cannot be uncompressed is skipped, not the lines after it
  fs.writeFileSync(`${log}.3.gz`, 'not gzip');
  const again = new LogReader(log, 'k8s-file');
  assert.deepEqual(again.read().map((l) => l.text), ['6\n', '7\n', '8\n', '9\n']);
  again.close();
  reader.close();
  fs.rmSync(dir, { recursive: true });
});

test('the reader does not lose lines to a rotation while it reads the rotated files', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tspod-logs-'));
  const log = path.join(dir, 'ctr.log');
  const rec = (n: number) => `2024-01-02T03:04:05.000000001Z stdout F ${n}\n`;
  fs.writeFileSync(`${log}.1`, rec(1));
  fs.writeFileSync(log, rec(2));
  // The rotation happens after the reader listed the rotated files, as it opens the first: the
  // path it listed then names the file that was live.
  const realOpen = nodeFs.openSync;
  let rotated = false;
  nodeFs.openSync = ((file: fs.PathLike, ...rest: unknown[]) => {
    if (!rotated && file === `${log}.1`) {
      rotated = true;
      fs.renameSync(`${log}.1`, `${log}.2`);
      fs.renameSync(log, `${log}.1`);
      fs.writeFileSync(log, rec(3));
    }
    return (realOpen as (...a: unknown[]) => number)(file, ...rest);
  }) as typeof fs.openSync;
  const reader = new LogReader(log, 'k8s-file');
  try {
    assert.deepEqual(reader.read().map((l) => l.text), ['1\n', '2\n', '3\n']);
  } finally {
    nodeFs.openSync = realOpen;
    reader.close();
    fs.rmSync(dir, { recursive: true });
  }
  assert.ok(rotated);
});
