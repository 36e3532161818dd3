// `commit` / `container commit`: a new image from a container's changes.
import { Command, Option } from 'clipanion';
import { InvalidArgumentError } from '../../pkg/errors';
import { TspodCommand } from './tspod-command';
import { transferDisplay } from './transfer-display';

export class CommitCommand extends TspodCommand {
  static override paths = [['commit'], ['container', 'commit']];
  static override usage = Command.Usage({
    description: "Create a new image from a container's changes",
    details:
      'The new image is the container\'s image plus one layer holding what the container changed (deleted files included), with the container\'s command, environment, working directory, user and labels, then each --change applied. Without IMAGE the image is left untagged; a short name gets `localhost/` (`myimg` → `localhost/myimg:latest`). Progress goes to stderr, the new image ID to stdout. Rootless containers cannot be paused on this host: --pause is accepted and the container keeps running.',
    examples: [
      ['Commit a container as an image', 'tspod commit web myweb'],
      ['With a message and a new default command', 'tspod commit -m "added site" -c \'CMD ["httpd","-f"]\' web myweb:v2'],
    ],
  });

  message = Option.String('-m,--message', { description: 'Commit message (the history entry\'s comment)' });
  author = Option.String('-a,--author', { description: 'Author of the image' });
  changes = Option.Array('-c,--change', [], { description: 'Apply a Dockerfile instruction to the image config (repeatable)' });
  pause = Option.Boolean('-p,--pause', true, { description: 'Pause the container while committing (accepted; not possible rootless here)' });
  format = Option.String('-f,--format', 'oci', { description: 'Image format: oci or docker' });
  quiet = Option.Boolean('-q,--quiet', false, { description: 'Suppress progress output' });
  squash = Option.Boolean('--squash', false, { description: 'Not supported: refused' });
  name = Option.String({ name: 'CONTAINER' });
  reference = Option.String({ name: 'IMAGE', required: false });

  async run(): Promise<number> {
    if (this.format !== 'oci' && this.format !== 'docker') throw new InvalidArgumentError(`unrecognized image type "${this.format}": use oci or docker`);
    if (this.squash) throw new InvalidArgumentError('--squash is not supported by tspod commit');
    const { commitContainer } = await import('../../pkg/container/container-commit');
    const { Engine } = await import('../../pkg/engine/engine');
    const engine = new Engine(this.config());
    try {
      const image = await commitContainer(engine, this.name, {
        reference: this.reference,
        message: this.message,
        author: this.author,
        changes: this.changes,
        pause: this.pause,
        format: this.format,
        listener: transferDisplay(this.quiet),
      });
      this.out(`${image.id.replace(/^sha256:/, '')}\n`);
    } finally {
      engine.close();
    }
    return 0;
  }
}
