// What a build carries from step to step: the image so far (its config, with rootfs and
// history, and its top layer), and how a step's result is stored: as an image of its own whose
// parent is the previous step's, as Podman stores intermediate images (`images -a` lists them,
// `rmi` of the final image removes the untagged chain). The image ID is the digest of the
// config bytes, so a step replayed from the cache yields the very same ID.
import type { Engine } from '../engine/engine';
import { sha256Digest } from '../image/digest';
import type { ImageRecord } from '../image/image-store';
import { HistoryEntry, ImageConfig, parseImageConfig } from '../image/manifest';
import type { PlatformSpec } from '../image/platform';
import type { LayerRecord } from '../storage/layer-store';

export interface BuildImage {
  /** the stored image this state is (undefined: FROM scratch before any step) */
  id?: string;
  topLayer: string | null;
  config: ImageConfig;
  size: number;
}

/** RFC 3339 in UTC with nanoseconds, as Podman writes `created`. */
export function nowRfc3339(): string {
  const ms = Date.now();
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, (_m, frac: string) => `.${frac}000000Z`);
}

/** FROM scratch: no layers, an empty config for the platform. */
export function scratchImage(platform: PlatformSpec): BuildImage {
  const config: ImageConfig = {
    architecture: platform.architecture,
    os: platform.os,
    config: {},
    rootfs: { type: 'layers', diff_ids: [] },
    history: [],
  };
  if (platform.variant) config.variant = platform.variant;
  return { topLayer: null, config, size: 0 };
}

/**
 * A base image as the first state of a stage. Docker keeps its config but not what described
 * the base itself (id, parent, container), and the base's ONBUILD triggers are consumed.
 */
export function baseImage(image: ImageRecord): BuildImage {
  const config = parseImageConfig(image.config);
  const out: ImageConfig = { ...config, config: { ...(config.config ?? {}) } };
  delete out.id;
  delete out.parent;
  delete out.container;
  delete out.container_config;
  return { id: image.id, topLayer: image.topLayer, config: out, size: image.size };
}

export function fromRecord(image: ImageRecord): BuildImage {
  return { id: image.id, topLayer: image.topLayer, config: parseImageConfig(image.config), size: image.size };
}

export interface StepResult {
  /** the new layer, for steps that change files */
  layer?: LayerRecord;
  config: ImageConfig['config'];
  createdBy: string;
  author?: string;
}

/** The config after a step: the new container config, the layer's diff ID, one history entry. */
export function stepConfig(prev: ImageConfig, step: StepResult, created: string): ImageConfig {
  const entry: HistoryEntry = { created, created_by: step.createdBy };
  if (!step.layer) entry.empty_layer = true;
  const out: ImageConfig = {
    ...prev,
    created,
    config: step.config,
    rootfs: { type: 'layers', diff_ids: [...(prev.rootfs?.diff_ids ?? []), ...(step.layer ? [step.layer.diffId] : [])] },
    history: [...(prev.history ?? []), entry],
  };
  if (step.author !== undefined) out.author = step.author;
  return out;
}

/** Stores the image a step produced (untagged; its parent is the previous step's image). */
export function storeImage(engine: Engine, prev: BuildImage, config: ImageConfig, layer: LayerRecord | undefined): BuildImage {
  const bytes = Buffer.from(JSON.stringify(config));
  const id = sha256Digest(bytes);
  const topLayer = layer ? layer.id : prev.topLayer;
  const size = prev.size + (layer?.size ?? 0);
  engine.images.put({ id, topLayer, config: bytes, size, created: Date.now(), parent: prev.id });
  return { id, topLayer, config, size };
}
