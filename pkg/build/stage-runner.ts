// One stage of a build: FROM (scratch, an image pulled per --pull, or an earlier stage), the
// base's ONBUILD triggers, then each instruction in order. ARG and ENV are tracked as Docker
// does: expansion sees ENV before ARG, RUN gets the ARGs in scope as environment (never
// written to the image), and an ARG without default takes the --build-arg value or the global
// ARG of the same name. Every step but ARG yields an image; a step whose key (parent image,
// instruction after expansion, args in use, sources) is in the cache is not run again.
import { InvalidArgumentError, TspodError } from '../errors';
import { hostPlatform, parsePlatform } from '../image/platform';
import { stepKey } from './build-cache';
import { BuildImage, baseImage, fromRecord, scratchImage, stepConfig, storeImage, nowRfc3339, StepResult } from './build-image';
import { BuildSession } from './build-session';
import { parseTrigger } from './dockerfile-parser';
import type { Instruction, Stage } from './dockerfile-types';
import { planCopy, planRun, planWorkdir, PlannedStep } from './file-steps';
import { applyConfigInstruction, flagValue, nopCreatedBy } from './instruction-config';
import { expandInstruction } from './variable-expansion';
import { sha256Digest } from '../image/digest';

const CONFIG_KEYWORDS = new Set(['ENV', 'LABEL', 'MAINTAINER', 'EXPOSE', 'VOLUME', 'USER', 'STOPSIGNAL', 'HEALTHCHECK', 'SHELL', 'CMD', 'ENTRYPOINT', 'ONBUILD']);

