// A build step's working container: the parent's layers mounted (overlay, or a vfs copy) with a
// fresh writable layer on top, in a scratch directory of its own under <graphRoot>/build. RUN
// runs a process in it, COPY/ADD/WORKDIR write into its root; commit() turns the writable
// layer's changes into a stored layer (layer-tar.ts writes deletions as whiteouts), exactly as
// `commit` does for a container. Unlike a container it has no database row: it lives only as
// long as its step, like Buildah's working containers that `ps` does not list.
//
// A build killed mid-step leaves its scratch dir (named after its pid) mounted: the next build
// unmounts and removes the dirs of dead processes, and deletes their runtime containers.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Engine } from '../engine/engine';
import { pidAlive } from '../host/processes';
import { log } from '../log';
import { OciRuntime } from '../runtime/oci-runtime';
import { LayerRecord, removeTree } from '../storage/layer-store';
import { tarLayerDir } from '../storage/layer-tar';
import { unmountAllUnder } from '../storage/mounts';

const PREFIX = 'step';

export interface WorkingPaths {
  dir: string;
  upper: string;
  work: string;
  rootfs: string;
  /** etc files, bundle, monitor socket dir, exit dir */
  run: string;
}

function pathsOf(dir: string): WorkingPaths {
  return { dir, upper: path.join(dir, 'upper'), work: path.join(dir, 'work'), rootfs: path.join(dir, 'merged'), run: path.join(dir, 'run') };
}

/** The runtime's name for the working container of scratch dir `name`. */
export function runtimeId(name: string): string {
  return `tspod-build-${name}`;
}

function buildHome(engine: Engine): string {
  return path.join(engine.config.graphRoot, 'build');
}

/** Unmounts and removes what killed builds left (their pid is dead): working containers, scratch dirs. */
async function cleanStaleBuildDirs(engine: Engine): Promise<void> {
  const home = buildHome(engine);
  let names: string[];
  try {
    names = await fs.promises.readdir(home);
  } catch {
    return;
  }
  const stale = /^(?:step|scratch)-(\d+)-/;
  for (const name of names) {
    const m = stale.exec(name);
    if (!m || Number(m[1]) === process.pid || pidAlive(Number(m[1]))) continue;
    log.debug(`build: removing ${name}, left by a build that died`);
    if (name.startsWith(`${PREFIX}-`)) await new OciRuntime(engine.config).delete(runtimeId(name)).catch(() => undefined);
    await unmountAllUnder(path.join(home, name)).catch(() => undefined);
    await removeTree(path.join(home, name)).catch(() => undefined);
  }
}

let cleaned = false;

export class WorkingContainer {
  private mounted = false;

  private constructor(
    private readonly engine: Engine,
    readonly name: string,
    readonly paths: WorkingPaths,
    /** the parent's top layer (null: scratch) */
    readonly parentLayer: string | null,
  ) {}

  /** The runtime's name for this container. */
  get id(): string {
    return runtimeId(this.name);
  }

  get rootfs(): string {
    return this.paths.rootfs;
  }

  /** Mounts a fresh writable layer over `parentLayer`'s chain. */
  static async create(engine: Engine, parentLayer: string | null): Promise<WorkingContainer> {
    const home = buildHome(engine);
    await fs.promises.mkdir(home, { recursive: true, mode: 0o700 });
    if (!cleaned) await cleanStaleBuildDirs(engine);
    cleaned = true;
    const name = `${PREFIX}-${process.pid}-${crypto.randomBytes(6).toString('hex')}`;
    const paths = pathsOf(path.join(home, name));
    await fs.promises.mkdir(paths.dir, { mode: 0o700 });
    // the upper dir's root becomes the container's "/": it must look like one
    await fs.promises.mkdir(paths.upper, { mode: 0o755 });
    await fs.promises.mkdir(paths.run, { mode: 0o700 });
    const wc = new WorkingContainer(engine, name, paths, parentLayer);
    try {
      await wc.mount();
    } catch (err) {
      await wc.dispose();
      throw err;
    }
    return wc;
  }

  private async mount(): Promise<void> {
    const driver = await this.engine.driver();
    const layers = await this.engine.layers();
    const lowers = this.parentLayer ? layers.lowerDirs(this.parentLayer) : [];
    await driver.mount({ lowers, upper: this.paths.upper, work: this.paths.work, target: this.paths.rootfs });
    this.mounted = true;
  }

  async unmount(): Promise<void> {
    if (!this.mounted) return;
    await (await this.engine.driver()).unmount(this.paths.rootfs);
    this.mounted = false;
  }

  /** Unmounts, then stores the writable layer's changes as a layer on the parent. */
  async commit(): Promise<LayerRecord> {
    await this.unmount();
    const driver = await this.engine.driver();
    const layers = await this.engine.layers();
    // a vfs upper dir is a full tree: only a comparison with the parent tells the changes
    const parentDir = driver.name === 'vfs' && this.parentLayer ? layers.diffDir(this.parentLayer) : undefined;
    return layers.putLayer({ parent: this.parentLayer ?? undefined, stream: tarLayerDir(this.paths.upper, driver, { parentDir }) });
  }

  async dispose(): Promise<void> {
    await new OciRuntime(this.engine.config).delete(this.id).catch(() => undefined);
    await this.unmount().catch((err) => log.debug(`build: unmounting ${this.paths.rootfs}: ${(err as Error).message}`));
    await removeTree(this.paths.dir);
  }
}
