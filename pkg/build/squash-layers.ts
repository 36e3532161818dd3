// --squash and --layers=false: the layers a build added on top of its base become one layer.
// Each new layer's tar is applied in order to one scratch diff directory (whiteouts recorded
// the driver's way, so a later deletion of an earlier file leaves no trace of it), and that
// directory's tar is stored on the base. The history keeps one entry per step, all but the
// last marked empty, so entries and layers still line up.
import * as path from 'node:path';
import { Engine } from '../engine/engine';
import { ImageConfig } from '../image/manifest';
import { applyTar } from '../storage/layer-extract';
import { LayerRecord, removeTree } from '../storage/layer-store';
import { tarLayerDir } from '../storage/layer-tar';

/** The chain IDs from just above `base` up to `top`, bottom first. */
function newLayers(engine: Engine, base: string | null, top: string | null): string[] {
  const out: string[] = [];
  const get = engine.db.prepare('SELECT parent FROM layers WHERE id = ?');
  for (let id = top; id !== null && id !== base; ) {
    out.unshift(id);
    id = (get.get(id) as { parent: string | null } | undefined)?.parent ?? null;
  }
  return out;
}

/** One layer holding what the layers above `base` hold; undefined when there is nothing to squash. */
export async function squashLayers(engine: Engine, scratch: string, base: string | null, top: string | null): Promise<LayerRecord | undefined> {
  const chain = newLayers(engine, base, top);
  if (chain.length < 2) return undefined;
  const driver = await engine.driver();
  const layers = await engine.layers();
  const diff = path.join(scratch, 'squash', 'diff');
  await removeTree(path.dirname(diff));
  await driver.createLayerDir(diff, base !== null && driver.copiesParent ? layers.diffDir(base) : undefined);
  try {
    for (const id of chain) await applyTar(layers.tarLayer(id), diff, driver);
    const parentDir = driver.name === 'vfs' && base !== null ? layers.diffDir(base) : undefined;
    return await layers.putLayer({ parent: base ?? undefined, stream: tarLayerDir(diff, driver, { parentDir }) });
  } finally {
    await removeTree(path.dirname(diff));
  }
}

/** The config with the new layers replaced by the squashed one. */
export function squashedConfig(config: ImageConfig, baseLayers: number, baseHistory: number, layer: LayerRecord): ImageConfig {
  const history = (config.history ?? []).map((h, i) => (i < baseHistory ? h : { ...h, empty_layer: true }));
  if (history.length > baseHistory) delete history[history.length - 1].empty_layer;
  return { ...config, rootfs: { type: 'layers', diff_ids: [...config.rootfs.diff_ids.slice(0, baseLayers), layer.diffId] }, history };
}
