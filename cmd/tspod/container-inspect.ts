// `container inspect` and the container Inspector of `inspect`: gathers what the pure
// document builder (pkg/container/container-inspect.ts) needs from the engine.
import { Command, Option } from 'clipanion';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TspodCommand } from './tspod-command';
import { InspectOptions, Inspector, inspectNames } from './inspect';
import type { Engine } from '../../pkg/engine/engine';
import type { Container } from '../../pkg/container/container-config';
import type { ContainerInspect } from '../../pkg/container/container-inspect';

/** Bytes of the files under dir (hard links counted once), as `du -b` would say. */
function directorySize(dir: string): number {
  const seen = new Set<string>();
  let total = 0;
  const walk = (d: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      let st: fs.Stats;
      try {
        st = fs.lstatSync(p);
      } catch {
        continue;
      }
      if (st.isDirectory()) {
        walk(p);
        continue;
      }
      const key = `${st.dev}:${st.ino}`;
      if (st.nlink > 1) {
        if (seen.has(key)) continue;
        seen.add(key);
      }
      total += st.size;
    }
  };
  walk(dir);
  return total;
}

export async function inspectContainerDoc(engine: Engine, found: Container, size: boolean): Promise<ContainerInspect> {
  const { refreshContainer } = await import('../../pkg/container/container-exit');
  const { containerPaths } = await import('../../pkg/container/container-paths');
  const { inspectContainer } = await import('../../pkg/container/container-inspect');
  const { parseImageConfig } = await import('../../pkg/image/manifest');
  const { VolumeStore } = await import('../../pkg/volume/volume-store');
  const c = await refreshContainer(engine, found);
  const paths = containerPaths(engine.config, c.id);
  const driver = await engine.driver();
  const image = c.imageId ? engine.images.get(c.imageId) : undefined;
  let lowerDirs: string[] = [];
  if (image?.topLayer && driver.name !== 'vfs') {
    try {
      lowerDirs = (await engine.layers()).lowerDirs(image.topLayer);
    } catch {
      lowerDirs = [];
    }
  }
  let imageConfig;
  try {
    imageConfig = image ? parseImageConfig(image.config).config : undefined;
  } catch {
    imageConfig = undefined;
  }
  let ociRuntime = 'runc';
  try {
    const { OciRuntime } = await import('../../pkg/runtime/oci-runtime');
    ociRuntime = path.basename(OciRuntime.of(engine.config, c).path);
  } catch {
    // no runtime installed: inspect still works
  }
  const volumes = new VolumeStore(engine.db, engine.config.graphRoot);
  let sizes: { rw: number; rootFs: number } | undefined;
  if (size) {
    const rw = directorySize(paths.upper);
    sizes = { rw, rootFs: rw + (image?.size ?? 0) };
  }
  return inspectContainer(c, {
    paths,
    driver: driver.name,
    lowerDirs,
    imageEnv: imageConfig?.Env ?? undefined,
    imageUser: imageConfig?.User || undefined,
    imageWorkdir: imageConfig?.WorkingDir || undefined,
    volumeMountpoint: (name) => volumes.get(name)?.mountpoint,
    ociRuntime,
    sizes,
    health: (await import('../../pkg/container/healthcheck')).readHealth(engine, c),
  });
}

async function findContainer(engine: Engine, name: string): Promise<Container | undefined> {
  const { ContainerStore } = await import('../../pkg/container/container-store');
  return new ContainerStore(engine.db).find(name) as Container | undefined;
}

/** Containers for `inspect`: first in the list, so a container named like an image wins (Docker's rule). */
export const containerInspector: Inspector = {
  type: 'container',
  async lookup(engine: Engine, name: string, opts?: InspectOptions): Promise<unknown | undefined> {
    const c = await findContainer(engine, name);
    return c && inspectContainerDoc(engine, c, opts?.size ?? false);
  },
};

export class ContainerInspectCommand extends TspodCommand {
  static override paths = [['container', 'inspect']];
  static override usage = Command.Usage({
    description: 'Display the configuration of containers',
    details: 'Prints a JSON array with one Docker-compatible document per container (Id, State, Config, HostConfig, Mounts, NetworkSettings, GraphDriver, ...). Names that are not containers are reported after the ones found.',
    examples: [
      ['Inspect a container', 'tspod container inspect web'],
      ['Print its state', "tspod container inspect --format '{{.State.Status}}' web"],
      ['Print its exit code', "tspod container inspect --format '{{.State.ExitCode}}' web"],
      ['Print its IP addresses', "tspod container inspect --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' web"],
      ['Include the sizes', 'tspod container inspect -s web'],
    ],
  });

  format = Option.String('-f,--format', { description: 'Format the output with a Go template, or `json`' });
  size = Option.Boolean('-s,--size', false, { description: 'Display total file sizes (SizeRw, SizeRootFs)' });
  names = Option.Rest({ required: 1 });

  async run(): Promise<number> {
    return inspectNames(this, [containerInspector], this.names, { format: this.format, size: this.size, notFound: (name) => `no such container ${name}` });
  }
}
