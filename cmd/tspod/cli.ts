// The command line itself: global flags, the typed command's group loaded on demand, clipanion
// for the command's own flags, and one place where failures become exit codes.
import { Cli, CommandClass } from 'clipanion';
import { commandFlags, matchedPath, parserFor, typedClasses } from './command-parser';
import { restoreUserEnv, takeStdioRecord } from './launcher-env';
import { speedUpExit } from './exit-teardown';
import { takeHelperServer } from '../../pkg/storage/helper-server';
import { leaveDatabasesOpenUntilExit } from '../../pkg/state/database';
import { COMMAND_GROUPS, GROUP_ALIASES } from './commands';
import { parseErrorMessage, unknownCommandMessage } from './cli-errors';
import { splitGlobalFlags } from './global-flags';
import { hasShortFlagBatch, splitLeadingShortFlags } from './short-flags';
import { TspodCommand, setLeadingGlobals } from './tspod-command';
import { TspodError, errorMessage } from '../../pkg/errors';
import { isLogLevel, logEnabled, setLogLevel } from '../../pkg/log';
import { TSPOD_VERSION } from '../../pkg/version';

function fail(message: string, code = 125): number {
  process.stderr.write(`Error: ${message}\n`);
  return code;
}

function reportFailure(err: unknown): number {
  if (err instanceof TspodError) return fail(err.message, err.exitCode);
  if (logEnabled('debug') && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
  return fail(errorMessage(err).split('\n')[0]);
}

function applyLogLevel(level: string | undefined): string | undefined {
  if (level === undefined) return undefined;
  if (!isLogLevel(level)) return `invalid log level "${level}": use one of trace, debug, info, warn, error, fatal, panic`;
  setLogLevel(level);
  return undefined;
}

/** Exported for the start-up snapshot's training (snapshot-training.ts compiles it). */
export async function main(argv: string[]): Promise<number> {
  const { globals, rest, missingValue } = splitGlobalFlags(argv);
  if (missingValue) return fail(`flag needs an argument: ${missingValue}. See 'tspod --help'.`);
  const levelError = applyLogLevel(globals.logLevel);
  if (levelError) return fail(levelError);
  setLeadingGlobals(globals, argv);

  const word = rest[0];
  if (word === undefined || word === '--help' || word === '-h' || (word === 'help' && rest.length === 1)) {
    process.stdout.write((await import('./help')).topLevelHelp());
    return 0;
  }
  if (word === '--version' || word === '-v') {
    process.stdout.write(`tspod version ${TSPOD_VERSION}\n`);
    return 0;
  }
  const args = word === 'help' ? [...rest.slice(1), '--help'] : rest;
  const groupName = GROUP_ALIASES[args[0]] ?? args[0];
  const group = COMMAND_GROUPS[groupName];
  if (!group || args[0].startsWith('-')) {
    if (args[0].startsWith('-')) return fail(`unknown flag: ${args[0]}. See 'tspod --help'.`);
    return fail(unknownCommandMessage([args[0]], Object.keys(COMMAND_GROUPS)));
  }

  const classes = await group.load();
  const path = matchedPath(classes, args);
  const typed = typedClasses(classes, path);
  const cli = parserFor(typed.length ? typed : classes);
  if (path.length === 0 || (path.length === 1 && !classes.some((c) => c.paths?.some((p) => p.length === 1)))) {
    const subcommands = classes.flatMap((c) => (c.paths ?? []).filter((p) => p[0] === args[0] && p.length > 1).map((p) => p[1]));
    const sub = args[1];
    if (sub === undefined || sub === '--help' || sub === '-h') {
      process.stdout.write((await import('./help')).groupHelp(args[0], group.summary, classes));
      return 0;
    }
    return fail(unknownCommandMessage([args[0], sub], subcommands));
  }

  let command;
  try {
    command = parseCommandLine(cli, args, path.length);
  } catch (err) {
    return fail(parseErrorMessage(err, path.join(' ')));
  }
  if (command instanceof TspodCommand) {
    const levelErr = applyLogLevel(command.globals().logLevel);
    if (levelErr) return fail(levelErr);
  }
  const code = await cli.run(command);
  if (command instanceof TspodCommand && command.failure !== undefined) return reportFailure(command.failure);
  return code;
}

/** cli.process, after splitting the leading short-flag batches as pflag does (`stop -t0`,
 * `ps -an1`, `run -dp 80:80`); see short-flags.ts. */
function parseCommandLine(cli: Cli, args: string[], commandWords: number): ReturnType<Cli['process']> {
  if (!hasShortFlagBatch(args, commandWords)) return cli.process(args);
  return cli.process(splitLeadingShortFlags(args, commandWords, commandFlags(cli)));
}

/** Runs the command line argv (the words after `tspod`) and sets the exit code when it is done.
 * Called by main.js, or by the start-up snapshot's main function (snapshot-entry.ts). */
export function runCli(argv: string[]): void {
  restoreUserEnv();
  speedUpExit(takeStdioRecord());
  takeHelperServer();
  leaveDatabasesOpenUntilExit();
  // Clipanion took process.stdout and friends when its module loaded, which for the start-up
  // snapshot was at build time: give it this process's streams (its help and usage go there).
  // Not stdin: no command reads it through clipanion, and creating process.stdin costs ~2 ms.
  Cli.defaultContext = { env: process.env, stdout: process.stdout, stderr: process.stderr, colorDepth: 1 } as typeof Cli.defaultContext;

  // A command whose work can never finish (a promise nobody settles) would otherwise end with
  // the event loop, silently and with status 0.
  let settled = false;

  // A closed pipe (`tspod images | head -1`) is a normal end, not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    settled = true;
    process.exit(0);
  });

  process.on('exit', () => {
    if (settled) return;
    process.stderr.write('Error: internal error: the command stopped before it finished; rerun with --log-level debug and report it\n');
    process.exitCode = 125;
  });

  main(argv).then(
    (code) => {
      settled = true;
      // Done: leave at once rather than when the event loop has drained, which also tears down
      // the whole heap (a few ms of every command). Not while output is still queued for a
      // pipe that was full.
      if (process.stdout.writableLength === 0 && process.stderr.writableLength === 0) process.exit(code);
      process.exitCode = code;
    },
    (err) => {
      settled = true;
      process.exitCode = reportFailure(err);
    },
  );
}
