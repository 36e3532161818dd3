// `healthcheck run`: one health check of a container, as the monitor's timer (or a transient
// systemd timer) runs it every interval; exit 0 when the check passed, 1 when it failed.
import { Command, Option } from 'clipanion';
import { TspodCommand } from './tspod-command';

export class HealthcheckRunCommand extends TspodCommand {
  static override paths = [['healthcheck', 'run'], ['container', 'healthcheck', 'run']];
  static override usage = Command.Usage({
    description: "Run a container's health check once",
    details:
      'Runs the health check command in the container (with its timeout), records the result in the health shown by inspect and ps, and applies --health-on-failure when the container turns unhealthy. Exits 0 when the check passed, 1 (printing "unhealthy") when it failed, 125 when it could not run. tspod schedules checks itself: the container\'s monitor runs this command every --health-interval, or a transient systemd timer does where a user systemd instance runs.',
    examples: [['Check a container now', 'tspod healthcheck run web']],
  });
  name = Option.String();

  async run(): Promise<number> {
    const { runHealthcheck } = await import('../../pkg/container/healthcheck');
    const outcome = await this.withEngine((engine) => runHealthcheck(engine, this.name));
    if (outcome.healthy) return 0;
    this.out('unhealthy\n');
    return 1;
  }
}
