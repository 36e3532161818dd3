// `tspod --help` and `tspod GROUP --help`, in Docker's layout. The per-command help comes
// from each command's clipanion usage block.
import type { CommandClass } from 'clipanion';
import { COMMAND_GROUPS } from './commands';
import { GLOBAL_FLAGS } from './global-flags';

function rows(entries: [string, string][]): string {
  const width = Math.max(...entries.map(([n]) => n.length)) + 2;
  return entries.map(([n, s]) => `  ${n.padEnd(width)}${s}\n`).join('');
}

export function topLevelHelp(): string {
  const groups = Object.entries(COMMAND_GROUPS).sort(([a], [b]) => a.localeCompare(b));
  const management = groups.filter(([, g]) => g.management).map(([n, g]): [string, string] => [n, g.summary]);
  const commands = groups.filter(([, g]) => !g.management).map(([n, g]): [string, string] => [n, g.summary]);
  const flags = GLOBAL_FLAGS.map((f): [string, string] => [`${f.name} string`, f.description]);
  flags.push(['-v, --version', 'Print version information and quit'], ['-h, --help', 'Show this help']);
  return (
    `\nUsage:  tspod [OPTIONS] COMMAND\n\n` +
    `A rootless, daemonless container engine (a drop-in for docker and podman)\n\n` +
    `Management Commands:\n${rows(management)}\n` +
    `Commands:\n${rows(commands)}\n` +
    `Global Options:\n${rows(flags)}\n` +
    `Run 'tspod COMMAND --help' for more information on a command.\n`
  );
}

export function groupHelp(group: string, summary: string, classes: CommandClass[]): string {
  const entries: [string, string][] = [];
  for (const cls of classes) {
    const sub = cls.paths?.find((p) => p[0] === group && p.length === 2);
    if (sub) entries.push([sub[1], cls.usage?.description ?? '']);
  }
  entries.sort(([a], [b]) => a.localeCompare(b));
  return `\nUsage:  tspod ${group} COMMAND\n\n${summary}\n\nCommands:\n${rows(entries)}\nRun 'tspod ${group} COMMAND --help' for more information on a command.\n`;
}