/** Automatic platform ARGs (BuildKit's and Podman's), available when declared. */
export function platformArgs(s: BuildSession): Map<string, string> {
  const t = s.req.platform;
  const b = hostPlatform();
  const fmt = (p: typeof t) => `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
  return new Map([
    ['TARGETPLATFORM', fmt(t)],
    ['TARGETOS', t.os],
    ['TARGETARCH', t.architecture],
    ['TARGETVARIANT', t.variant ?? ''],
    ['BUILDPLATFORM', fmt(b)],
    ['BUILDOS', b.os],
    ['BUILDARCH', b.architecture],
    ['BUILDVARIANT', b.variant ?? ''],
  ]);
}

function envMap(env: readonly string[] | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const kv of env ?? []) {
    const eq = kv.indexOf('=');
    if (eq > 0) out.set(kv.slice(0, eq), kv.slice(eq + 1));
  }
  return out;
}

/** An error of one step, naming the Dockerfile line, with the exit code of the cause. */
export function stepError(s: BuildSession, ins: Instruction, err: unknown): TspodError {
  const msg = err instanceof Error ? err.message : String(err);
  const code = err instanceof TspodError ? err.exitCode : 125;
  const file = s.dockerfile.path.split('/').pop() ?? 'Dockerfile';
  return new TspodError(`building at STEP "${ins.original.trim()}" (${file}:${ins.line}): ${msg}`, code);
}

export class StageRunner {
  image!: BuildImage;
  /** the stage's base (what --squash keeps) */
  base!: BuildImage;
  private readonly args = new Map<string, string>();
  private cmdSetInStage = false;
  private stepNo = 0;

  constructor(
    private readonly s: BuildSession,
    private readonly stage: Stage,
    /** global ARG values (defaults overridden by --build-arg) */
    private readonly globals: Map<string, string>,
    private readonly prefix: string,
    /** prints `--> id` after the last step too (every stage but the target) */
    private readonly announceLast: boolean,
  ) {}

  private readonly vars = (name: string): string | undefined => envMap(this.image.config.config?.Env).get(name) ?? this.args.get(name);

  private total(triggers: number): number {
    return 1 + triggers + this.stage.instructions.length;
  }

  async run(): Promise<BuildImage> {
    const escape = this.s.dockerfile.escape;
    const from = expandInstruction(this.stage.from, (n) => this.globals.get(n), escape);
    const triggers = await this.runFrom(from);
    const total = this.total(triggers.length);
    const steps = [...triggers, ...this.stage.instructions];
    for (const [i, ins] of steps.entries()) {
      this.s.aborted();
      this.s.req.output.step(this.prefix, i + 2, total, ins.original.trim());
      try {
        await this.step(ins);
      } catch (err) {
        throw stepError(this.s, ins, err);
      }
      if (i < steps.length - 1 || this.announceLast) this.announce();
    }
    if (steps.length === 0 && this.announceLast) this.announce();
    return this.image;
  }

  private announce(): void {
    const id = this.image.id ?? sha256Digest(Buffer.from(JSON.stringify(this.image.config)));
    this.s.req.output.stepDone(id);
  }

  /** FROM; returns the base's ONBUILD triggers, parsed. */
  private async runFrom(from: Instruction): Promise<Instruction[]> {
    const name = from.args[0] ?? '';
    const shown = from.original.trim().replace(/^FROM\s+/i, '');
    this.s.req.output.step(this.prefix, 1, this.total(0), `FROM ${shown}`);
    try {
      const stageIdx = this.s.stageIndex(name, this.stage.index);
      if (name.toLowerCase() === 'scratch') this.image = scratchImage(this.s.req.platform);
      else if (stageIdx !== undefined) this.image = this.s.stages.get(stageIdx) as BuildImage;
      else {
        const platform = flagValue(from, 'platform');
        this.image = baseImage(await this.s.image(name, undefined, platform ? parsePlatform(platform) : undefined));
      }
    } catch (err) {
      throw stepError(this.s, from, err);
    }
    this.base = this.image;
    const onbuild = this.image.config.config?.OnBuild ?? [];
    if (onbuild.length === 0) return [];
    // the triggers run now; the new image does not pass them on
    this.image = { ...this.image, config: { ...this.image.config, config: { ...this.image.config.config, OnBuild: null } } };
    return onbuild.map((text) => parseTrigger(text, this.s.dockerfile.path, from.line, this.s.dockerfile.escape));
  }

  private declareArg(ins: Instruction): void {
    for (const word of ins.args) {
      const eq = word.indexOf('=');
      const name = eq < 0 ? word : word.slice(0, eq);
      const fallback = eq < 0 ? (this.globals.get(name) ?? platformArgs(this.s).get(name)) : word.slice(eq + 1);
      const value = this.s.req.buildArgs.get(name) ?? fallback;
      if (value !== undefined) this.args.set(name, value);
      this.s.usedArgs.add(name);
    }
  }

  private async step(raw: Instruction): Promise<void> {
    const ins = expandInstruction(raw, this.vars, this.s.dockerfile.escape);
    if (ins.keyword === 'ARG') return this.declareArg(ins);
    if (CONFIG_KEYWORDS.has(ins.keyword)) return this.configStep(ins);
    const config = this.image.config.config ?? {};
    switch (ins.keyword) {
      case 'RUN':
        this.checkArchitecture();
        return this.fileStep(await planRun(this.s, ins, { image: this.image, stageIndex: this.stage.index, args: [...this.args], network: this.s.req.network }), config);
      case 'COPY':
      case 'ADD':
        return this.fileStep(await planCopy(this.s, ins, this.image, this.stage.index), config);
      case 'WORKDIR': {
        const next = applyConfigInstruction(config, ins, { cmdSetInStage: this.cmdSetInStage }).config;
        return this.fileStep(planWorkdir(this.s, this.image, next.WorkingDir as string), next);
      }
      default:
        throw new InvalidArgumentError(`unknown instruction ${ins.keyword}`);
    }
  }

  private checkArchitecture(): void {
    const want = this.image.config.architecture;
    const host = hostPlatform().architecture;
    if (want && want !== host) {
      throw new InvalidArgumentError(`cannot run a ${want} image on this ${host} host: RUN needs emulation (qemu-user-static with binfmt_misc), which is not set up; build for linux/${host} or drop the RUN steps`);
    }
  }

  private configStep(ins: Instruction): Promise<void> {
    const result = applyConfigInstruction(this.image.config.config ?? {}, ins, { cmdSetInStage: this.cmdSetInStage });
    if (ins.keyword === 'CMD') this.cmdSetInStage = true;
    return this.commitStep(['CONFIG', ins.keyword, ins.form, ins.args, ins.flags, ins.onbuild?.original ?? ''], async () => ({ config: result.config, createdBy: nopCreatedBy(ins), author: result.author }));
  }

  private fileStep(plan: PlannedStep, config: StepResult['config']): Promise<void> {
    return this.commitStep(plan.key, async () => ({ layer: await plan.execute(), config, createdBy: plan.createdBy }));
  }

  /** The step from the cache, or run and stored (and recorded in the cache). */
  private async commitStep(keyParts: unknown[], execute: () => Promise<StepResult>): Promise<void> {
    const { s } = this;
    const key = stepKey([this.image.id ?? `scratch:${this.image.config.architecture}`, ...keyParts]);
    if (s.useCache) {
      const hit = s.cache.lookup(this.image.id, key);
      if (hit) {
        s.req.output.usingCache(hit.id);
        this.image = fromRecord(hit);
        return;
      }
    }
    const result = await execute();
    const config = stepConfig(this.image.config, result, nowRfc3339());
    const parent = this.image;
    if (s.req.layers) {
      this.image = storeImage(s.engine, parent, config, result.layer);
      s.cache.record(parent.id, key, this.image.id as string);
    } else {
      this.image = { topLayer: result.layer?.id ?? parent.topLayer, config, size: parent.size + (result.layer?.size ?? 0) };
    }
  }
}
