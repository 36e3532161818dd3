import { Command, Option } from 'clipanion';
import { TspodCommand } from './tspod-command';
import { formatRows, plainTable } from './list-output';
import { InvalidArgumentError } from '../../pkg/errors';

const HEADERS: Record<string, string> = {
  ID: 'CONTAINER ID',
  Image: 'IMAGE',
  Command: 'COMMAND',
  CreatedHuman: 'CREATED',
  RunningFor: 'CREATED',
  Status: 'STATUS',
  Ports: 'PORTS',
  Names: 'NAMES',
  State: 'STATE',
};
const COLUMNS = ['ID', 'Image', 'Command', 'CreatedHuman', 'Status', 'Ports', 'Names'];

export class PsCommand extends TspodCommand {
  static override paths = [['ps'], ['container', 'ls'], ['container', 'list'], ['container', 'ps']];
  static override usage = Command.Usage({
    description: 'List containers',
    details: 'Running containers by default; -a shows all. Filters: status, name, id, label, ancestor, exited, volume, network, restart-policy, health (starting, healthy, unhealthy, none).',
    examples: [
      ['List running containers', 'tspod ps'],
      ['List all container IDs', 'tspod ps -aq'],
      ['Names and states', "tspod ps -a --format '{{.Names}} {{.State}}'"],
      ['Exited containers', 'tspod ps -a --filter status=exited'],
    ],
  });

  all = Option.Boolean('-a,--all', false, { description: 'Show all containers' });
  quiet = Option.Boolean('-q,--quiet', false, { description: 'Show only IDs' });
  last = Option.String('-n,--last', { description: 'Show the n most recently created containers' });
  latest = Option.Boolean('-l,--latest', false, { description: 'Show the most recently created container' });
  noTrunc = Option.Boolean('--no-trunc', false, { description: 'Do not truncate output' });
  size = Option.Boolean('-s,--size', false, { description: 'Show sizes' });
  filter = Option.Array('-f,--filter', [], { description: 'Filter output (KEY=VALUE)' });
  format = Option.String('--format', { description: 'Format output with a Go template, table or json' });
  noHeading = Option.Boolean('--noheading', false, { description: 'Do not print the header' });

  async run(): Promise<number> {
    const { containerRow, matchesFilters, parseContainerFilters } = await import('../../pkg/container/container-list');
    const filters = parseContainerFilters(this.filter);
    const { Engine } = await import('../../pkg/engine/engine');
    const { refreshAll } = await import('../../pkg/container/container-exit');
    const engine = new Engine(this.config());
    let containers;
    const health = new Map<string, string>();
    try {
      containers = await refreshAll(engine);
      if (containers.some((c) => c.config.healthcheck && c.status === 'running')) {
        const { readHealth } = await import('../../pkg/container/healthcheck');
        for (const c of containers) if (c.status === 'running') health.set(c.id, readHealth(engine, c)?.Status ?? '');
      }
    } finally {
      engine.close();
    }
    const now = Date.now();
    let rows = containers
      .filter((c) => this.all || this.latest || this.last !== undefined || filters.size > 0 || c.status === 'running' || c.status === 'paused')
      .map((c) => ({ c, row: containerRow(c, now, health.get(c.id) || undefined) }))
      .filter(({ c, row }) => matchesFilters(c, row, filters));
    const limit = this.latest ? 1 : this.last !== undefined ? Number(this.last) : undefined;
    if (limit !== undefined) {
      if (!Number.isInteger(limit)) throw new InvalidArgumentError(`invalid --last "${this.last}": use a number`);
      rows = rows.slice(0, limit);
    }
    const items = rows.map(({ row }) => (this.noTrunc ? { ...row, ID: row.Id } : row));
    if (this.quiet) {
      this.out(items.map((r) => `${r.ID}\n`).join(''));
      return 0;
    }
    if (this.format && this.format !== 'table') {
      this.out(await formatRows(this.format, items, HEADERS, { defaultFormat: `table ${COLUMNS.map((c) => `{{.${c}}}`).join('\t')}`, noHeading: this.noHeading }));
      return 0;
    }
    this.out(plainTable(COLUMNS, HEADERS, items, this.noHeading));
    return 0;
  }
}
