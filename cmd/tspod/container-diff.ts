// `diff` / `container diff`: a container's filesystem changes, Docker's `A|C|D PATH` lines.
import { Command, Option } from 'clipanion';
import { InvalidArgumentError } from '../../pkg/errors';
import { TspodCommand } from './tspod-command';

export class DiffCommand extends TspodCommand {
  static override paths = [['diff'], ['container', 'diff']];
  static override usage = Command.Usage({
    description: "Show the changes to a container's filesystem",
    details: '`A` marks an added path, `C` a changed one (directories holding changes included), `D` a deleted one.',
    examples: [
      ['List the changes', 'tspod diff web'],
      ['As JSON', 'tspod diff --format json web'],
    ],
  });

  format = Option.String('--format', { description: 'json for {"changed":[],"added":[],"deleted":[]}' });
  name = Option.String({ name: 'CONTAINER' });

  async run(): Promise<number> {
    if (this.format !== undefined && this.format !== 'json') throw new InvalidArgumentError(`unsupported format "${this.format}": only json is`);
    const { containerChanges } = await import('../../pkg/container/container-diff');
    const { Engine } = await import('../../pkg/engine/engine');
    const engine = new Engine(this.config());
    try {
      const changes = await containerChanges(engine, this.name);
      if (this.format === 'json') {
        const pick = (k: string): string[] | undefined => {
          const list = changes.filter((c) => c.kind === k).map((c) => c.path);
          return list.length ? list : undefined;
        };
        this.out(`${JSON.stringify({ changed: pick('C'), added: pick('A'), deleted: pick('D') }, null, 4)}\n`);
      } else {
        this.out(changes.map((c) => `${c.kind} ${c.path}\n`).join(''));
      }
    } finally {
      engine.close();
    }
    return 0;
  }
}
