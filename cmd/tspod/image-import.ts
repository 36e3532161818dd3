import { Command, Option } from 'clipanion';
import { TspodCommand } from './tspod-command';
import { transferDisplay } from './transfer-display';

export class ImportCommand extends TspodCommand {
  static override paths = [['import'], ['image', 'import']];
  static override usage = Command.Usage({
    description: 'Create an image from a root filesystem tarball',
    details:
      'The tar (a file, an http(s) URL, or `-` for stdin; plain, gzip or zstd) becomes the one layer of a new image. `--change` applies Dockerfile instructions to its config: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR. A name without a registry is filed under localhost/; without a name the image stays untagged. Prints the image ID.',
    examples: [
      ['Import a root filesystem', 'tspod import rootfs.tar myimage:1.0'],
      ['Import from stdin with a command and an environment variable', `tspod import --change 'CMD ["/bin/sh"]' --change 'ENV A=1' - myimage < rootfs.tar`],
      ['Import from a URL with a history comment', 'tspod import -m "nightly rootfs" https://example.com/rootfs.tar.gz nightly'],
    ],
  });

  changes = Option.Array('-c,--change', [], { description: 'Apply a Dockerfile instruction to the image config (repeatable)' });
  message = Option.String('-m,--message', { description: 'Comment for the history entry' });
  platform = Option.String('--platform', { description: 'Platform of the image (os/arch[/variant]); default the host' });
  arch = Option.String('--arch', { description: 'Architecture of the image' });
  os = Option.String('--os', { description: 'Operating system of the image' });
  variant = Option.String('--variant', { description: 'Architecture variant of the image' });
  quiet = Option.Boolean('-q,--quiet', false, { description: 'Suppress progress output' });
  source = Option.String({ name: 'FILE|URL|-' });
  reference = Option.String({ name: 'REFERENCE', required: false });

  async run(): Promise<number> {
    const { Engine } = await import('../../pkg/engine/engine');
    const { importImage } = await import('../../pkg/image/image-import');
    const engine = new Engine(this.config());
    try {
      const image = await importImage(engine, {
        source: this.source,
        reference: this.reference,
        changes: this.changes,
        message: this.message,
        platform: this.platform,
        arch: this.arch,
        os: this.os,
        variant: this.variant,
        listener: transferDisplay(this.quiet),
      });
      this.out(`${image.id}\n`);
    } finally {
      engine.close();
    }
    return 0;
  }
}
