import { Command, Option } from 'clipanion';
import { TspodCommand } from './tspod-command';

export class ImageTreeCommand extends TspodCommand {
  static override paths = [['image', 'tree']];
  static override usage = Command.Usage({
    description: "Print the layer hierarchy of an image",
    details: "Lists the image's layers from the bottom up with their sizes, and which local images each layer is the top layer of.",
    examples: [['Show the layers of an image', 'tspod image tree busybox']],
  });

  name = Option.String({ name: 'IMAGE' });

  async run(): Promise<void> {
    const { Engine } = await import('../../pkg/engine/engine');
    const { requireImage } = await import('../../pkg/image/image-lookup');
    const { imageTree } = await import('../../pkg/image/image-history');
    const engine = new Engine(this.config());
    try {
      const store = engine.images;
      const image = requireImage(store, this.name, engine.config.registries);
      const layerStore = await engine.layers();
      const chain: { id: string; size: number }[] = [];
      for (let id = image.topLayer; id !== null; ) {
        const layer = layerStore.get(id);
        if (!layer) break;
        chain.unshift({ id, size: layer.size });
        id = layer.parent;
      }
      const topOf = new Map<string, string[]>();
      for (const other of store.list()) {
        if (other.topLayer === null) continue;
        const labels = other.names.length > 0 ? other.names : [other.id.replace(/^sha256:/, '').slice(0, 12)];
        topOf.set(other.topLayer, [...(topOf.get(other.topLayer) ?? []), ...labels]);
      }
      for (const names of topOf.values()) names.sort();
      this.out(imageTree({ imageId: image.id, names: image.names, size: image.size, layers: chain, topOf }));
    } finally {
      engine.close();
    }
  }
}
