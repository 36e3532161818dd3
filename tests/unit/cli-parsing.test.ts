import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitGlobalFlags } from '../../cmd/tspod/global-flags';
import { parseErrorMessage, suggest, unknownCommandMessage } from '../../cmd/tspod/cli-errors';

test('leading global flags are taken off in both spellings', () => {
  assert.deepEqual(splitGlobalFlags(['--root', '/x', '--log-level=debug', 'info', '--root', '/y']), {
    globals: { root: '/x', logLevel: 'debug' },
    rest: ['info', '--root', '/y'],
  });
  assert.equal(splitGlobalFlags(['--runtime']).missingValue, '--runtime');
});

test('misspelled commands get a suggestion', () => {
  assert.deepEqual(suggest('imags', ['images', 'info', 'version']), ['images']);
  assert.deepEqual(suggest('xyzzy', ['images', 'info']), []);
  assert.equal(unknownCommandMessage(['verison'], ['version', 'info']), "unrecognized command 'tspod verison'; did you mean 'version'? See 'tspod --help'.");
});

test('clipanion parse errors become one Docker-style line', () => {
  const err = { candidates: [{ reason: 'Unsupported option name ("--bogus").' }] };
  assert.equal(parseErrorMessage(err, 'info'), "unknown flag: --bogus. See 'tspod info --help'.");
  const missing = { candidates: [{ reason: 'Not enough arguments to option --format.' }] };
  assert.equal(parseErrorMessage(missing, 'version'), "flag needs an argument: --format. See 'tspod version --help'.");
});
