import { Command, Option } from 'clipanion';
import { InvalidArgumentError } from '../../pkg/errors';
import { TspodCommand } from './tspod-command';
import { transferDisplay } from './transfer-display';

export class LoadCommand extends TspodCommand {
  static override paths = [['load'], ['image', 'load']];
  static override usage = Command.Usage({
    description: 'Load images from an archive',
    details:
      'Reads a docker-archive (from `docker save`, `podman save` or `tspod save`, any Docker version) or an oci-archive, plain or compressed with gzip or zstd, from a file or stdin; -i also takes an OCI layout or docker-dir directory. Every layer is checked against the image config before the image is stored, so the image keeps its ID. Prints `Loaded image: NAME` for each name, or the ID of an unnamed image.',
    examples: [
      ['Load from a file', 'tspod load -i busybox.tar'],
      ['Load from stdin', 'tspod load < busybox.tar'],
      ['Load a compressed archive', 'tspod load -i images.tar.gz'],
    ],
  });

  input = Option.String('-i,--input', { description: 'Read from this archive file (or layout directory) instead of stdin' });
  quiet = Option.Boolean('-q,--quiet', false, { description: 'Suppress progress output' });

  async run(): Promise<number> {
    if (this.input === undefined && process.stdin.isTTY) {
      throw new InvalidArgumentError('cannot read from terminal, use command-line redirection or the --input flag');
    }
    const { Engine } = await import('../../pkg/engine/engine');
    const { loadArchive } = await import('../../pkg/image/archive-load');
    const engine = new Engine(this.config());
    try {
      await loadArchive(engine, { input: this.input, listener: transferDisplay(this.quiet) }, (loaded) => {
        const names = loaded.names.length ? loaded.names : [loaded.image.id];
        for (const name of names) this.out(`Loaded image: ${name}\n`);
      });
    } finally {
      engine.close();
    }
    return 0;
  }
}
