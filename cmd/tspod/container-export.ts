// `export` / `container export`: the container's merged root filesystem as a tar.
import * as fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Command, Option } from 'clipanion';
import { InvalidArgumentError } from '../../pkg/errors';
import { TspodCommand } from './tspod-command';

export class ExportCommand extends TspodCommand {
  static override paths = [['export'], ['container', 'export']];
  static override usage = Command.Usage({
    description: "Export a container's filesystem as a tar archive",
    details: 'Writes the root filesystem the container sees (image plus its changes; volumes and bind mounts excluded) to a file or to stdout, which must not be a terminal.',
    examples: [
      ['Export to a file', 'tspod export -o web.tar web'],
      ['List what a container holds', 'tspod export web | tar -t'],
    ],
  });

  output = Option.String('-o,--output', { description: 'Write to a file instead of stdout' });
  name = Option.String({ name: 'CONTAINER' });

  async run(): Promise<number> {
    if (!this.output && process.stdout.isTTY) throw new InvalidArgumentError('refusing to export to terminal. Use -o flag or redirect');
    const { exportContainer } = await import('../../pkg/container/container-copy');
    const { Engine } = await import('../../pkg/engine/engine');
    const engine = new Engine(this.config());
    try {
      const { stream, done } = await exportContainer(engine, this.name);
      if (this.output) {
        const tmp = `${this.output}.tmp-${process.pid}`;
        try {
          await pipeline(stream, fs.createWriteStream(tmp));
          fs.renameSync(tmp, this.output);
        } finally {
          fs.rmSync(tmp, { force: true });
        }
      } else {
        await pipeline(stream, process.stdout);
      }
      await done;
    } finally {
      engine.close();
    }
    return 0;
  }
}
