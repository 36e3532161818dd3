import { Command, Option } from 'clipanion';
import { TspodCommand } from './tspod-command';
import { confirm } from './confirm-prompt';

export class SystemResetCommand extends TspodCommand {
  static override paths = [['system', 'reset']];
  static override usage = Command.Usage({
    description: 'Reset tspod storage back to its initial state',
    details:
      'Removes all containers, images, volumes, networks and the database of the current user, unmounts what tspod mounted and ends the user-namespace pause process.',
    examples: [
      ['Reset after a confirmation', 'tspod system reset'],
      ['Reset without asking', 'tspod system reset --force'],
    ],
  });

  force = Option.Boolean('-f,--force', false, { description: 'Do not prompt for confirmation' });

  async run(): Promise<number> {
    const config = this.config();
    if (!this.force) {
      this.out(
        'WARNING! This will remove:\n  - all containers\n  - all pods\n  - all images\n  - all networks\n  - all build cache\n  - all volumes\n' +
          `  - the store at ${config.graphRoot} and ${config.runRoot}\n`,
      );
      if (!(await confirm('Are you sure you want to continue? [y/N] '))) return 0;
    }
    const { systemReset } = await import('../../pkg/system/system-reset');
    await systemReset(config);
    return 0;
  }
}
