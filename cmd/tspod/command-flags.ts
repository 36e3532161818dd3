// Which flags a command has in this build, read from its clipanion definition: generated units
// use a flag only once tspod has it (Quadlet keys, `run --sdnotify`).
import { Cli, CommandClass } from 'clipanion';
import { COMMAND_GROUPS } from './commands';

/** The long and short names of a command's options; undefined when there is no such command. */
export async function commandFlags(group: string, words: string[]): Promise<Set<string> | undefined> {
  const classes: CommandClass[] = COMMAND_GROUPS[group] ? await COMMAND_GROUPS[group].load() : [];
  const cls = classes.find((c) => c.paths?.some((p) => p.join(' ') === words.join(' ')));
  if (!cls) return undefined;
  const cli = new Cli({ binaryName: 'tspod' });
  cli.register(cls);
  return new Set(cli.definitions()[0]?.options.flatMap((o) => o.definition.split(' ')[0].split(',')) ?? []);
}

/** True once `run --sdnotify` exists (tspod then relays READY=1 and MAINPID to systemd). */
export async function runRelaysSdNotify(): Promise<boolean> {
  return (await commandFlags('run', ['run']))?.has('--sdnotify') ?? false;
}
