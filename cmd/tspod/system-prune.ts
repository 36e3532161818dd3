// `system prune`: stopped containers, dangling (with -a unused) images and, with --volumes,
// unused volumes, after Podman's warning.
import { Command, Option } from 'clipanion';
import { TspodCommand } from './tspod-command';
import { confirm } from './confirm-prompt';

export class SystemPruneCommand extends TspodCommand {
  static override paths = [['system', 'prune']];
  static override usage = Command.Usage({
    description: 'Remove unused data',
    details: 'Removes every container that is not running, then dangling images (with -a, every image no container uses) and, with --volumes, every volume no container uses. Prints what it removed and the space reclaimed.',
    examples: [
      ['Remove unused data, asking first', 'tspod system prune'],
      ['Everything unused, volumes too, without asking', 'tspod system prune -a --volumes -f'],
    ],
  });

  all = Option.Boolean('-a,--all', false, { description: 'Remove all unused images, not only dangling ones' });
  volumes = Option.Boolean('--volumes', false, { description: 'Prune volumes too' });
  force = Option.Boolean('-f,--force', false, { description: 'Do not ask for confirmation' });

  async run(): Promise<number> {
    if (!this.force) {
      const items = [
        '\t- all stopped containers',
        ...(this.volumes ? ['\t- all volumes not used by at least one container'] : []),
        this.all ? '\t- all images without at least one container associated with them' : '\t- all dangling images',
      ];
      if (!(await confirm(`WARNING! This command removes:\n${items.join('\n')}\n\nAre you sure you want to continue? [y/N] `))) return 0;
    }
    const { Engine } = await import('../../pkg/engine/engine');
    const { systemPrune } = await import('../../pkg/system/system-df');
    const { humanSize } = await import('../../pkg/format/human-units');
    const engine = new Engine(this.config());
    let report;
    try {
      report = await systemPrune(engine, { all: this.all, volumes: this.volumes });
    } finally {
      engine.close();
    }
    const section = (title: string, items: string[]): string => (items.length ? `${title}\n${items.map((i) => `${i}\n`).join('')}` : '');
    this.out(
      section('Deleted Containers', report.containers) +
        section('Deleted Volumes', report.volumes) +
        section('Deleted Images', report.images) +
        `Total reclaimed space: ${humanSize(report.reclaimed, '')}\n`,
    );
    for (const e of report.errors) process.stderr.write(`Error: ${e}\n`);
    return report.errors.length ? 125 : 0;
  }
}
