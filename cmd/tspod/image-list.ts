import { Command, Option } from 'clipanion';
import { TspodCommand } from './tspod-command';
import { formatRows, plainTable } from './list-output';
import { InvalidArgumentError } from '../../pkg/errors';

export class ImagesCommand extends TspodCommand {
  static override paths = [['images'], ['image', 'ls'], ['image', 'list']];
  static override usage = Command.Usage({
    description: 'List images in local storage',
    details:
      'One row per name, newest first; an image without a name shows as `<none>`. Untagged images that are parents of other images are hidden unless -a is given. Filters: `dangling=true|false`, `reference=PATTERN` (a glob on the name: `busybox`, `busy*`, `docker.io/library/b*:latest`), `before=IMAGE`, `since=IMAGE`, `until=TIMESTAMP|DURATION`, `label=KEY[=VALUE]`, `label!=KEY[=VALUE]`, `id=`, `digest=`, `intermediate=`, `containers=`. Values of one filter are OR-ed, different filters AND-ed. An argument `REPOSITORY[:TAG]` is a reference filter.',
    examples: [
      ['List images', 'tspod images'],
      ['Only the IDs, once per image', 'tspod images -q'],
      ['Images with their manifest digests', 'tspod images --digests'],
      ['Untagged images', 'tspod images --filter dangling=true'],
      ['Names matching a pattern', "tspod images 'docker.io/library/b*'"],
      ['Names as repository:tag', "tspod images --format '{{.Repository}}:{{.Tag}}'"],
      ['A custom table', "tspod images --format 'table {{.ID}}\\t{{.Size}}'"],
      ['Largest last', 'tspod images --sort size'],
    ],
  });

  all = Option.Boolean('-a,--all', false, { description: 'Show all images, intermediate ones too' });
  quiet = Option.Boolean('-q,--quiet', false, { description: 'Only show image IDs' });
  digests = Option.Boolean('--digests', false, { description: 'Show digests' });
  noTrunc = Option.Boolean('--no-trunc', false, { description: 'Do not truncate IDs' });
  filter = Option.Array('-f,--filter', [], { description: 'Filter output (KEY=VALUE); see above' });
  format = Option.String('--format', { description: 'Format with a Go template, `table ...` or `json`' });
  sort = Option.String('--sort', 'created', { description: 'Sort by created, id, repository, size or tag' });
  noHeading = Option.Boolean('-n,--noheading', false, { description: 'Do not print the column headings' });
  reference = Option.String({ name: 'REPOSITORY[:TAG]', required: false });

  async run(): Promise<void> {
    const { checkSortKey, DEFAULT_COLUMNS, DIGESTS_COLUMNS, IMAGE_HEADERS, jsonSummaries, listImages, loadImageSummaries, quietIds, rowView, withImageStore } =
      await import('../../pkg/image/image-list');
    const sort = checkSortKey(this.sort);
    const flags = this.reference !== undefined ? [...this.filter, `reference=${this.reference}`] : this.filter;
    // filters pull in reference parsing and image lookup: load them only when asked for
    const filterModule = flags.length > 0 ? await import('../../pkg/image/image-filters') : undefined;
    const lookup = flags.length > 0 ? await import('../../pkg/image/image-lookup') : undefined;
    const parsed = filterModule?.parseImageFilters(flags);
    const config = this.config();
    const entries = withImageStore(config, (store) => {
      const filters =
        filterModule && parsed && lookup ? filterModule.compileImageFilters(parsed, { resolve: (name) => lookup.findImage(store, name, config.registries) }) : undefined;
      return listImages(loadImageSummaries(store), { all: this.all, filters, sort });
    });
    if (this.quiet) {
      const ids = quietIds(entries, this.noTrunc);
      this.out(ids.length ? `${ids.join('\n')}\n` : '');
      return;
    }
    if (this.format?.trim() === 'json') {
      this.out(`${JSON.stringify(jsonSummaries(entries), null, 4)}\n`);
      return;
    }
    const now = Date.now();
    const rows = entries.map((e) => rowView(e, { noTrunc: this.noTrunc, now }));
    const columns = this.digests ? DIGESTS_COLUMNS : DEFAULT_COLUMNS;
    if (this.format === undefined || /^\s*table\s*$/.test(this.format)) {
      this.out(plainTable(columns, IMAGE_HEADERS, rows, this.noHeading));
      return;
    }
    const defaultFormat = `table ${columns.map((c) => `{{.${c}}}`).join('\t')}`;
    this.out(await formatRows(this.format, rows, IMAGE_HEADERS, { defaultFormat, noHeading: this.noHeading }));
  }
}
