import { Command, Option } from 'clipanion';
import { TspodCommand } from './tspod-command';
import { formatRows } from './list-output';
import { parseBoolFlag } from './bool-flag';

export class HistoryCommand extends TspodCommand {
  static override paths = [['history'], ['image', 'history']];
  static override usage = Command.Usage({
    description: 'Show the history of an image',
    details:
      "One row per step of the image's build, newest first: the step's layer size (0 for steps that made no layer, such as ENV or CMD) and the command that made it, cut at 45 characters unless --no-trunc. The top row's ID is the image's; a lower step shows the ID of a local image whose top layer it made, `<missing>` otherwise.",
    examples: [
      ['Show the history', 'tspod history busybox'],
      ['Full commands and IDs', 'tspod history --no-trunc busybox'],
      ['Exact sizes and dates', 'tspod history -H=false busybox'],
      ['Only the commands', "tspod history --format '{{.CreatedBy}}' busybox"],
    ],
  });

  // a string tolerating a bare flag, so pflag's `-H=false` and `--human=false` parse
  human = Option.String('-H,--human', { tolerateBoolean: true, description: 'Print sizes and dates in human readable format (default true)' });
  noTrunc = Option.Boolean('--no-trunc', false, { description: 'Do not truncate the output' });
  quiet = Option.Boolean('-q,--quiet', false, { description: 'Only print the IDs' });
  format = Option.String('--format', { description: 'Format with a Go template, `table ...` or `json`' });
  name = Option.String({ name: 'IMAGE' });

  async run(): Promise<void> {
    const { Engine } = await import('../../pkg/engine/engine');
    const { requireImage } = await import('../../pkg/image/image-lookup');
    const { parseImageConfig } = await import('../../pkg/image/manifest');
    const { DEFAULT_HISTORY_FORMAT, HISTORY_HEADERS, historyJson, historyRowView, imageHistory } = await import('../../pkg/image/image-history');
    const human = parseBoolFlag('--human', this.human, true);
    const engine = new Engine(this.config());
    try {
      const store = engine.images;
      const image = requireImage(store, this.name, engine.config.registries);
      const config = parseImageConfig(image.config);
      const layers = new Map((await engine.layers()).list().map((l) => [l.id, { parent: l.parent, size: l.size }]));
      const imagesByTopLayer = new Map<string, string[]>();
      for (const { id, topLayer } of store.list()) {
        if (topLayer === null) continue;
        const list = imagesByTopLayer.get(topLayer);
        if (list) list.push(id);
        else imagesByTopLayer.set(topLayer, [id]);
      }
      const steps = imageHistory({ imageId: image.id, history: config.history ?? [], topLayer: image.topLayer, layers, imagesByTopLayer });
      if (this.format?.trim() === 'json') {
        this.out(`${JSON.stringify(historyJson(steps), null, 4)}\n`);
        return;
      }
      const now = Date.now();
      const rows = steps.map((s) => historyRowView(s, { noTrunc: this.noTrunc, human, now }));
      if (this.quiet) {
        this.out(rows.map((r) => `${r.ID}\n`).join(''));
        return;
      }
      this.out(await formatRows(this.format ?? DEFAULT_HISTORY_FORMAT, rows, HISTORY_HEADERS, { defaultFormat: DEFAULT_HISTORY_FORMAT }));
    } finally {
      engine.close();
    }
  }
}
