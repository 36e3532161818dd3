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
      if (!isFileDriver(driver)) {
        throw new InvalidArgumentError(`container ${container.name} uses the "${driver}" log driver, which keeps no logs: logs need k8s-file, json-file or local`);
      }
      const reader = new logs.LogReader(logPathOf(container.config.logOpts, containerPaths(engine.config, container.id).logPath), driver);
      const emit = (lines: import('../../pkg/container/container-logs').LogLine[]) => {
        for (const l of lines) {
          const text = this.timestamps ? `${l.time} ${l.text}` : l.text;
          (l.stream === 'stderr' ? process.stderr : process.stdout).write(text);
        }
      };
      try {
        emit(logs.filterLog(reader.read(), { tail, since, until }));
        if (!this.follow) return 0;
        // Follow: poll the live file until the container is no longer running, then a last read.
        for (;;) {
          const fresh = await refreshContainer(engine, store.require(container.id) as typeof container);
          const running = fresh.status === 'running' || fresh.status === 'paused' || fresh.status === 'stopping';
          emit(logs.filterLog(reader.poll(), { since, until }));
          if (!running) return 0;
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
