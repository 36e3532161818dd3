// `tspod unshare`: a command run as root of the user's namespace. The launcher (native/) has
// already put this process in the namespace, so the command is an ordinary child.
import { Command, Option } from 'clipanion';
import { spawn } from 'node:child_process';
import * as os from 'node:os';
import { TspodCommand } from './tspod-command';
import { hostIdentity } from '../../pkg/config/host-identity';
import { CommandNotRunnableError, HostError, InvalidArgumentError } from '../../pkg/errors';

/** Exit status of a child the way a shell reports it: 128+N when killed by signal N. */
function exitStatus(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const number = signal ? os.constants.signals[signal] : undefined;
  return 128 + (number ?? 0);
}

async function runInNamespace(argv: string[], extraEnv: Record<string, string>): Promise<number> {
  const [file, ...args] = argv.length > 0 ? argv : [process.env.SHELL || '/bin/sh'];

  const child = spawn(file, args, { stdio: 'inherit', env: { ...process.env, ...extraEnv } });
  // Like a shell running a foreground job: ^C and ^\ reach the child through the terminal,
  // and must not end us before we can report its status; other signals are passed on.
  const ignore = (): void => {};
  const forward = (signal: NodeJS.Signals): void => {
    child.kill(signal);
  };
  const ignored: NodeJS.Signals[] = ['SIGINT', 'SIGQUIT'];
  const forwarded: NodeJS.Signals[] = ['SIGTERM', 'SIGHUP', 'SIGUSR1', 'SIGUSR2'];
  for (const s of ignored) process.on(s, ignore);
  for (const s of forwarded) process.on(s, forward);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT') reject(new CommandNotRunnableError(`${file}: executable file not found in $PATH`, true));
        else if (err.code === 'EACCES') reject(new CommandNotRunnableError(`${file}: permission denied`, false));
        else reject(err);
      });
      child.once('exit', (code, signal) => resolve(exitStatus(code, signal)));
    });
  } finally {
    for (const s of ignored) process.off(s, ignore);
    for (const s of forwarded) process.off(s, forward);
  }
}


export class UnshareCommand extends TspodCommand {
  static override paths = [['unshare']];
  static override usage = Command.Usage({
    description: "Run a command in tspod's user namespace",
    details:
      'Runs COMMAND (default: $SHELL) as root of the user namespace tspod works in: your uid is 0 there and your subordinate ids follow from 1. Use it to look at or remove files in the store that belong to container users. Exits with the command\'s exit code.',
    examples: [
      ['Show the uid mappings', 'tspod unshare cat /proc/self/uid_map'],
      ['Open a shell in the namespace', 'tspod unshare'],
      ['Remove files owned by a container user', 'tspod unshare rm -rf ~/.local/share/tspod/volumes/old'],
    ],
  });

  command = Option.Proxy();

  async run(): Promise<number> {
    // The proxy takes every word after `unshare`, so help and `--` are ours to handle.
    const argv = this.command[0] === '--' ? this.command.slice(1) : this.command;
    if (argv === this.command && (argv[0] === '--help' || argv[0] === '-h')) {
      this.out(this.cli.usage(UnshareCommand, { detailed: true }));
      return 0;
    }
    const host = hostIdentity();
    if (!host.rootless) throw new InvalidArgumentError('please use unshare with rootless');
    if (!host.inUserns) {
      throw new HostError('not running in the user namespace: run tspod through its launcher (native/build/tspod) and without _TSPOD_NO_USERNS');
    }
    const config = this.config();
    return runInNamespace(argv, { CONTAINERS_GRAPHROOT: config.graphRoot, CONTAINERS_RUNROOT: config.runRoot });
  }
}
