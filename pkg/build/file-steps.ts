// The steps that change files: RUN, COPY, ADD and WORKDIR (when its directory is missing).
// Each runs in a fresh working container on the stage's image so far and commits the
// writable layer's changes as one new layer. Each returns its cache key parts first (cheap:
// hashing, no container), then does the work only if the cache has no result.
import * as path from 'node:path';
import * as fs from 'node:fs';
import { InvalidArgumentError, TspodError } from '../errors';
import { resolveInRoot } from '../runtime/container-user';
import { stepKey } from './build-cache';
import { BuildImage } from './build-image';
import { BuildSession } from './build-session';
import { resolveIn, rootSources, SourceRoot, topLevelCount } from './copy-sources';
import { hashSources, SourceFile } from './source-hash';
import type { CopyOptions } from './copy-step';
import type { Heredoc, Instruction } from './dockerfile-types';
import { parseRunMount } from './dockerfile-mounts';
import { commandArgs, flagValue, flagValues } from './instruction-config';
import type { BuildNetwork } from './run-step';
import type { WorkingContainer } from './working-container';
import type { LayerRecord } from '../storage/layer-store';

/** A file step, planned: what decides its result, and the work itself. */
export interface PlannedStep {
  key: unknown[];
  createdBy: string;
  execute(): Promise<LayerRecord | undefined>;
}

/** The RUN failed: its exit code becomes tspod's, as with Podman. */
export class RunFailedError extends TspodError {}

/** Runs `work` in a working container on `image` and commits its changes (or none: undefined). */
async function inWorkingContainer(s: BuildSession, image: BuildImage, work: (wc: WorkingContainer) => Promise<boolean>): Promise<LayerRecord | undefined> {
  const { WorkingContainer } = await import('./working-container');
  const wc = await WorkingContainer.create(s.engine, image.topLayer);
  try {
    const changed = await work(wc);
    return changed ? await wc.commit() : undefined;
  } finally {
    await wc.dispose();
  }
}

