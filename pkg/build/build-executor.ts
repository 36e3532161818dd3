// `build`: the stages the target needs, in order, then the image: the target stage's result
// with --label applied and, for --squash / --layers=false, its new layers squashed into one;
// tagged with every -t name only once everything succeeded, so a failed build tags nothing.
import type { Engine } from '../engine/engine';
import { InvalidArgumentError } from '../errors';
import type { ImageRecord } from '../image/image-store';
import { MediaType } from '../image/manifest';
import { BuildImage, storeImage } from './build-image';
import { BuildRequest, BuildSession } from './build-session';
import type { Dockerfile, Instruction, Stage } from './dockerfile-types';
import { flagValue } from './instruction-config';
import { platformArgs, StageRunner } from './stage-runner';
import { expandInstruction, expandWord } from './variable-expansion';

export interface BuildResult {
  image: ImageRecord;
  names: string[];
}

/** Global ARGs: defaults overridden by --build-arg; the platform ARGs are always there. */
function globalArgs(s: BuildSession): Map<string, string> {
  const values = platformArgs(s);
  for (const raw of s.dockerfile.globalArgs) {
    const ins = expandInstruction(raw, (n) => values.get(n), s.dockerfile.escape);
    for (const word of ins.args) {
      const eq = word.indexOf('=');
      const name = eq < 0 ? word : word.slice(0, eq);
      const value = s.req.buildArgs.get(name) ?? (eq < 0 ? undefined : word.slice(eq + 1));
      if (value !== undefined) values.set(name, value);
      s.usedArgs.add(name);
    }
  }
  return values;
}

export function targetStage(df: Dockerfile, target: string | undefined): Stage {
  if (df.stages.length === 0) throw new InvalidArgumentError(`${df.path}: no FROM instruction: a Dockerfile must start with FROM`);
  if (target === undefined) return df.stages[df.stages.length - 1];
  const found = df.stages.find((st) => st.name === target.toLowerCase());
  if (!found) throw new InvalidArgumentError(`target stage "${target}" could not be found in ${df.path}`);
  return found;
}

/** The stages `target` depends on (FROM, COPY --from, RUN --mount from=), itself included. */
export function neededStages(df: Dockerfile, target: Stage, globals: Map<string, string>): Stage[] {
  const byRef = (ref: string, before: number): Stage | undefined => {
    const word = expandWord(ref, (n) => globals.get(n), df.escape).toLowerCase();
    return df.stages.find((st) => st.index < before && (st.name === word || String(st.index) === word));
  };
  const refs = (st: Stage): string[] => {
    const out = [st.from.args[0] ?? ''];
    const visit = (ins: Instruction): void => {
      const from = flagValue(ins, 'from');
      if (from !== undefined) out.push(from);
      for (const f of ins.flags) {
        const m = f.name.replace(/^--/, '') === 'mount' ? /(?:^|,)from=([^,]+)/.exec(f.value) : null;
        if (m) out.push(m[1]);
      }
    };
    st.instructions.forEach(visit);
    return out;
  };
  const needed = new Set<number>();
  const walk = (st: Stage): void => {
    if (needed.has(st.index)) return;
    needed.add(st.index);
    for (const ref of refs(st)) {
      const dep = byRef(ref, st.index);
      if (dep) walk(dep);
    }
  };
  walk(target);
  return df.stages.filter((st) => needed.has(st.index));
}

/** --label, --squash, --layers=false on the target's result; unchanged when none applies. */
async function finalImage(s: BuildSession, runner: StageRunner): Promise<BuildImage> {
  let image = runner.image;
  const labels = Object.keys(s.req.labels);
  const squash = s.req.squash || !s.req.layers;
  if (labels.length === 0 && !squash && image.id !== undefined) return image;
  let config = image.config;
  if (labels.length) config = { ...config, config: { ...config.config, Labels: { ...(config.config?.Labels ?? {}), ...s.req.labels } } };
  let top = image.topLayer;
  if (squash) {
    const { squashedConfig, squashLayers } = await import('./squash-layers');
    const layer = await squashLayers(s.engine, s.scratch(), runner.base.topLayer, image.topLayer);
    if (layer) {
      config = squashedConfig(config, runner.base.config.rootfs.diff_ids.length, runner.base.config.history?.length ?? 0, layer);
      top = layer.id;
      image = { ...image, size: runner.base.size + layer.size };
    }
  }
  const parent: BuildImage = { ...image, id: s.req.layers ? image.id : runner.base.id, topLayer: squash ? runner.base.topLayer : image.topLayer, size: squash ? runner.base.size : image.size };
  const layer = top !== parent.topLayer && top !== null ? (await s.engine.layers()).get(top) : undefined;
  return storeImage(s.engine, parent, config, layer);
}

/** --format: the manifest type push and inspect see (the manifest itself is written on push). */
function markFormat(engine: Engine, id: string, format: 'oci' | 'docker'): void {
  const image = engine.images.get(id) as ImageRecord;
  const manifestMediaType = format === 'docker' ? MediaType.DOCKER_MANIFEST : MediaType.OCI_MANIFEST;
  if (image.manifestMediaType === manifestMediaType || image.manifest !== null) return;
  engine.images.put({ id, topLayer: image.topLayer, config: image.config, size: image.size, created: image.created, manifestMediaType });
}

export async function buildImage(engine: Engine, req: BuildRequest, dockerfile: Dockerfile): Promise<BuildResult> {
  const s = new BuildSession(engine, req, dockerfile);
  try {
    const globals = globalArgs(s);
    const target = targetStage(dockerfile, req.target);
    const stages = neededStages(dockerfile, target, globals);
    let runner: StageRunner | undefined;
    for (const [i, stage] of stages.entries()) {
      const prefix = stages.length > 1 ? `[${i + 1}/${stages.length}] ` : '';
      runner = new StageRunner(s, stage, globals, prefix, stage !== target);
      s.stages.set(stage.index, await runner.run());
    }
    const built = await finalImage(s, runner as StageRunner);
    markFormat(engine, built.id as string, req.format);
    const names = req.tags;
    req.output.commit(names[0] ?? '');
    for (const name of names) engine.images.tag(built.id as string, name);
    req.output.stepDone(built.id as string);
    for (const name of names) req.output.tagged(name);
    const unused = [...req.buildArgs.keys()].filter((k) => !s.usedArgs.has(k));
    if (unused.length) req.output.warn(`one or more build-args [${unused.join(' ')}] were not consumed`);
    return { image: engine.images.get(built.id as string) as ImageRecord, names };
  } finally {
    await s.close();
  }
}
