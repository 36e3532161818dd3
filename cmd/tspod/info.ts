import { Command, Option } from 'clipanion';
import { TspodCommand } from './tspod-command';
import { formatObject } from './output-format';

export class InfoCommand extends TspodCommand {
  static override paths = [['info'], ['system', 'info']];
  static override usage = Command.Usage({
    description: 'Display system-wide information',
    details:
      'Shows the host (kernel, cgroups, user namespace mappings, OCI runtime, network helpers), the store (driver, paths, counts) and the registries tspod uses. Paste it into a bug report.',
    examples: [
      ['Show everything', 'tspod info'],
      ['Print the storage driver', "tspod info --format '{{.Driver}}'"],
      ['Print the uid mappings as JSON', "tspod info --format '{{json .host.idMappings.uidmap}}'"],
      ['Print all of it as JSON', 'tspod info --format json'],
    ],
  });

  format = Option.String('-f,--format', { description: 'Change the output format to JSON or a Go template' });

  async run(): Promise<void> {
    const { systemInfo } = await import('../../pkg/system/system-info');
    const { toYaml } = await import('../../pkg/format/yaml-text');
    const info = await systemInfo(this.config());
    if (this.format) {
      this.out(formatObject(this.format, info));
      return;
    }
    const { host, store, registries, version } = info;
    this.out(toYaml({ host, store, registries, version }));
  }
}
