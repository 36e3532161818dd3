import { Command, Option } from 'clipanion';
import { TspodCommand } from './tspod-command';
import { InvalidArgumentError } from '../../pkg/errors';

/** One failure as `Error: MESSAGE`, several as Podman lists them. */
export function errorsText(messages: readonly string[]): string {
  if (messages.length === 0) return '';
  if (messages.length === 1) return `Error: ${messages[0]}\n`;
  return `Error: ${messages.length} errors occurred:\n${messages.map((m) => `\t* ${m}\n`).join('')}`;
}

export class RmiCommand extends TspodCommand {
  static override paths = [['rmi'], ['image', 'rm'], ['image', 'remove']];
  static override usage = Command.Usage({
    description: 'Remove one or more images',
    details:
      "Removing one name of an image that has others only removes that name (`Untagged:`). The last name, or an ID, removes the image (`Deleted:`) and the layers no other image uses, and then the image's untagged parents that nothing else uses. An image with several names is removed by ID only with -f. An image used by a container is refused (exit 2); with -f its names are removed and the image stays for the container. Each argument is handled on its own: the command removes what it can, reports every failure, and exits 1 when images were missing, 2 when one was in use, 125 for other failures.",
    examples: [
      ['Remove an image', 'tspod rmi busybox'],
      ['Remove one of several names', 'tspod rmi localhost/myapp:latest'],
      ['Remove an image with several names by ID', 'tspod rmi -f fc400e481be4'],
      ['Remove every image', 'tspod rmi -a'],
    ],
  });

  all = Option.Boolean('-a,--all', false, { description: 'Remove all images' });
  force = Option.Boolean('-f,--force', false, { description: 'Remove images with several names by ID; only untag images containers use; ignore missing ones' });
  ignore = Option.Boolean('-i,--ignore', false, { description: 'Ignore errors if a specified image does not exist' });
  names = Option.Rest();

  async run(): Promise<number> {
    if (this.all && this.names.length > 0) throw new InvalidArgumentError('when using the --all switch, you may not pass any images names or IDs');
    if (!this.all && this.names.length === 0) throw new InvalidArgumentError('image name or ID must be specified');
    const { Engine } = await import('../../pkg/engine/engine');
    const { removeAllImages, removeExitCode, removeImages } = await import('../../pkg/image/image-remove');
    const engine = new Engine(this.config());
    try {
      const opts = { force: this.force, ignore: this.ignore };
      const report = this.all ? await removeAllImages(engine, opts) : await removeImages(engine, this.names, opts);
      this.out(report.untagged.map((n) => `Untagged: ${n}\n`).join('') + report.deleted.map((id) => `Deleted: ${id}\n`).join(''));
      process.stderr.write(errorsText(report.failures.map((f) => f.message)));
      return removeExitCode(report);
    } finally {
      engine.close();
    }
  }
}
