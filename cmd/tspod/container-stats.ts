import { Command, Option } from 'clipanion';
import { TspodCommand } from './tspod-command';
import { formatRows, plainTable } from './list-output';
import { InvalidArgumentError } from '../../pkg/errors';
import type { StatsRow, StatsSample } from '../../pkg/container/container-stats';
import type { Container } from '../../pkg/container/container-config';
import type { Engine } from '../../pkg/engine/engine';

const HEADERS: Record<string, string> = {
  Container: 'CONTAINER',
  ID: 'CONTAINER ID',
  Name: 'NAME',
  CPUPerc: 'CPU %',
  MemUsage: 'MEM USAGE / LIMIT',
  MemPerc: 'MEM %',
  NetIO: 'NET I/O',
  BlockIO: 'BLOCK I/O',
  PIDs: 'PIDS',
  PIDS: 'PIDS',
  AVGCPU: 'AVG CPU %',
};
const COLUMNS = ['ID', 'Name', 'CPUPerc', 'MemUsage', 'MemPerc', 'NetIO', 'BlockIO', 'PIDs'];

/** Cursor home, each line cleared to its end, the rest of the screen cleared: a redraw in place. */
const HOME = '\x1b[H';
const CLEAR_SCREEN = '\x1b[2J';
const CLEAR_LINE = '\x1b[K';
const CLEAR_BELOW = '\x1b[J';

export class StatsCommand extends TspodCommand {
  static override paths = [['stats'], ['container', 'stats']];
  static override usage = Command.Usage({
    description: 'Display a live stream of resource usage statistics of containers',
    details:
      "CPU %, memory use and limit, network and block I/O, and the number of tasks of each running container (with -a, of every container), redrawn every --interval seconds until Ctrl-C. The numbers come from the container's own cgroup where the user can read it (as root, cgroup v2 with delegation), else from its processes in /proc (rootless on cgroup v1): memory is then their proportional set size, block I/O what they and their reaped children read and wrote, and the limit the host's memory. Placeholders for --format: .Container .ID .Name .CPUPerc .MemUsage .MemPerc .NetIO .BlockIO .PIDs (Docker's), .PIDS .AVGCPU (Podman's); `json` prints one JSON object per container and line, as Docker does.",
    examples: [
      ['Watch all running containers', 'tspod stats'],
      ['One snapshot of two containers', 'tspod stats --no-stream web db'],
      ['Names and memory only', "tspod stats --no-stream --format '{{.Name}} {{.MemUsage}}'"],
      ['As JSON lines', 'tspod stats --no-stream --format json'],
    ],
  });

  all = Option.Boolean('-a,--all', false, { description: 'Show all containers (stopped ones with zero use)' });
  noStream = Option.Boolean('--no-stream', false, { description: 'Print one sample and exit' });
  noTrunc = Option.Boolean('--no-trunc', false, { description: 'Do not truncate IDs' });
  format = Option.String('--format', { description: 'Format with a Go template, table or json' });
  interval = Option.String('-i,--interval', '1', { description: 'Seconds between samples when streaming' });
  noReset = Option.Boolean('--no-reset', false, { description: 'Do not clear the terminal between samples' });
  names = Option.Rest({ name: 'CONTAINER' });

  async run(): Promise<number> {
    const interval = Number(this.interval);
    if (!Number.isFinite(interval) || interval <= 0) throw new InvalidArgumentError(`invalid --interval "${this.interval}": use a positive number of seconds`);
    const stats = await import('../../pkg/container/container-stats');
    return this.withEngine(async (engine) => {
      // Names that do not exist fail before anything is printed, as Docker does.
      await this.containers(engine);
      const prev = new Map<string, StatsSample>();
      const tty = !this.noStream && process.stdout.isTTY === true;
      let interrupted = false;
      let wake: () => void = () => undefined;
      const onSignal = (): void => {
        interrupted = true;
        wake();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        for (let frame = 0; !interrupted; frame++) {
          const rows: StatsRow[] = [];
          for (const { c, asked } of await this.containers(engine)) {
            const sample = stats.sampleContainer(c);
            rows.push(stats.statsRow(sample, prev.get(c.id), { noTrunc: this.noTrunc, asked }));
            prev.set(c.id, sample);
          }
          const text = await this.render(rows, stats.dockerStatsJson);
          if (tty && !this.noReset) this.out(`${frame === 0 ? CLEAR_SCREEN : ''}${HOME}${text.replace(/\n/g, `${CLEAR_LINE}\n`)}${CLEAR_BELOW}`);
          else this.out(text);
          if (this.noStream) break;
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, interval * 1000);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
        }
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
      return 0;
    });
  }

  /** The named containers, else the running ones (-a: all), refreshed so stopped ones show as such. */
  private async containers(engine: Engine): Promise<{ c: Container; asked?: string }[]> {
    const { refreshAll, refreshContainer } = await import('../../pkg/container/container-exit');
    const { ContainerStore } = await import('../../pkg/container/container-store');
    if (this.names.length) {
      const store = new ContainerStore(engine.db);
      const out: { c: Container; asked?: string }[] = [];
      for (const name of this.names) out.push({ c: await refreshContainer(engine, store.require(name) as Container), asked: name });
      return out;
    }
    const all = await refreshAll(engine);
    return all.filter((c) => this.all || c.status === 'running' || c.status === 'paused').map((c) => ({ c }));
  }

  private async render(rows: StatsRow[], json: (row: StatsRow) => string): Promise<string> {
    const format = this.format?.trim();
    if (format === 'json' || format === '{{json .}}') return rows.map((r) => `${json(r)}\n`).join('');
    if (format && format !== 'table') {
      return formatRows(this.format as string, rows, HEADERS, { defaultFormat: `table ${COLUMNS.map((c) => `{{.${c}}}`).join('\t')}` });
    }
    return plainTable(COLUMNS, HEADERS, rows);
  }
}