function heredocFor(ins: Instruction, word: string): Heredoc | undefined {
  const m = /^<<-?(["']?)([A-Za-z0-9_.-]+)\1$/.exec(word);
  return m ? ins.heredocs.find((h) => h.name === m[2]) : undefined;
}

/** RUN's command: a lone `<<EOF` runs the document as the script; otherwise the shell reads the documents itself. */
function runCommand(ins: Instruction, shell: string[] | undefined): string[] {
  if (ins.form === 'exec' || ins.heredocs.length === 0) return commandArgs(ins, shell);
  const text = ins.args.join(' ');
  const only = heredocFor(ins, text.trim());
  if (only) return [...commandArgs({ ...ins, args: [''] }, shell).slice(0, -1), only.content];
  const bodies = ins.heredocs.map((h) => `${h.content}${h.name}\n`).join('');
  return commandArgs({ ...ins, args: [`${text}\n${bodies}`] }, shell);
}

export interface RunContext {
  image: BuildImage;
  stageIndex: number;
  /** build args in scope, for the environment and history */
  args: [string, string][];
  network: BuildNetwork;
}

export async function planRun(s: BuildSession, ins: Instruction, ctx: RunContext): Promise<PlannedStep> {
  const config = ctx.image.config.config ?? {};
  const argv = runCommand(ins, config.Shell ?? undefined);
  const network = (flagValue(ins, 'network') as BuildNetwork | undefined) ?? ctx.network;
  const mountSpecs = flagValues(ins, 'mount').map((v) => parseRunMount(v));
  const env = [...(config.Env ?? [])];
  const envNames = new Set(env.map((kv) => kv.split('=')[0]));
  for (const [k, v] of ctx.args) if (!envNames.has(k)) env.push(`${k}=${v}`);
  const mountKey: unknown[] = [];
  for (const m of mountSpecs) if (m.type === 'bind') mountKey.push(await s.treeKey(m.from, ctx.stageIndex));
  const prefix = ctx.args.length ? `|${ctx.args.length} ${ctx.args.map(([k, v]) => `${k}=${v}`).join(' ')} ` : '';
  return {
    key: ['RUN', argv, ctx.args, flagValues(ins, 'mount'), mountKey, network],
    createdBy: `${prefix}${argv.join(' ')}`,
    execute: () =>
      inWorkingContainer(s, ctx.image, async (wc) => {
        const { resolveRunMounts } = await import('./run-mounts');
        const { runStep } = await import('./run-step');
        const { makeWorkdir } = await import('./copy-step');
        const resolved = await resolveRunMounts(mountSpecs, {
          tree: (from) => s.tree(from, ctx.stageIndex),
          scratch: () => s.scratch(),
          secrets: s.req.secrets,
          graphRoot: s.engine.config.graphRoot,
        });
        if (config.WorkingDir) makeWorkdir(wc.rootfs, config.WorkingDir, config.User || undefined);
        const streams = s.req.output.runStreams();
        const code = await runStep(
          s.engine,
          wc,
          { args: argv, env: [...env, ...resolved.env], cwd: config.WorkingDir || '/', user: config.User, network, mounts: resolved.mounts, ...streams },
          s.req.signal,
        );
        if (s.req.signal?.aborted) throw new TspodError('build interrupted', 130);
        if (code !== 0) {
          s.req.output.showCaptured();
          throw new RunFailedError(`while running runtime: exit status ${code}`, code);
        }
        return true;
      }),
  };
}

interface CopySource {
  kind: 'files' | 'url' | 'heredoc';
  files?: SourceFile[];
  url?: string;
  checksum?: string;
  heredoc?: Heredoc;
}

/** COPY/ADD: the sources resolved and hashed up front, copied when the cache misses. */
export async function planCopy(s: BuildSession, ins: Instruction, image: BuildImage, stageIndex: number): Promise<PlannedStep> {
  const what = ins.keyword;
  if (ins.args.length < 2) throw new InvalidArgumentError(`${what} requires at least two arguments, but only one was provided. Destination could not be determined`);
  const destWord = ins.args[ins.args.length - 1];
  const workdir = image.config.config?.WorkingDir || '/';
  const dest = path.posix.resolve(workdir, destWord);
  const from = flagValue(ins, 'from');
  const chownSpec = flagValue(ins, 'chown');
  const chmodSpec = flagValue(ins, 'chmod');
  const checksumSpec = flagValue(ins, 'checksum');
  const { parseChecksum } = await import('./add-sources');
  const { parseChmod } = await import('./copy-step');
  const chmod = chmodSpec !== undefined ? parseChmod(chmodSpec) : undefined;
  const checksum = checksumSpec !== undefined ? parseChecksum(checksumSpec) : undefined;
  const root: SourceRoot = await s.tree(from, stageIndex);
  const sources: CopySource[] = [];
  const key: unknown[] = [what, ins.args, ins.flags.filter((f) => f.name !== 'link'), from ? await s.treeKey(from, stageIndex) : 'context'];
  let count = 0;
  for (const word of ins.args.slice(0, -1)) {
    const heredoc = heredocFor(ins, word);
    if (heredoc) {
      sources.push({ kind: 'heredoc', heredoc });
      key.push(['heredoc', heredoc.content]);
      count++;
    } else if (what === 'ADD' && /^https?:\/\//i.test(word)) {
      sources.push({ kind: 'url', url: word, checksum });
      key.push(['url', word, checksum ?? '']);
      count++;
    } else {
      const files = resolveIn(root, word);
      sources.push({ kind: 'files', files });
      // context files become root's (or --chown's): their owners do not matter
      if (root.kind === 'context') key.push(hashSources(files, { includeOwnership: false }));
      count += topLevelCount(files);
    }
  }
  const first = sources[0];
  const kindWord = count > 1 ? 'multi' : first.kind === 'files' && first.files?.[0].type === 'directory' ? 'dir' : 'file';
  return {
    key,
    createdBy: `/bin/sh -c #(nop) ${what} ${kindWord}:${stepKey(key)} in ${destWord} `,
    execute: () =>
      inWorkingContainer(s, image, async (wc) => {
        const { resolveChown } = await import('./copy-step');
        const destHost = resolveInRoot(wc.rootfs, dest);
        const destIsDir = destWord.endsWith('/') || count > 1 || (fs.statSync(destHost, { throwIfNoEntry: false })?.isDirectory() ?? false);
        if (count > 1 && !destWord.endsWith('/') && !fs.existsSync(destHost)) {
          throw new InvalidArgumentError(`${what}: when using ${what} with more than one source file, the destination must be a directory and end with a /`);
        }
        const opts: CopyOptions = {
          rootfs: wc.rootfs,
          dest,
          destIsDir,
          chown: chownSpec ? resolveChown(wc.rootfs, chownSpec) : undefined,
          chmod,
          resetOwner: root.kind === 'context',
        };
        for (const src of sources) await copySource(s, what, src, opts);
        return true;
      }),
  };
}

async function copySource(s: BuildSession, what: string, src: CopySource, opts: CopyOptions): Promise<void> {
  const { copyFiles, writeHeredocFile } = await import('./copy-step');
  const { download, isArchive, unpackArchive } = await import('./add-sources');
  if (src.kind === 'heredoc' && src.heredoc) return writeHeredocFile(opts, src.heredoc.name, src.heredoc.content);
  if (src.kind === 'url' && src.url) {
    const dir = fs.mkdtempSync(path.join(s.scratch(), 'url-'));
    const file = await download(src.url, dir, src.checksum);
    return copyFiles(rootSources(dir, path.basename(file)), { ...opts, resetOwner: true });
  }
  const files = src.files ?? [];
  // ADD unpacks a local archive named directly (not one found inside a copied directory)
  if (what === 'ADD' && files.length === 1 && files[0].type === 'file' && isArchive(files[0].abs)) {
    const dir = fs.mkdtempSync(path.join(s.scratch(), 'unpack-'));
    await unpackArchive(files[0].abs, dir);
    return copyFiles(rootSources(dir, '.'), { ...opts, destIsDir: true, resetOwner: false });
  }
  copyFiles(files, opts);
}

/** WORKDIR: the directory is created (one layer) when the image lacks it. */
export function planWorkdir(s: BuildSession, image: BuildImage, dir: string): PlannedStep {
  return {
    key: ['WORKDIR', dir],
    createdBy: `/bin/sh -c #(nop) WORKDIR ${dir}`,
    execute: () =>
      inWorkingContainer(s, image, async (wc) => {
        const { makeWorkdir } = await import('./copy-step');
        if (fs.statSync(resolveInRoot(wc.rootfs, dir), { throwIfNoEntry: false })?.isDirectory()) return false;
        makeWorkdir(wc.rootfs, dir, image.config.config?.User || undefined);
        return true;
      }),
  };
}
