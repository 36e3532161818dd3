import { test } from 'node:test';
import assert from 'node:assert/strict';
import { humanDuration, humanSize, parseByteSize, timeAgo } from '../../pkg/format/human-units';

test('humanSize prints three significant digits in decimal units like go-units', () => {
  assert.equal(humanSize(0), '0 B');
  assert.equal(humanSize(999), '999 B');
  assert.equal(humanSize(5_830_000), '5.83 MB');
  assert.equal(humanSize(1_000_000), '1 MB');
  assert.equal(humanSize(123_456_789, ''), '123MB');
  assert.equal(humanSize(1_500_000_000), '1.5 GB');
});

test('humanDuration follows go-units wording', () => {
  assert.equal(humanDuration(500), 'Less than a second');
  assert.equal(humanDuration(1000), '1 second');
  assert.equal(humanDuration(45_000), '45 seconds');
  assert.equal(humanDuration(90_000), 'About a minute');
  assert.equal(humanDuration(10 * 60_000), '10 minutes');
  assert.equal(humanDuration(3600_000), 'About an hour');
  assert.equal(humanDuration(5 * 3600_000), '5 hours');
  assert.equal(humanDuration(3 * 86400_000), '3 days');
  assert.equal(humanDuration(20 * 86400_000), '2 weeks');
  assert.equal(humanDuration(100 * 86400_000), '3 months');
  assert.equal(humanDuration(800 * 86400_000), '2 years');
  assert.equal(timeAgo(1000, 61_000 + 1000), 'About a minute ago');
});

test('parseByteSize reads Docker size suffixes and rejects junk', () => {
  assert.equal(parseByteSize('100'), 100);
  assert.equal(parseByteSize('1k'), 1024);
  assert.equal(parseByteSize('10m'), 10 * 1024 * 1024);
  assert.equal(parseByteSize('1.5g'), 1.5 * 1024 ** 3);
  assert.equal(parseByteSize('2MiB'), 2 * 1024 * 1024);
  assert.equal(parseByteSize('ten'), undefined);
  assert.equal(parseByteSize('-1m'), undefined);
});
