import { Command, Option } from 'clipanion';
import { TspodCommand } from './tspod-command';
import { Inspector, inspectNames } from './inspect';
import type { Engine } from '../../pkg/engine/engine';

/** Images for `inspect`: the Docker-compatible document of the image a name finds. */
export const imageInspector: Inspector = {
  type: 'image',
  async lookup(engine: Engine, name: string): Promise<unknown | undefined> {
    const { findImage } = await import('../../pkg/image/image-lookup');
    const { inspectImage } = await import('../../pkg/image/image-inspect');
    const { chainIds } = await import('../../pkg/storage/chain-id');
    const { parseImageConfig } = await import('../../pkg/image/manifest');
    const { InvalidArgumentError } = await import('../../pkg/errors');
    let image;
    try {
      image = findImage(engine.images, name, engine.config.registries);
    } catch (err) {
      if (err instanceof InvalidArgumentError) return undefined; // not a name an image can have
      throw err;
    }
    if (!image) return undefined;
    const layers = await engine.layers();
    const driver = await engine.driver();
    const chains = chainIds(parseImageConfig(image.config).rootfs.diff_ids);
    const layerDirs = chains.reverse().map((id) => layers.layerDir(id));
    return inspectImage(image, { driver: driver.name, layerDirs });
  },
};

export class ImageInspectCommand extends TspodCommand {
  static override paths = [['image', 'inspect']];
  static override usage = Command.Usage({
    description: 'Display the configuration of images',
    details:
      "Prints a JSON array with one Docker-compatible document per image (Id, RepoTags, RepoDigests, Created, Config, RootFS, GraphDriver, ...) plus Podman's Digest, ManifestType, Labels, Annotations, NamesHistory and History. Names that are not images are reported after the ones found.",
    examples: [
      ['Inspect an image', 'tspod image inspect busybox'],
      ['Print the image ID', "tspod image inspect --format '{{.Id}}' busybox"],
      ['Print the default command', "tspod image inspect --format '{{.Config.Cmd}}' busybox"],
      ['Print the config as JSON', "tspod image inspect --format '{{json .Config}}' busybox"],
      ['Print the first name', "tspod image inspect --format '{{index .RepoTags 0}}' busybox"],
    ],
  });

  format = Option.String('-f,--format', { description: 'Format the output with a Go template, or `json`' });
  names = Option.Rest({ required: 1 });

  async run(): Promise<number> {
    return inspectNames(this, [imageInspector], this.names, { format: this.format, notFound: (name) => `no such image: ${name}` });
  }
}
