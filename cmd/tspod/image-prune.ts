import { Command, Option } from 'clipanion';
import { TspodCommand } from './tspod-command';
import { confirm } from './confirm-prompt';

export class ImagePruneCommand extends TspodCommand {
  static override paths = [['image', 'prune']];
  static override usage = Command.Usage({
    description: 'Remove unused images',
    details:
      'Removes dangling images (no name, no child image); with -a, every image no container uses. Then frees layers no image uses. Filters: `until=TIMESTAMP|DURATION`, `label=KEY[=VALUE]`, `label!=KEY[=VALUE]`. Prints the IDs removed.',
    examples: [
      ['Remove dangling images', 'tspod image prune'],
      ['Remove every unused image without asking', 'tspod image prune -a -f'],
      ['Only images older than a day', 'tspod image prune --filter until=24h'],
    ],
  });

  all = Option.Boolean('-a,--all', false, { description: 'Remove all images not used by containers, not only dangling ones' });
  force = Option.Boolean('-f,--force', false, { description: 'Do not ask for confirmation' });
  filter = Option.Array('--filter', [], { description: 'Only prune images that match (until=, label=, label!=)' });

  async run(): Promise<void> {
    const { parseImageFilters, compileImageFilters, PRUNE_FILTER_KEYS } = await import('../../pkg/image/image-filters');
    const parsed = parseImageFilters(this.filter, PRUNE_FILTER_KEYS);
    if (!this.force) {
      const what = this.all ? 'all images without at least one container associated with them' : 'all dangling images';
      if (!(await confirm(`WARNING! This command removes ${what}.\nAre you sure you want to continue? [y/N] `))) return;
    }
    const { Engine } = await import('../../pkg/engine/engine');
    const { pruneImages } = await import('../../pkg/image/image-remove');
    const engine = new Engine(this.config());
    try {
      const filters = compileImageFilters(parsed, { resolve: () => undefined });
      const report = await pruneImages(engine, { all: this.all, filters });
      this.out(report.deleted.map((id) => `${id}\n`).join(''));
    } finally {
      engine.close();
    }
  }
}
