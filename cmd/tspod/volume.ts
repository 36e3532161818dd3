// `volume create|ls|inspect|rm|prune|exists`: named volumes of the local driver.
import { Command, Option } from 'clipanion';
import { TspodCommand } from './tspod-command';
import { keyValues } from './key-value-flags';
import { formatRows, plainTable } from './list-output';
import { confirm } from './confirm-prompt';
import { errorsText } from './image-remove';
import { printInspected } from './inspect';
import { InvalidArgumentError } from '../../pkg/errors';
import type { Engine } from '../../pkg/engine/engine';

const HEADERS: Record<string, string> = { Driver: 'DRIVER', Name: 'VOLUME NAME', Mountpoint: 'MOUNT POINT', Scope: 'SCOPE', CreatedAt: 'CREATED AT', Labels: 'LABELS' };



/** The inspect documents of the volumes `names` finds, and a message per missing one. */
export async function inspectVolumes(engine: Engine, names: readonly string[]): Promise<{ found: unknown[]; problems: string[] }> {
  const { VolumeStore } = await import('../../pkg/volume/volume-store');
  const { volumeDocument } = await import('../../pkg/volume/volume-inspect');
  const { mountCounts } = await import('../../pkg/volume/volume-remove');
  const { needsCopyUp } = await import('../../pkg/volume/volume-seed');
  const store = new VolumeStore(engine.db, engine.config.graphRoot);
  const counts = mountCounts(engine);
  const found: unknown[] = [];
  const problems: string[] = [];
  for (const name of names) {
    const v = store.get(name);
    if (v) found.push(volumeDocument(v, counts.get(v.name) ?? 0, needsCopyUp(v)));
    else problems.push(`no such volume ${name}`);
  }
  return { found, problems };
}

/** For `tspod inspect`'s list of Inspectors. */
export const volumeInspector = {
  type: 'volume',
  lookup: async (engine: Engine, name: string): Promise<unknown | undefined> => (await inspectVolumes(engine, [name])).found[0],
};

export class VolumeCreateCommand extends TspodCommand {
  static override paths = [['volume', 'create']];
  static override usage = Command.Usage({
    description: 'Create a new volume',
    details: 'Creates a volume of the local driver (a random name when none is given) and prints its name. `-o type=tmpfs,o=size=64m` makes a volume that is a fresh tmpfs in each container.',
    examples: [
      ['Create a volume', 'tspod volume create data'],
      ['With a label', 'tspod volume create --label app=web data'],
      ['A tmpfs volume', 'tspod volume create -o type=tmpfs -o device=tmpfs -o o=size=64m scratch'],
    ],
  });

  driver = Option.String('-d,--driver', 'local', { description: 'Volume driver (only local)' });
  label = Option.Array('-l,--label', [], { description: 'Set a label (KEY=VALUE)' });
  opt = Option.Array('-o,--opt', [], { description: 'Driver option (type=, device=, o=)' });
  ignore = Option.Boolean('--ignore', false, { description: 'Do not fail when the volume exists' });
  name = Option.String({ required: false });

  async run(): Promise<number> {
    const labels = keyValues(this.label, '--label');
    const options = keyValues(this.opt, '--opt');
    return this.withEngine(async (engine) => {
      const { VolumeStore } = await import('../../pkg/volume/volume-store');
      const store = new VolumeStore(engine.db, engine.config.graphRoot);
      const existing = this.name !== undefined && this.ignore ? store.get(this.name) : undefined;
      const vol = existing ?? store.create(this.name, { driver: this.driver, labels, options });
      this.out(`${vol.name}\n`);
      return 0;
    });
  }
}

export class VolumeLsCommand extends TspodCommand {
  static override paths = [['volume', 'ls'], ['volume', 'list']];
  static override usage = Command.Usage({
    description: 'List volumes',
    details: 'Filters: name=, label=KEY[=VALUE], label!=, dangling=true|false (no container uses it), driver=, opt=, until=, anonymous=.',
    examples: [
      ['List volumes', 'tspod volume ls'],
      ['Names of unused volumes', 'tspod volume ls -q --filter dangling=true'],
      ['Names and mount points', "tspod volume ls --format '{{.Name}} {{.Mountpoint}}'"],
    ],
  });

  quiet = Option.Boolean('-q,--quiet', false, { description: 'Print only volume names' });
  filter = Option.Array('-f,--filter', [], { description: 'Filter output (KEY=VALUE)' });
  format = Option.String('--format', { description: 'Format output with a Go template, table or json' });
  noHeading = Option.Boolean('-n,--noheading', false, { description: 'Do not print the header' });

  async run(): Promise<number> {
    const { parseVolumeFilters, matchesVolume, localRfc3339 } = await import('../../pkg/volume/volume-inspect');
    const filters = parseVolumeFilters(this.filter);
    const rows = await this.withEngine(async (engine) => {
      const { VolumeStore } = await import('../../pkg/volume/volume-store');
      const { volumesInUse } = await import('../../pkg/volume/volume-remove');
      const inUse = filters.has('dangling') ? volumesInUse(engine) : new Set<string>();
      return new VolumeStore(engine.db, engine.config.graphRoot)
        .list()
        .filter((v) => matchesVolume(v, filters, inUse))
        .map((v) => ({ Name: v.name, Driver: v.driver, Mountpoint: v.mountpoint, Scope: 'local', Labels: v.labels, Options: v.options, CreatedAt: localRfc3339(v.created), Anonymous: v.anonymous }));
    });
    if (this.quiet) {
      this.out(rows.map((r) => `${r.Name}\n`).join(''));
      return 0;
    }
    if (this.format && this.format !== 'table') {
      this.out(await formatRows(this.format, rows, HEADERS, { defaultFormat: 'table {{.Driver}}\t{{.Name}}', noHeading: this.noHeading }));
      return 0;
    }
    this.out(plainTable(['Driver', 'Name'], HEADERS, rows, this.noHeading));
    return 0;
  }
}

