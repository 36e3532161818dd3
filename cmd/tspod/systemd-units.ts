// `systemd generate-units`: Quadlet files (.container, .volume, .network) to .service units,
// for people (--dry-run prints them) and for the systemd generators in contrib/systemd/, which
// call it with the directory systemd gives them.
import { Command, Option } from 'clipanion';
import { TspodCommand } from './tspod-command';
import { commandFlags, runRelaysSdNotify } from './command-flags';
import { runRootSpecifier } from './generate-systemd';
import { InvalidArgumentError } from '../../pkg/errors';
import type { QuadletCommand } from '../../pkg/systemd/quadlet';

export class SystemdGenerateUnitsCommand extends TspodCommand {
  static override paths = [['systemd', 'generate-units']];
  static override usage = Command.Usage({
    description: 'Turn Quadlet files (.container, .volume, .network) into systemd units',
    details:
      'Reads ~/.config/containers/systemd/ (as root /etc/containers/systemd/; QUADLET_UNIT_DIRS overrides) and writes NAME.service, NAME-volume.service and NAME-network.service into OUTDIR, linked into the targets their [Install] section names. The systemd generators in contrib/systemd/ run this on every `systemctl daemon-reload`. Problems are reported as FILE:LINE: and the file they are in produces no unit.',
    examples: [
      ['See what would be generated', 'tspod systemd generate-units --dry-run'],
      ['Generate into a directory', 'tspod systemd generate-units --user /tmp/units'],
    ],
  });

  dryRun = Option.Boolean('--dry-run,--dryrun', false, { description: 'Print the units instead of writing them' });
  user = Option.Boolean('--user', { description: "Generate user units (the default when not root)" });
  noKmsgLog = Option.Boolean('--no-kmsg-log', false, { hidden: true });
  outDir = Option.String({ required: false, name: 'OUTDIR' });

  async run(): Promise<number> {
    if (!this.dryRun && !this.outDir) throw new InvalidArgumentError('an output directory is needed (or --dry-run)');
    const { generateUnits, quadletDirs, writeUnits } = await import('../../pkg/systemd/quadlet-units');
    const { tspodBinary } = await import('../../pkg/container/container-start');
    const config = this.config();
    const flags: Partial<Record<QuadletCommand, Set<string>>> = {
      run: await commandFlags('run', ['run']),
      'volume create': await commandFlags('volume', ['volume', 'create']),
      'network create': await commandFlags('network', ['network', 'create']),
    };
    const dirs = quadletDirs(config.host, this.user ?? config.host.rootless);
    const result = generateUnits(dirs, { binary: tspodBinary(), runRoot: runRootSpecifier(config), notify: await runRelaysSdNotify(), flags });
    for (const e of result.errors) process.stderr.write(`Error: ${e}\n`);
    if (this.dryRun) {
      for (const s of result.services) this.out(`---${s.name}---\n${s.text}\n`);
    } else {
      writeUnits(this.outDir as string, result.services);
    }
    return result.errors.length ? 125 : 0;
  }
}
