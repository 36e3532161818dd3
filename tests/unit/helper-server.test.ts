import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeHelperAnswers, encodeHelperAnswer as answer, encodeHelperRequest, runOnHelperServer, takeHelperServer } from '../../pkg/storage/helper-server';

test('a request is its length, then the directory and each word NUL-terminated', () => {
  const frame = encodeHelperRequest('/d', ['mount', '-r', 'a b']);
  assert.equal(frame.readUInt32BE(0), frame.length - 4);
  assert.equal(frame.subarray(4).toString(), '/d\0mount\0-r\0a b\0');
  assert.equal(encodeHelperRequest('', ['umount', '/x']).subarray(4).toString(), '\0umount\0/x\0');
});

test('answers are decoded whatever the chunks, and an incomplete one waits', () => {
  const two = Buffer.concat([answer(0, 'detached\n', ''), answer(1, '', 'umount /x: No such file or directory\n')]);
  const whole = decodeHelperAnswers(two);
  assert.deepEqual(whole.answers, [
    { code: 0, stdout: 'detached\n', stderr: '' },
    { code: 1, stdout: '', stderr: 'umount /x: No such file or directory\n' },
  ]);
  assert.equal(whole.rest.length, 0);
  const part = decodeHelperAnswers(two.subarray(0, two.length - 3));
  assert.equal(part.answers.length, 1);
  assert.equal(part.rest.length, two.length - answer(0, 'detached\n', '').length - 3);
  assert.equal(decodeHelperAnswers(Buffer.from([0, 0])).answers.length, 0);
});

test('a malformed answer is an error, not a misread', () => {
  const bad = Buffer.alloc(8);
  bad.writeUInt32BE(4, 0);
  assert.throws(() => decodeHelperAnswers(bad), /malformed/);
  const long = answer(0, 'x', '');
  long.writeUInt32BE(99, 8);
  assert.throws(() => decodeHelperAnswers(long), /malformed/);
});

test('without a server in the environment nothing is asked (the caller spawns the helper)', async () => {
  const env: NodeJS.ProcessEnv = {};
  takeHelperServer(env);
  assert.equal(await runOnHelperServer(['umount', '/x']), undefined);
});

test('the server name is taken out of the environment, so children do not inherit it', async () => {
  const env: NodeJS.ProcessEnv = { _TSPOD_HELPER_SOCKET: 'tspod-helper-1-00000000-not-listening' };
  takeHelperServer(env);
  assert.equal(env._TSPOD_HELPER_SOCKET, undefined);
  // Nobody listens there: the caller falls back to spawning.
  assert.equal(await runOnHelperServer(['umount', '/x']), undefined);
});
