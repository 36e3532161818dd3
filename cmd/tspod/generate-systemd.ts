// `generate systemd`: Podman's flags and output for a container's .service unit.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, Option } from 'clipanion';
import { TspodCommand } from './tspod-command';
import { InvalidArgumentError, NotFoundError } from '../../pkg/errors';
import type { EngineConfig } from '../../pkg/config/engine-config';
import type { GeneratedUnit, SystemdOptions } from '../../pkg/systemd/container-unit';

function uint(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`invalid ${flag} "${value}": use a whole number of seconds`);
  return n;
}

/** The run root as a unit names it: under the runtime dir it is %t/..., so one unit fits all logins. */
export function runRootSpecifier(config: EngineConfig): string {
  const runtimeDir = config.host.runtimeDir;
  return config.runRoot.startsWith(`${runtimeDir}/`) ? `%t${config.runRoot.slice(runtimeDir.length)}` : config.runRoot;
}

/** The global flags this command got, which every tspod call in the unit must repeat. */
export function globalArgs(cmd: TspodCommand): string[] {
  const g = cmd.globals();
  const pairs: [string, string | undefined][] = [['--root', g.root], ['--runroot', g.runroot], ['--storage-driver', g.storageDriver], ['--runtime', g.runtime]];
  return pairs.flatMap(([flag, value]) => (value === undefined ? [] : [flag, value]));
}

export class GenerateSystemdCommand extends TspodCommand {
  static override paths = [['generate', 'systemd']];
  static override usage = Command.Usage({
    description: 'Generate systemd unit files for a container',
    details:
      'Prints a .service unit (or writes container-NAME.service with --files) that starts the container and stops it. With --new the unit creates the container on start (from the command line that created it) and removes it on stop, so the unit also works on a machine where the container does not exist yet. Install it in ~/.config/systemd/user/ and run `systemctl --user daemon-reload`.',
    examples: [
      ['Print a unit for a container', 'tspod generate systemd --name web'],
      ['Write a unit that recreates the container on each start', 'tspod generate systemd --new --files --name web'],
    ],
  });

  newContainer = Option.Boolean('--new', false, { description: 'Create a new container on start instead of starting an existing one' });
  useName = Option.Boolean('-n,--name', false, { description: 'Use the container name instead of its ID' });
  files = Option.Boolean('-f,--files', false, { description: 'Write .service files to the current directory instead of printing them' });
  format = Option.String('--format', { description: 'Print the units as JSON (json)' });
  restartPolicy = Option.String('--restart-policy', { description: 'systemd restart policy (default on-failure)' });
  restartSec = Option.String('--restart-sec', { description: 'systemd RestartSec=' });
  startTimeout = Option.String('--start-timeout', { description: 'systemd TimeoutStartSec=' });
  stopTimeout = Option.String('--stop-timeout', { description: "Seconds `stop` waits before killing (default: the container's)" });
  time = Option.String('-t,--time', { hidden: true });
  containerPrefix = Option.String('--container-prefix', 'container', { description: 'Unit name prefix for containers' });
  podPrefix = Option.String('--pod-prefix', 'pod', { description: 'Unit name prefix for pods' });
  separator = Option.String('--separator', '-', { description: 'Separator between the prefix and the name' });
  after = Option.Array('--after', [], { description: 'Add After= dependencies' });
  wants = Option.Array('--wants', [], { description: 'Add Wants= dependencies' });
  requires = Option.Array('--requires', [], { description: 'Add Requires= dependencies' });
  env = Option.Array('-e,--env', [], { description: 'Set an environment variable in the unit (NAME=value, or NAME to copy it)' });
  noHeader = Option.Boolean('--no-header', false, { description: 'Leave out the header comment' });
  template = Option.Boolean('--template', false, { hidden: true });
  target = Option.String({ name: 'CONTAINER' });

  async run(): Promise<number> {
    if (this.template) throw new InvalidArgumentError('--template is not supported by tspod: generate a unit per container');
    if (this.format !== undefined && this.format !== 'json') throw new InvalidArgumentError(`unsupported format "${this.format}": only json is`);
    if (this.stopTimeout !== undefined && this.time !== undefined) throw new InvalidArgumentError('--stop-timeout and --time cannot be used together');
    const { parseEnvFlag } = await import('../../pkg/container/create-flags');
    const opts: SystemdOptions = {
      new: this.newContainer,
      useName: this.useName,
      restartPolicy: this.restartPolicy,
      restartSec: uint('--restart-sec', this.restartSec),
      startTimeout: uint('--start-timeout', this.startTimeout),
      stopTimeout: uint('--stop-timeout', this.stopTimeout ?? this.time),
      containerPrefix: this.containerPrefix,
      separator: this.separator,
      after: this.after,
      wants: this.wants,
      requires: this.requires,
      env: this.env.map((e) => parseEnvFlag(e)).filter((e): e is string => e !== undefined),
      noHeader: this.noHeader,
    };
    const unit = await this.withEngine((engine) => this.generate(engine, opts));
    if (this.files) {
      const file = path.resolve(`${unit.name}.service`);
      fs.writeFileSync(file, unit.text);
      this.out(this.format === 'json' ? `${JSON.stringify({ [unit.name]: file }, null, 1)}\n` : `${file}\n`);
    } else {
      this.out(this.format === 'json' ? `${JSON.stringify({ [unit.name]: unit.text }, null, 1)}\n` : unit.text);
    }
    return 0;
  }

  private async generate(engine: import('../../pkg/engine/engine').Engine, opts: SystemdOptions): Promise<GeneratedUnit> {
    const { ContainerStore } = await import('../../pkg/container/container-store');
    const { containerPaths } = await import('../../pkg/container/container-paths');
    const { defaultMonitorPidFile } = await import('../../pkg/runtime/monitor-launch');
    const { tspodBinary } = await import('../../pkg/container/container-start');
    const { containerUnit } = await import('../../pkg/systemd/container-unit');
    const { TSPOD_VERSION } = await import('../../pkg/version');
    const c = new ContainerStore(engine.db).find<import('../../pkg/container/container-config').ContainerConfig, never>(this.target);
    if (!c) throw new NotFoundError(`${this.target} does not refer to a container or pod: no container with name or ID "${this.target}" found, and tspod has no pods`);
    const config = engine.config;
    return containerUnit(
      {
        id: c.id,
        name: c.name,
        binary: tspodBinary(),
        globalArgs: globalArgs(this),
        runRoot: runRootSpecifier(config),
        stopTimeout: c.config.stopTimeout ?? 10,
        restartPolicy: c.config.restartPolicy?.name ?? 'no',
        createCommand: c.config.createCommand,
        pidFile: c.config.conmonPidfile ?? defaultMonitorPidFile(containerPaths(config, c.id).socketDir),
        notify: await (await import('./command-flags')).runRelaysSdNotify(),
        version: TSPOD_VERSION,
        now: new Date(),
      },
      opts,
    );
  }
}
