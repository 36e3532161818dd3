// One `build` invocation's shared state: the request, the parsed Dockerfile, the results of the
// stages built so far, the cache, and the image roots mounted read-only for COPY --from and
// RUN --mount=from= (unmounted when the build ends, however it ends).
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Engine } from '../engine/engine';
import { InvalidArgumentError } from '../errors';
import { findImage } from '../image/image-lookup';
import type { ImageRecord } from '../image/image-store';
import type { PullOptions } from '../image/image-pull';
import { parseImageConfig } from '../image/manifest';
import { formatPlatform, hostPlatform, normalizePlatform, PlatformSpec } from '../image/platform';
import { NotFoundError } from '../errors';
import type { PullPolicy } from '../container/container-create';
import { BuildCache } from './build-cache';
import { BuildImage } from './build-image';
import { BuildOutput } from './build-output';
import { SourceRoot } from './copy-sources';
import type { BuildContext } from './build-context';
import type { Dockerfile } from './dockerfile-types';
import type { BuildNetwork } from './run-step';

export interface BuildRequest {
  context: BuildContext;
  /** full names (docker.io/library/app:latest) */
  tags: string[];
  buildArgs: Map<string, string>;
  target?: string;
  noCache: boolean;
  pull: PullPolicy;
  pullOptions?: PullOptions;
  labels: Record<string, string>;
  /** --format: the manifest type the image is stored (and pushed) with */
  format: 'oci' | 'docker';
  squash: boolean;
  /** false: no cache, no intermediate images, the new layers squashed into one */
  layers: boolean;
  platform: PlatformSpec;
  network: BuildNetwork;
  /** --secret id → file */
  secrets: Map<string, string>;
  output: BuildOutput;
  signal?: AbortSignal;
}

export class BuildSession {
  readonly cache: BuildCache;
  /** results of the stages built so far, by index */
  readonly stages = new Map<number, BuildImage>();
  /** the build args some ARG declared (the others are reported unused, as Docker does) */
  readonly usedArgs = new Set<string>();
  private readonly mounted: string[] = [];
  private readonly roots = new Map<string, SourceRoot>();
  private scratchDir?: string;

  constructor(
    readonly engine: Engine,
    readonly req: BuildRequest,
    readonly dockerfile: Dockerfile,
  ) {
    this.cache = new BuildCache(engine.db, engine.images);
  }

  get useCache(): boolean {
    return this.req.layers && !this.req.noCache;
  }

  aborted(): void {
    if (this.req.signal?.aborted) throw new InvalidArgumentError('build interrupted');
  }

  /** The stage an AS name or index names, when it was defined before `before`. */
  stageIndex(name: string, before: number): number | undefined {
    const lower = name.toLowerCase();
    const byName = this.dockerfile.stages.find((s) => s.name === lower && s.index < before);
    if (byName) return byName.index;
    if (/^\d+$/.test(name) && Number(name) < before) return Number(name);
    return undefined;
  }

  /**
   * An image by name, pulled per --pull (for FROM and COPY --from=image), for the build's
   * platform (or FROM --platform's): a local image of another platform counts as missing.
   */
  async image(name: string, policy: PullPolicy = this.req.pull, platform: PlatformSpec = this.req.platform): Promise<ImageRecord> {
    let local = policy === 'always' ? undefined : findImage(this.engine.images, name, this.engine.config.registries);
    if (local) {
      const config = parseImageConfig(local.config);
      const have = normalizePlatform({ os: config.os || 'linux', architecture: config.architecture || platform.architecture, variant: config.variant });
      if (have.os !== platform.os || have.architecture !== platform.architecture) local = undefined;
    }
    if (local && policy !== 'newer') return local;
    if (policy === 'never') throw new NotFoundError(`${name}: image not known${platform.architecture !== hostPlatform().architecture ? ` for ${formatPlatform(platform)}` : ''}`);
    const { pullImage } = await import('../image/image-pull');
    try {
      const pulled = await pullImage(this.engine, name, {
        ...this.req.pullOptions,
        platform: formatPlatform(platform),
        listener: (e) => {
          if (e.kind === 'message') this.req.output.message(e.text);
        },
      });
      return pulled.image;
    } catch (err) {
      if (local) return local;
      throw err;
    }
  }

  /** A private scratch directory for the build (removed by close()). */
  scratch(): string {
    if (!this.scratchDir) {
      this.scratchDir = path.join(this.engine.config.graphRoot, 'build', `scratch-${process.pid}-${crypto.randomBytes(6).toString('hex')}`);
      fs.mkdirSync(this.scratchDir, { recursive: true, mode: 0o700 });
    }
    return this.scratchDir;
  }

  /** An image's root, mounted read-only (once) for the rest of the build. */
  async imageRoot(image: BuildImage): Promise<SourceRoot> {
    const key = image.topLayer ?? 'scratch';
    const known = this.roots.get(key);
    if (known) return known;
    const target = path.join(this.scratch(), `root-${this.roots.size}`);
    if (image.topLayer === null) {
      fs.mkdirSync(target, { recursive: true });
    } else {
      const driver = await this.engine.driver();
      const layers = await this.engine.layers();
      await driver.mount({ lowers: layers.lowerDirs(image.topLayer), upper: '', work: '', target, readonly: true });
      this.mounted.push(target);
    }
    const root: SourceRoot = { kind: 'root', root: target };
    this.roots.set(key, root);
    return root;
  }

  /** `from=`/`--from=`: an earlier stage, else an image; undefined: the build context. */
  async tree(from: string | undefined, stageIndex: number): Promise<SourceRoot> {
    if (from === undefined || from === '') return { kind: 'context', ctx: this.req.context };
    const idx = this.stageIndex(from, stageIndex);
    if (idx !== undefined) return this.imageRoot(this.stages.get(idx) as BuildImage);
    const image = await this.image(from, 'missing');
    return this.imageRoot({ id: image.id, topLayer: image.topLayer, config: { architecture: '', os: '', rootfs: { type: 'layers', diff_ids: [] } }, size: 0 });
  }

  /** The identity of what `from` names, for cache keys. */
  async treeKey(from: string | undefined, stageIndex: number): Promise<string> {
    if (from === undefined || from === '') return 'context';
    const idx = this.stageIndex(from, stageIndex);
    if (idx !== undefined) return `stage:${this.stages.get(idx)?.id ?? JSON.stringify(this.stages.get(idx)?.config)}`;
    return `image:${(await this.image(from, 'missing')).id}`;
  }

  async close(): Promise<void> {
    const driver = this.mounted.length ? await this.engine.driver() : undefined;
    for (const target of this.mounted.splice(0)) await driver?.unmount(target).catch(() => undefined);
    if (this.scratchDir) await (await import('../storage/layer-store')).removeTree(this.scratchDir).catch(() => undefined);
  }
}
