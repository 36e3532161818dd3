import { Command, Option } from 'clipanion';
import { InvalidArgumentError } from '../../pkg/errors';
import { TspodCommand } from './tspod-command';
import { transferDisplay } from './transfer-display';

const FORMATS = ['docker-archive', 'oci-archive', 'oci-dir', 'docker-dir'];

export class SaveCommand extends TspodCommand {
  static override paths = [['save'], ['image', 'save']];
  static override usage = Command.Usage({
    description: 'Save images to an archive',
    details:
      'Writes one or more images, with the names they were given on the command line, into one archive: `docker-archive` (the layout `docker save` writes since Docker 25, which `docker load` and `podman load` read), `oci-archive` (an OCI image layout in a tar), or a directory (`oci-dir`, `docker-dir`). Layers are written uncompressed, exactly as the image config describes them, so a loaded image keeps its ID. Without -o the archive goes to stdout, which must not be a terminal.',
    examples: [
      ['Save an image to a file', 'tspod save -o busybox.tar busybox'],
      ['Save several images into one archive', 'tspod save -o images.tar busybox alpine:3.19'],
      ['Save as an OCI archive, compressed on the fly', 'tspod save --format oci-archive busybox | gzip > busybox.oci.tar.gz'],
      ['Save into an OCI layout directory with gzipped layers', 'tspod save --format oci-dir --compress -o ./busybox-oci busybox'],
    ],
  });

  output = Option.String('-o,--output', { description: 'Write to a file (or, for the dir formats, a directory) instead of stdout' });
  format = Option.String('--format', 'docker-archive', { description: `Archive format: ${FORMATS.join(', ')}` });
  multiImage = Option.Boolean('-m,--multi-image-archive', false, { description: 'Accepted for Podman compatibility: archives always hold every image named' });
  compress = Option.Boolean('--compress', false, { description: 'Gzip the layers (oci-dir and docker-dir only)' });
  uncompressed = Option.Boolean('--uncompressed', false, { description: 'Accepted for Podman compatibility: layers are written uncompressed unless --compress' });
  quiet = Option.Boolean('-q,--quiet', false, { description: 'Suppress progress output' });
  names = Option.Rest({ required: 1, name: 'IMAGE' });

  async run(): Promise<number> {
    if (!FORMATS.includes(this.format)) throw new InvalidArgumentError(`unknown format "${this.format}": use one of ${FORMATS.join(', ')}`);
    const { saveImages, isDirFormat } = await import('../../pkg/image/archive-save');
    type Format = Parameters<typeof isDirFormat>[0];
    const format = this.format as Format;
    if (!this.output && !isDirFormat(format) && process.stdout.isTTY) {
      throw new InvalidArgumentError('refusing to save to terminal. Use -o flag or redirect');
    }
    const { Engine } = await import('../../pkg/engine/engine');
    const engine = new Engine(this.config());
    try {
      await saveImages(engine, this.names, { format, output: this.output, compress: this.compress, listener: transferDisplay(this.quiet) });
    } finally {
      engine.close();
    }
    return 0;
  }
}
