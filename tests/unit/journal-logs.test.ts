import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JournalLineAssembler, journalctlArgs, journalReadError, journalTime, parseJournalJson } from '../../pkg/container/journal-logs';

test('journal entries become lines: PRIORITY 3 is stderr, partial pieces are joined, times in nanoseconds', () => {
  const entries = parseJournalJson([
    '{"MESSAGE":"out","PRIORITY":"6","__REALTIME_TIMESTAMP":"1700000000123456","__CURSOR":"c1"}',
    '{"MESSAGE":"err","PRIORITY":"3","__REALTIME_TIMESTAMP":"1700000000123457","__CURSOR":"c2"}',
    '{"MESSAGE":"par","PRIORITY":"6","CONTAINER_PARTIAL_MESSAGE":"true","__REALTIME_TIMESTAMP":"1700000000200000"}',
    'not json',
    '{"MESSAGE":[116,97,108,7],"PRIORITY":"6","__REALTIME_TIMESTAMP":"1700000000300000"}',
    '{"MESSAGE":"tail","PRIORITY":"6","CONTAINER_PARTIAL_MESSAGE":"true","__REALTIME_TIMESTAMP":"1700000000400000"}',
  ].join('\n'));
  assert.equal(entries.length, 5);
  const a = new JournalLineAssembler();
  assert.deepEqual(a.add(entries), [
    { time: '2023-11-14T22:13:20.123456000Z', stream: 'stdout', text: 'out\n' },
    { time: '2023-11-14T22:13:20.123457000Z', stream: 'stderr', text: 'err\n' },
    { time: '2023-11-14T22:13:20.200000000Z', stream: 'stdout', text: 'partal\x07\n' },
  ]);
  assert.deepEqual(a.flush(), [{ time: '2023-11-14T22:13:20.400000000Z', stream: 'stdout', text: 'tail' }]);
  assert.deepEqual(a.flush(), []);
  assert.equal(journalTime('1'), '1970-01-01T00:00:00.000001000Z');
});

test('journalctl: one container\'s entries, from a cursor when following; failures say what to do', () => {
  assert.deepEqual(journalctlArgs('abc'), ['--output=json', '--output-fields=MESSAGE,PRIORITY,CONTAINER_PARTIAL_MESSAGE', '--no-pager', '--all', '--quiet', 'CONTAINER_ID_FULL=abc']);
  assert.deepEqual(journalctlArgs('abc', { follow: true }).slice(5), ['--lines=all', '--follow', 'CONTAINER_ID_FULL=abc']);
  assert.deepEqual(journalctlArgs('abc', { follow: true, afterCursor: 'c' }).slice(5), ['--after-cursor=c', '--follow', 'CONTAINER_ID_FULL=abc']);
  assert.deepEqual(journalctlArgs('abc', { lines: 3 }).slice(5), ['--lines=3', 'CONTAINER_ID_FULL=abc']);
  assert.match(journalReadError(1, 'No journal files were opened due to insufficient permissions.\n').message, /^cannot read the journal \(No journal files.*\): add yourself to the group systemd-journal/);
  assert.match(journalReadError(null, '', Object.assign(new Error('x'), { code: 'ENOENT' })).message, /journalctl is not installed/);
});
