import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runeLength } from '../../pkg/format/runes';

test('runes are code points, as Go counts them', () => {
  assert.equal(runeLength(''), 0);
  assert.equal(runeLength('docker.io/library/busybox'), 25);
  assert.equal(runeLength('Grüße'), 5);
  assert.equal(runeLength('a😀b'), 3); // one astral character: two UTF-16 units, one rune
  assert.equal(runeLength('\uD800x'), 2); // a lone surrogate is one (invalid) rune
});
