// `container prune`: removes every container that is not running (created or exited), after
// asking unless -f, and prints the IDs removed. Filters as Docker: until=, label=, label!=.
import { Command, Option } from 'clipanion';
import { TspodCommand } from './tspod-command';
import { confirm } from './confirm-prompt';
import { errorMessage, InvalidArgumentError } from '../../pkg/errors';
import type { Container } from '../../pkg/container/container-config';

type PruneCheck = (c: Container) => boolean;

function labelMatches(spec: string, labels: Record<string, string>): boolean {
  const eq = spec.indexOf('=');
  if (eq < 0) return spec in labels;
  return labels[spec.slice(0, eq)] === spec.slice(eq + 1);
}

/** --filter flags as checks on a container; every check must pass. */
export async function pruneFilters(flags: string[], now = Date.now()): Promise<PruneCheck[]> {
  const { parseUntil } = await import('../../pkg/image/image-filters');
  const grouped = new Map<string, string[]>();
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    const key = eq > 0 ? flag.slice(0, eq) : '';
    if (key !== 'until' && key !== 'label' && key !== 'label!') {
      throw new InvalidArgumentError(`invalid filter "${flag}": container prune takes until=, label= and label!=`);
    }
    grouped.set(key, [...(grouped.get(key) ?? []), flag.slice(eq + 1)]);
  }
  const checks: PruneCheck[] = [];
  for (const [key, values] of grouped) {
    if (key === 'until') {
      const times = values.map((v) => parseUntil(v, now));
      checks.push((c) => times.some((t) => c.created < t));
    } else if (key === 'label') {
      checks.push((c) => values.some((v) => labelMatches(v, c.config.labels)));
    } else {
      checks.push((c) => !values.some((v) => labelMatches(v, c.config.labels)));
    }
  }
  return checks;
}

export class ContainerPruneCommand extends TspodCommand {
  static override paths = [['container', 'prune']];
  static override usage = Command.Usage({
    description: 'Remove all stopped containers',
    details: 'Removes every container that is not running (created or exited) and prints the IDs removed. Filters: `until=TIMESTAMP|DURATION`, `label=KEY[=VALUE]`, `label!=KEY[=VALUE]`.',
    examples: [
      ['Remove stopped containers', 'tspod container prune'],
      ['Without asking', 'tspod container prune -f'],
      ['Only those created over a day ago', 'tspod container prune -f --filter until=24h'],
    ],
  });

  force = Option.Boolean('-f,--force', false, { description: 'Do not ask for confirmation' });
  filter = Option.Array('--filter', [], { description: 'Only prune containers that match (until=, label=, label!=)' });

  async run(): Promise<number> {
    const checks = await pruneFilters(this.filter);
    if (!this.force && !(await confirm('WARNING! This will remove all non running containers.\nAre you sure you want to continue? [y/N] '))) return 0;
    const { Engine } = await import('../../pkg/engine/engine');
    const { refreshAll } = await import('../../pkg/container/container-exit');
    const { removeContainer } = await import('../../pkg/container/container-remove');
    const engine = new Engine(this.config());
    let code = 0;
    try {
      const doomed = (await refreshAll(engine)).filter((c) => (c.status === 'exited' || c.status === 'created') && checks.every((check) => check(c)));
      for (const c of doomed) {
        try {
          await removeContainer(engine, c);
          this.out(`${c.id}\n`);
        } catch (err) {
          process.stderr.write(`Error: ${errorMessage(err)}\n`);
          code = 125;
        }
      }
    } finally {
      engine.close();
    }
    return code;
  }
}