export class VolumeInspectCommand extends TspodCommand {
  static override paths = [['volume', 'inspect']];
  static override usage = Command.Usage({
    description: 'Display the configuration of volumes',
    examples: [
      ['Inspect a volume', 'tspod volume inspect data'],
      ['Where its files are', "tspod volume inspect --format '{{.Mountpoint}}' data"],
      ['Every volume', 'tspod volume inspect --all'],
    ],
  });

  all = Option.Boolean('-a,--all', false, { description: 'Inspect all volumes' });
  format = Option.String('-f,--format', { description: 'Format the output with a Go template, or `json`' });
  names = Option.Rest();

  async run(): Promise<number> {
    if (!this.all && this.names.length === 0) throw new InvalidArgumentError('provide one or more volume names or use --all');
    return this.withEngine(async (engine) => {
      let names = this.names;
      if (this.all) {
        const { VolumeStore } = await import('../../pkg/volume/volume-store');
        names = new VolumeStore(engine.db, engine.config.graphRoot).list().map((v) => v.name);
      }
      const { found, problems } = await inspectVolumes(engine, names);
      return printInspected(found, problems, this.format);
    });
  }
}

export class VolumeRmCommand extends TspodCommand {
  static override paths = [['volume', 'rm'], ['volume', 'remove']];
  static override usage = Command.Usage({
    description: 'Remove volumes',
    details: 'A volume that a container (in any state) mounts is refused (exit 2) unless -f, which removes those containers first. Missing volumes exit 1.',
    examples: [
      ['Remove a volume', 'tspod volume rm data'],
      ['Remove it and the containers using it', 'tspod volume rm -f data'],
      ['Remove every volume', 'tspod volume rm --all'],
    ],
  });

  all = Option.Boolean('-a,--all', false, { description: 'Remove all volumes' });
  force = Option.Boolean('-f,--force', false, { description: 'Remove the containers using the volume first' });
  names = Option.Rest();

  async run(): Promise<number> {
    if (this.all && this.names.length > 0) throw new InvalidArgumentError('when using the --all switch, you may not pass any volume names');
    if (!this.all && this.names.length === 0) throw new InvalidArgumentError('provide one or more volume names or use --all');
    return this.withEngine(async (engine) => {
      const { removeVolumes, volumeRemoveExitCode } = await import('../../pkg/volume/volume-remove');
      const report = await removeVolumes(engine, this.names, { force: this.force, all: this.all });
      this.out(report.removed.map((n) => `${n}\n`).join(''));
      process.stderr.write(errorsText(report.failures.map((f) => f.message)));
      return volumeRemoveExitCode(report);
    });
  }
}

export class VolumePruneCommand extends TspodCommand {
  static override paths = [['volume', 'prune']];
  static override usage = Command.Usage({
    description: 'Remove all unused volumes',
    details: 'Removes every volume no container (in any state) uses, and prints their names. Filters: label=, label!=, until=.',
    examples: [
      ['Remove unused volumes, asking first', 'tspod volume prune'],
      ['Without asking', 'tspod volume prune -f'],
    ],
  });

  force = Option.Boolean('-f,--force', false, { description: 'Do not ask for confirmation' });
  filter = Option.Array('--filter', [], { description: 'Only prune volumes that match (label=, label!=, until=)' });

  async run(): Promise<number> {
    const { parseVolumeFilters, matchesVolume } = await import('../../pkg/volume/volume-inspect');
    const filters = parseVolumeFilters(this.filter, ['label', 'label!', 'until']);
    return this.withEngine(async (engine) => {
      const { pruneVolumes, volumesInUse } = await import('../../pkg/volume/volume-remove');
      if (!this.force) {
        const { VolumeStore } = await import('../../pkg/volume/volume-store');
        const used = volumesInUse(engine);
        const names = new VolumeStore(engine.db, engine.config.graphRoot).list().filter((v) => !used.has(v.name) && matchesVolume(v, filters, used)).map((v) => `${v.name}\n`);
        const question = `WARNING! This will remove all volumes not used by at least one container. The following volumes will be removed:\n${names.join('')}Are you sure you want to continue? [y/N] `;
        if (!(await confirm(question))) return 0;
      }
      const pruned = pruneVolumes(engine, (v) => !matchesVolume(v, filters, new Set()));
      this.out(pruned.map((p) => `${p.name}\n`).join(''));
      return 0;
    });
  }
}

export class VolumeExistsCommand extends TspodCommand {
  static override paths = [['volume', 'exists']];
  static override usage = Command.Usage({
    description: 'Check if a volume exists',
    details: 'Exits 0 when the volume exists, 1 when it does not.',
    examples: [['Check for a volume', 'tspod volume exists data']],
  });

  name = Option.String();

  async run(): Promise<number> {
    return this.withEngine(async (engine) => {
      const { VolumeStore } = await import('../../pkg/volume/volume-store');
      return new VolumeStore(engine.db, engine.config.graphRoot).get(this.name) ? 0 : 1;
    });
  }
}

export const VOLUME_COMMANDS = [VolumeCreateCommand, VolumeLsCommand, VolumeInspectCommand, VolumeRmCommand, VolumePruneCommand, VolumeExistsCommand];
