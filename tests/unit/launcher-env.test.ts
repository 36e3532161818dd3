// The environment the CLI hands on to what it starts is the user's, not the launcher's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { restoreUserEnv, takeStdioRecord } from '../../cmd/tspod/launcher-env';

test("the user's GLIBC_TUNABLES comes back", () => {
  const env: NodeJS.ProcessEnv = { GLIBC_TUNABLES: 'glibc.malloc.check=3:glibc.malloc.hugetlb=1', _TSPOD_GLIBC_TUNABLES: '=glibc.malloc.check=3', PATH: '/bin' };
  restoreUserEnv(env);
  assert.deepEqual(env, { GLIBC_TUNABLES: 'glibc.malloc.check=3', PATH: '/bin' });
});

test('a user without GLIBC_TUNABLES gets none; an empty one stays empty', () => {
  const unset: NodeJS.ProcessEnv = { GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1', _TSPOD_GLIBC_TUNABLES: '' };
  restoreUserEnv(unset);
  assert.deepEqual(unset, {});
  const empty: NodeJS.ProcessEnv = { GLIBC_TUNABLES: ':glibc.malloc.hugetlb=1', _TSPOD_GLIBC_TUNABLES: '=' };
  restoreUserEnv(empty);
  assert.deepEqual(empty, { GLIBC_TUNABLES: '' });
});

test('without the launcher (or with TSPOD_NO_SNAPSHOT=1) nothing changes', () => {
  const env: NodeJS.ProcessEnv = { GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' };
  restoreUserEnv(env);
  assert.deepEqual(env, { GLIBC_TUNABLES: 'glibc.malloc.hugetlb=0' });
});

test("the launcher's record of fds 0-2 is taken out of the environment", () => {
  const env: NodeJS.ProcessEnv = { _TSPOD_STDIO: '32768,t,-', KEEP: '1' };
  assert.equal(takeStdioRecord(env), '32768,t,-');
  assert.deepEqual(env, { KEEP: '1' });
  assert.equal(takeStdioRecord(env), undefined);
});
