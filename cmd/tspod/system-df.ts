// `system df`: disk use of images, containers and local volumes, as Podman prints it.
import { Command, Option } from 'clipanion';
import { TspodCommand } from './tspod-command';
import { formatRows, plainTable } from './list-output';

const HEADERS: Record<string, string> = { Type: 'TYPE', Total: 'TOTAL', Active: 'ACTIVE', Size: 'SIZE', Reclaimable: 'RECLAIMABLE' };

export class SystemDfCommand extends TspodCommand {
  static override paths = [['system', 'df']];
  static override usage = Command.Usage({
    description: "Show tspod's disk usage",
    details: 'One row each for images, containers (their writable layers) and local volumes: how many, how many in use, their size and what removing the unused ones would free. -v lists every object.',
    examples: [
      ['Disk usage', 'tspod system df'],
      ['Per image, container and volume', 'tspod system df -v'],
      ['As JSON', 'tspod system df --format json'],
    ],
  });

  verbose = Option.Boolean('-v,--verbose', false, { description: 'Show each image, container and volume' });
  format = Option.String('--format', { description: 'Format output with a Go template, table or json' });

  async run(): Promise<number> {
    const { Engine } = await import('../../pkg/engine/engine');
    const { diskUsage } = await import('../../pkg/system/system-df');
    const { humanSize, timeAgo } = await import('../../pkg/format/human-units');
    const engine = new Engine(this.config());
    let usage;
    try {
      usage = await diskUsage(engine);
    } finally {
      engine.close();
    }
    const size = (n: number): string => humanSize(n, '');
    if (this.verbose) {
      this.out(this.verboseText(usage, size, timeAgo));
      return 0;
    }
    const rows = usage.summary.map((r) => ({
      ...r,
      Size: size(r.RawSize),
      Reclaimable: `${size(r.RawReclaimable)} (${r.RawSize ? Math.round((100 * r.RawReclaimable) / r.RawSize) : 0}%)`,
    }));
    const columns = ['Type', 'Total', 'Active', 'Size', 'Reclaimable'];
    if (this.format && this.format !== 'table') {
      this.out(await formatRows(this.format, rows, HEADERS, { defaultFormat: `table ${columns.map((c) => `{{.${c}}}`).join('\t')}` }));
      return 0;
    }
    this.out(plainTable(columns, HEADERS, rows));
    return 0;
  }

  private verboseText(usage: import('../../pkg/system/system-df').DiskUsage, size: (n: number) => string, ago: (ms: number) => string): string {
    const images = usage.images.flatMap(({ image, containers }) => {
      const id = image.id.replace(/^sha256:/, '').slice(0, 12);
      const names = image.names.length ? image.names : ['<none>:<none>'];
      return names.map((n) => {
        const colon = n.lastIndexOf(':');
        const slash = n.lastIndexOf('/');
        const [repo, tag] = colon > slash ? [n.slice(0, colon), n.slice(colon + 1)] : [n, '<none>'];
        return { Repository: repo, Tag: tag, ID: id, Created: ago(image.created), Size: size(image.size), Shared: size(0), Unique: size(image.size), Containers: containers };
      });
    });
    const containers = usage.containers.map(({ container: c, size: s, volumes }) => ({
      ID: c.id.slice(0, 12),
      Image: c.imageName,
      Command: [...c.config.entrypoint, ...c.config.cmd].join(' '),
      Volumes: volumes,
      Size: size(s),
      Created: ago(c.created),
      Status: c.status,
      Names: c.name,
    }));
    const volumes = usage.volumes.map(({ volume, links, size: s }) => ({ Name: volume.name, Links: links, Size: size(s) }));
    return [
      'Images space usage:\n\n',
      plainTable(['Repository', 'Tag', 'ID', 'Created', 'Size', 'Shared', 'Unique', 'Containers'], { Repository: 'REPOSITORY', Tag: 'TAG', ID: 'IMAGE ID', Created: 'CREATED', Size: 'SIZE', Shared: 'SHARED SIZE', Unique: 'UNIQUE SIZE', Containers: 'CONTAINERS' }, images),
      '\nContainers space usage:\n\n',
      plainTable(['ID', 'Image', 'Command', 'Volumes', 'Size', 'Created', 'Status', 'Names'], { ID: 'CONTAINER ID', Image: 'IMAGE', Command: 'COMMAND', Volumes: 'LOCAL VOLUMES', Size: 'SIZE', Created: 'CREATED', Status: 'STATUS', Names: 'NAMES' }, containers),
      '\nLocal Volumes space usage:\n\n',
      plainTable(['Name', 'Links', 'Size'], { Name: 'VOLUME NAME', Links: 'LINKS', Size: 'SIZE' }, volumes),
    ].join('');
  }
}
