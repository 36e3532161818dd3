// The lazily folded parser of cmd/tspod/command-parser.ts must read every command line exactly
// as clipanion's own (eagerly simplified) parser does: same options, same errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Cli, CommandClass } from 'clipanion';
import { matchedPath, newCli, parserFor, typedClasses } from '../../cmd/tspod/command-parser';
import { RunCommand } from '../../cmd/tspod/container-run';
import { PsCommand } from '../../cmd/tspod/container-ps';
import { ImagesCommand } from '../../cmd/tspod/image-list';
import { ExecCommand } from '../../cmd/tspod/container-exec';
import { RmCommand, StopCommand } from '../../cmd/tspod/container-lifecycle';

/** What a parse produced: the command's option fields, or the error message. */
function parsed(cli: Cli, argv: string[]): string {
  try {
    const command = cli.process(argv) as unknown as Record<string, unknown>;
    const fields = Object.entries(command).filter(([key]) => key !== 'context' && key !== 'cli');
    return `${command.constructor.name} ${JSON.stringify(Object.fromEntries(fields))}`;
  } catch (err) {
    return `error ${(err as Error).message}`;
  }
}

function clipanionCli(classes: CommandClass[]): Cli {
  const cli = new Cli({ binaryName: 'tspod', binaryLabel: 'tspod', enableColors: false });
  for (const cls of classes) cli.register(cls);
  return cli;
}

const CASES: [CommandClass[], string[][]][] = [
  [
    [RunCommand],
    [
      ['run', '--rm', 'busybox', 'true'],
      ['run', '-d', '--name', 'web', '-e', 'A=B', '--env=C=D', '-v', '/a:/b:ro', '-p', '8080:80', 'busybox', 'sh', '-c', 'echo hi'],
      ['run', '-dit', '--rm', 'busybox'],
      ['run', 'busybox', 'ls', '-l', '--', '-x'],
      ['run', '--user', '1000:1000', '--workdir=/tmp', '--init', 'busybox', 'id'],
      ['run', '--bogus', 'busybox'],
      ['run'],
      ['run', '--name'],
      ['run', '--help'],
      ['run', '-h'],
    ],
  ],
  [[PsCommand], [['ps'], ['ps', '-a'], ['ps', '-aq', '--no-trunc'], ['ps', '--format', '{{.Names}}', '-a'], ['ps', '--filter', 'status=exited', '-n', '3'], ['ps', 'extra'], ['ps', '--nope']]],
  [[ImagesCommand], [['images'], ['image', 'ls', '-a', '--digests'], ['images', 'busybox'], ['image', 'list', '--format', 'json'], ['images', '-x']]],
  [[ExecCommand], [['exec', 'c1', 'true'], ['exec', '-it', '-e', 'A=1', '-u', 'root', 'c1', 'sh', '-c', 'x'], ['exec', 'c1'], ['exec', '-w']]],
  // Several commands in one parser: the union machine of clipanion is kept for them.
  [[RmCommand, StopCommand], [['rm', '-f', 'a', 'b'], ['stop', '-t', '0', 'a'], ['rm'], ['stop', '--time=3', 'x']]],
];

for (const [classes, argvs] of CASES) {
  test(`${classes.map((c) => c.name).join(' + ')}: the folded parser reads every command line as clipanion does`, () => {
    for (const argv of argvs) {
      // A fresh parser per line on one side, one reused parser on the other: folding is per node,
      // and a node folded for one line must serve the next.
      assert.equal(parsed(newCli(classes), argv), parsed(clipanionCli(classes), argv), argv.join(' '));
    }
    const reused = newCli(classes);
    for (const argv of argvs) assert.equal(parsed(reused, argv), parsed(clipanionCli(classes), argv), `reused: ${argv.join(' ')}`);
  });
}

test('parserFor keeps one parser per command: every later line reads as with a fresh clipanion parser', () => {
  const kept = parserFor([RunCommand]);
  assert.equal(parserFor([RunCommand]), kept);
  assert.notEqual(parserFor([PsCommand]), kept);
  const [, runLines] = CASES[0];
  for (const argv of [...runLines, ...runLines]) assert.equal(parsed(parserFor([RunCommand]), argv), parsed(clipanionCli([RunCommand]), argv), argv.join(' '));
  // Several classes get a parser of their own each time (their union is not kept).
  assert.notEqual(parserFor([RmCommand, StopCommand]), parserFor([RmCommand, StopCommand]));
});

test('the typed command is the longest registered path the arguments start with', () => {
  const classes = [RmCommand, StopCommand, ImagesCommand];
  assert.deepEqual(matchedPath(classes, ['image', 'ls', '-a']), ['image', 'ls']);
  assert.deepEqual(typedClasses(classes, ['image', 'ls']), [ImagesCommand]);
  assert.deepEqual(matchedPath(classes, ['stop', '-t', '0', 'x']), ['stop']);
  assert.deepEqual(matchedPath(classes, ['nope']), []);
  assert.deepEqual(typedClasses(classes, []), []);
});
