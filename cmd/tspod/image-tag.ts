import { Command, Option } from 'clipanion';
import { TspodCommand } from './tspod-command';

export class TagCommand extends TspodCommand {
  static override paths = [['tag'], ['image', 'tag']];
  static override usage = Command.Usage({
    description: 'Add names to a local image',
    details:
      'A name without a registry is a local one: `myapp` becomes `localhost/myapp:latest`, as in Podman. A name another image had moves to this one; that image may be left without a name (dangling).',
    examples: [
      ['Give busybox a local name', 'tspod tag busybox myapp'],
      ['Tag for a registry', 'tspod tag busybox registry.example.com/tools/busybox:1.35'],
      ['Several names at once', 'tspod tag busybox app:1 app:latest'],
    ],
  });

  source = Option.String({ name: 'IMAGE' });
  targets = Option.Rest({ required: 1 });

  async run(): Promise<void> {
    const { withImageStore } = await import('../../pkg/image/image-list');
    const { tagImage } = await import('../../pkg/image/image-tag');
    const config = this.config();
    withImageStore(config, (store) => tagImage(store, config.registries, this.source, this.targets));
  }
}

export class UntagCommand extends TspodCommand {
  static override paths = [['untag'], ['image', 'untag']];
  static override usage = Command.Usage({
    description: 'Remove names from a local image',
    details: 'Removes the given names, or every name when none is given; the image itself stays (untagged, it shows as `<none>`).',
    examples: [
      ['Remove one name', 'tspod untag busybox localhost/myapp:latest'],
      ['Remove every name', 'tspod untag busybox'],
    ],
  });

  source = Option.String({ name: 'IMAGE' });
  names = Option.Rest();

  async run(): Promise<void> {
    const { withImageStore } = await import('../../pkg/image/image-list');
    const { untagImage } = await import('../../pkg/image/image-tag');
    const config = this.config();
    withImageStore(config, (store) => untagImage(store, config.registries, this.source, this.names));
  }
}
