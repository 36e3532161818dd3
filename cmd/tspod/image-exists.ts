import { Command, Option } from 'clipanion';
import { TspodCommand } from './tspod-command';

export class ImageExistsCommand extends TspodCommand {
  static override paths = [['image', 'exists']];
  static override usage = Command.Usage({
    description: 'Check if an image exists in local storage',
    details: 'Exits 0 when the image is stored locally and 1 when it is not; prints nothing. Other failures exit 125.',
    examples: [['Pull busybox unless it is here', 'tspod image exists busybox || tspod pull busybox']],
  });

  name = Option.String({ name: 'IMAGE' });

  async run(): Promise<number> {
    const { withImageStore } = await import('../../pkg/image/image-list');
    const { findImage } = await import('../../pkg/image/image-lookup');
    const config = this.config();
    return withImageStore(config, (store) => (findImage(store, this.name, config.registries) ? 0 : 1));
  }
}
