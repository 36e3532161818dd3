import { Command, Option } from 'clipanion';
import { TspodCommand } from './tspod-command';
import { InvalidArgumentError } from '../../pkg/errors';

export class LogsCommand extends TspodCommand {
  static override paths = [['logs'], ['container', 'logs']];
  static override usage = Command.Usage({
    description: "Show a container's output",
    examples: [
      ['Show the output', 'tspod logs web'],
      ['Follow it', 'tspod logs -f web'],
      ['The last 10 lines with times', 'tspod logs --tail 10 -t web'],
      ['The last five minutes', 'tspod logs --since 5m web'],
    ],
  });

  follow = Option.Boolean('-f,--follow', false, { description: 'Follow the output until the container stops' });
  tail = Option.String('-n,--tail', { description: 'Number of lines to show from the end' });
  since = Option.String('--since', { description: 'Show output since a time (RFC 3339, Unix seconds, or a duration like 10m)' });
  until = Option.String('--until', { description: 'Show output until a time' });
  timestamps = Option.Boolean('-t,--timestamps', false, { description: 'Show timestamps' });
  name = Option.String();

  private parseTime(value: string | undefined, flag: string): number | undefined {
    if (value === undefined) return undefined;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { parseLogTime } = require('../../pkg/container/container-logs') as typeof import('../../pkg/container/container-logs');
    const t = parseLogTime(value);
    if (t === undefined) throw new InvalidArgumentError(`invalid ${flag} "${value}": use an RFC 3339 time, Unix seconds or a duration such as 10m`);
    return t;
  }

  /** journald: the container's entries through journalctl; -f follows until the container stops. */
  private async journalLogs(
    id: string,
    emit: (lines: import('../../pkg/container/container-logs').LogLine[]) => void,
    running: () => Promise<boolean>,
    filter: import('../../pkg/container/container-logs').LogFilter,
  ): Promise<number> {
    const { filterLog } = await import('../../pkg/container/container-logs');
    const journal = await import('../../pkg/container/journal-logs');
    const assembler = new journal.JournalLineAssembler();
    const quick = filter.tail !== undefined && filter.since === undefined && filter.until === undefined;
    const first = journal.readJournal(id, { tailLines: quick ? filter.tail : undefined });
    const lines = assembler.add(first.entries);
    const timeOnly = { since: filter.since, until: filter.until };
    if (!this.follow) {
      emit(filterLog([...lines, ...assembler.flush()], filter));
      return 0;
    }
    emit(filterLog(lines, filter));
    let failure: unknown;
    const follower = new journal.JournalFollower(id, first.cursor, (entries) => emit(filterLog(assembler.add(entries), timeOnly)));
    follower.done.catch((err: unknown) => (failure = err));
    while (failure === undefined && (await running())) await new Promise((resolve) => setTimeout(resolve, 100));
    await follower.stop();
    if (failure !== undefined) throw failure;
    // The monitor reported the exit only once journald had taken its last entries: read them.
    const rest = journal.readJournal(id, { afterCursor: follower.cursor });
    emit(filterLog([...assembler.add(rest.entries), ...assembler.flush()], timeOnly));
    return 0;
  }

  async run(): Promise<number> {
    const tail = this.tail === undefined || this.tail === 'all' ? undefined : Number(this.tail);
    if (tail !== undefined && (!Number.isInteger(tail) || tail < 0)) throw new InvalidArgumentError(`invalid --tail "${this.tail}": use a number or all`);
    const since = this.parseTime(this.since, '--since');
    const until = this.parseTime(this.until, '--until');
    const logs = await import('../../pkg/container/container-logs');
    const { Engine } = await import('../../pkg/engine/engine');
    const { ContainerStore } = await import('../../pkg/container/container-store');
    const { containerPaths } = await import('../../pkg/container/container-paths');
    const { refreshContainer } = await import('../../pkg/container/container-exit');
    const engine = new Engine(this.config());
    try {
      const store = new ContainerStore(engine.db);
      const container = store.require(this.name) as import('../../pkg/container/container-config').Container;
      const { isFileDriver, logPathOf } = await import('../../pkg/container/log-config');
      const driver = container.config.logDriver;
      const emit = (lines: import('../../pkg/container/container-logs').LogLine[]) => {
        for (const l of lines) {
          const text = this.timestamps ? `${l.time} ${l.text}` : l.text;
          (l.stream === 'stderr' ? process.stderr : process.stdout).write(text);
        }
      };
      const running = async () => {
        const fresh = await refreshContainer(engine, store.require(container.id) as typeof container);
        return fresh.status === 'running' || fresh.status === 'paused' || fresh.status === 'stopping';
      };
      if (driver === 'journald') return await this.journalLogs(container.id, emit, running, { tail, since, until });
      if (!isFileDriver(driver)) {
        throw new InvalidArgumentError(`container ${container.name} uses the "${driver}" log driver, which keeps no logs: logs need k8s-file, json-file, local or journald`);
      }
      const reader = new logs.LogReader(logPathOf(container.config.logOpts, containerPaths(engine.config, container.id).logPath), driver);
      try {
        emit(logs.filterLog(reader.read(), { tail, since, until }));
        if (!this.follow) return 0;
        // Follow: poll the live file until the container is no longer running, then a last read.
        for (;;) {
          const stillRunning = await running();
          emit(logs.filterLog(reader.poll(), { since, until }));
          if (!stillRunning) return 0;
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      } finally {
        reader.close();
      }
    } finally {
      engine.close();
    }
  }
}
