import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIdMapFile, parseSubIdFile } from '../../pkg/rootless/id-mappings';

test('subuid ranges match by name or uid, all of them, in order', () => {
  const text = 'alice:100000:65536\n# comment\nbob:165536:65536\n1000:300000:1000\nalice:400000:10\nbroken:x:y\n';
  assert.deepEqual(parseSubIdFile(text, 'alice', 1000), [
    { start: 100000, count: 65536 },
    { start: 300000, count: 1000 },
    { start: 400000, count: 10 },
  ]);
  assert.deepEqual(parseSubIdFile(text, 'carol', 1001), []);
});

test('uid_map parsing', () => {
  assert.deepEqual(parseIdMapFile('         0       1000          1\n         1     100000      65536\n'), [
    { container_id: 0, host_id: 1000, size: 1 },
    { container_id: 1, host_id: 100000, size: 65536 },
  ]);
});
