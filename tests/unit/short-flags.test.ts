import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CommandFlags, hasShortFlagBatch, splitLeadingShortFlags, splitShortFlags } from '../../cmd/tspod/short-flags';

const flags: CommandFlags = {
  withValue: new Set(['-t', '-n', '-p', '-e', '--name', '--time']),
  boolean: new Set(['-a', '-d', '-i', '--rm', '-f']),
};

test('a value glued to a short flag is split off, as pflag reads it', () => {
  assert.deepEqual(splitShortFlags('-t0', flags), ['-t', '0']);
  assert.deepEqual(splitShortFlags('-p8080:80', flags), ['-p', '8080:80']);
  assert.deepEqual(splitShortFlags('-t=5', flags), ['-t', '5']);
  assert.deepEqual(splitShortFlags('-eA=1', flags), ['-e', 'A=1']);
});

test('boolean flags come one by one until one that takes a value', () => {
  assert.deepEqual(splitShortFlags('-an1', flags), ['-a', '-n', '1']);
  assert.deepEqual(splitShortFlags('-dp', flags), ['-d', '-p']);
  assert.deepEqual(splitShortFlags('-ai', flags), ['-a', '-i']);
});

test('a letter the command does not know leaves the token as it is', () => {
  assert.equal(splitShortFlags('-fx', flags), undefined);
  assert.equal(splitShortFlags('-xt0', flags), undefined);
});

test('only the leading options are split: what follows the first positional is its own', () => {
  assert.deepEqual(splitLeadingShortFlags(['stop', '-t0', 'web'], 1, flags), ['stop', '-t', '0', 'web']);
  assert.deepEqual(splitLeadingShortFlags(['run', '-dp', '80:80', '--name', 'x', '-it0', 'img', 'ls', '-la'], 1, { ...flags, boolean: new Set([...flags.boolean, '-i']) }), [
    'run', '-d', '-p', '80:80', '--name', 'x', '-i', '-t', '0', 'img', 'ls', '-la',
  ]);
  // A value that looks like a flag is still the value of the flag before it.
  assert.deepEqual(splitLeadingShortFlags(['run', '-e', '-an1', 'img', '-an1'], 1, flags), ['run', '-e', '-an1', 'img', '-an1']);
  assert.deepEqual(splitLeadingShortFlags(['run', '--', '-an1'], 1, flags), ['run', '--', '-an1']);
});

test('a command line without a batch of short flags is not looked at', () => {
  assert.equal(hasShortFlagBatch(['ps', '-a', '--format', 'x'], 1), false);
  assert.equal(hasShortFlagBatch(['ps', 'web', '-an1'], 1), false);
  assert.equal(hasShortFlagBatch(['stop', '-t0', 'web'], 1), true);
});

test('--NAME=VALUE with a digit in NAME (clipanion refuses those) is split as pflag reads it', () => {
  const flags: CommandFlags = { withValue: new Set(['--ip6', '--subnet']), boolean: new Set(['--ipv6', '--ipv4']) };
  assert.equal(hasShortFlagBatch(['network', 'create', '--ipv6=true', 'x'], 2), true);
  assert.equal(hasShortFlagBatch(['network', 'create', '--subnet=fd00:1::/64', 'x'], 2), false, 'no digit in the name: clipanion binds it');
  assert.deepEqual(splitLeadingShortFlags(['network', 'create', '--ipv4=false', '--ipv6=true', 'x', '--ipv6=0'], 2, flags), ['network', 'create', '--no-ipv4', '--ipv6', 'x', '--ipv6=0']);
  assert.equal(hasShortFlagBatch(['run', '--subnet', 'x', '--ip6=fd00:1::5', 'busybox'], 1), true, 'also after an option with its value');
  assert.deepEqual(splitLeadingShortFlags(['run', '--subnet', 'x', '--ip6=fd00:1::5', 'busybox'], 1, flags), ['run', '--subnet', 'x', '--ip6', 'fd00:1::5', 'busybox']);
  assert.deepEqual(splitLeadingShortFlags(['x', '--ipv6=maybe', '--ip7=1', 'y'], 1, flags), ['x', '--ipv6=maybe', '--ip7=1', 'y'], 'left for the parser to report');
});
