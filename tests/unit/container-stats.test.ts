import { test } from 'node:test';
import assert from 'node:assert/strict';
import { binarySize } from '../../pkg/format/human-units';
import { parseBlkio, parseProcCgroup } from '../../pkg/host/cgroup-usage';
import { keyedNumbers, parseNetDev, statFields } from '../../pkg/host/process-usage';
import { StatsSample, dockerStatsJson, statsRow } from '../../pkg/container/container-stats';

test('binarySize prints 4 significant digits in powers of 1024 like go-units BytesSize', () => {
  assert.equal(binarySize(0), '0B');
  assert.equal(binarySize(1023), '1023B');
  assert.equal(binarySize(1024), '1KiB');
  assert.equal(binarySize(1_753_219), '1.672MiB');
  assert.equal(binarySize(64 * 1024 * 1024), '64MiB');
});

test('net/dev: every interface but lo, received and transmitted bytes', () => {
  const text = [
    'Inter-|   Receive                                                |  Transmit',
    ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed',
    '    lo:    1000      10    0    0    0     0          0         0     1000      10    0    0    0     0       0          0',
    '  tap0:     166       2    0    0    0     0          0         0      702       8    0    0    0     0       0          0',
    '  eth1:      34       1    0    0    0     0          0         0        8       1    0    0    0     0       0          0',
  ].join('\n');
  assert.deepEqual(parseNetDev(text), { rx: 200, tx: 710 });
  assert.deepEqual(parseNetDev(''), { rx: 0, tx: 0 });
});

test('/proc/PID/stat fields start after the last paren of the command name', () => {
  const f = statFields('42 (a (b) c) S 1 42 42 0 -1 4194560 100 0 0 0 7 3 2 1 20 0 4 0 123');
  assert.equal(f[0], 'S');
  assert.equal(f[11], '7');
  assert.equal(f[14], '1');
  assert.equal(f[17], '4');
});

test('keyed numbers: kB values become bytes', () => {
  const m = keyedNumbers('Rss:    1616 kB\nPss:     206 kB\nread_bytes: 4096\n');
  assert.equal(m.get('Pss'), 206 * 1024);
  assert.equal(m.get('read_bytes'), 4096);
});

test('/proc/PID/cgroup: v1 controllers (joined and named) and the v2 entry', () => {
  const m = parseProcCgroup('4:memory:/a/b\n2:cpu,cpuacct:/c\n9:name=systemd:/\n0::/d\n');
  assert.equal(m.get('memory'), '/a/b');
  assert.equal(m.get('cpuacct'), '/c');
  assert.equal(m.get('cpu'), '/c');
  assert.equal(m.get('systemd'), '/');
  assert.equal(m.get(''), '/d');
});

test('block I/O from v1 blkio and v2 io.stat', () => {
  assert.deepEqual(parseBlkio('8:0 Read 100\n8:0 Write 50\n8:0 Sync 150\n8:16 Read 1\nTotal 151\n'), { read: 101, write: 50 });
  assert.deepEqual(parseBlkio('8:0 rbytes=10 wbytes=20 rios=1 wios=2\n259:0 rbytes=1 wbytes=2\n'), { read: 11, write: 22 });
});

const usage = { cpuNs: 0, memoryBytes: 1024 * 1024, memoryLimit: 64 * 1024 * 1024, pids: 3, blockRead: 0, blockWrite: 4_200_000 };
const sample = (at: number, cpuNs: number): StatsSample => ({
  id: 'a'.repeat(64),
  name: 'web',
  running: true,
  at,
  startedAt: 0,
  usage: { ...usage, cpuNs },
  net: { rx: 110_000, tx: 0 },
  source: 'proc',
});

test('the first row averages CPU since the start; later rows use the last interval', () => {
  const first = statsRow(sample(10_000, 5e9), undefined);
  assert.equal(first.CPUPerc, '50.00%');
  const second = statsRow(sample(11_000, 5e9 + 2e9), sample(10_000, 5e9));
  assert.equal(second.CPUPerc, '200.00%');
  assert.equal(second.AVGCPU, '63.64%');
  assert.equal(second.MemUsage, '1MiB / 64MiB');
  assert.equal(second.MemPerc, '1.56%');
  assert.equal(second.NetIO, '110kB / 0B');
  assert.equal(second.BlockIO, '0B / 4.2MB');
  assert.equal(second.PIDs, '3');
  assert.equal(second.ID, 'aaaaaaaaaaaa');
  assert.equal(second.Container, 'aaaaaaaaaaaa');
});

test('a stopped container shows zero use; json has Docker\'s fields only', () => {
  const row = statsRow({ id: 'b'.repeat(64), name: 'db', running: false, at: 1, startedAt: 0, net: { rx: 0, tx: 0 } }, undefined, { noTrunc: true, asked: 'db' });
  assert.deepEqual(JSON.parse(dockerStatsJson(row)), {
    BlockIO: '0B / 0B',
    CPUPerc: '0.00%',
    Container: 'db',
    ID: 'b'.repeat(64),
    MemPerc: '0.00%',
    MemUsage: '0B / 0B',
    Name: 'db',
    NetIO: '0B / 0B',
    PIDs: '0',
  });
});
