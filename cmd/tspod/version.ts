import { Command, Option } from 'clipanion';
import * as os from 'node:os';
import { TspodCommand } from './tspod-command';
import { API_VERSION, GIT_COMMIT, TSPOD_VERSION } from '../../pkg/version';

export class VersionCommand extends TspodCommand {
  static override paths = [['version']];
  static override usage = Command.Usage({
    description: 'Show the tspod version information',
    details: 'Prints the version of tspod, the Docker API version it follows, and the platform.',
    examples: [
      ['Show the version', 'tspod version'],
      ['Print only the version number', "tspod version --format '{{.Client.Version}}'"],
      ['Print the version as JSON', 'tspod version --format json'],
    ],
  });

  format = Option.String('-f,--format', { description: 'Change the output format to JSON or a Go template' });

  async run(): Promise<void> {
    const arch = process.arch === 'x64' ? 'amd64' : process.arch;
    const client = {
      APIVersion: API_VERSION,
      Version: TSPOD_VERSION,
      GoVersion: `node${process.versions.node}`,
      NodeVersion: process.versions.node,
      GitCommit: GIT_COMMIT,
      BuiltTime: '',
      Built: 0,
      OsArch: `${os.platform()}/${arch}`,
      Os: os.platform(),
    };
    if (this.format) {
      const { formatObject } = await import('./output-format');
      this.out(formatObject(this.format, { Client: client }));
      return;
    }
    this.out(
      `Client:       tspod\nVersion:      ${client.Version}\nAPI Version:  ${client.APIVersion}\n` +
        `Node Version: ${client.NodeVersion}\nOS/Arch:      ${client.OsArch}\n`,
    );
  }
}
