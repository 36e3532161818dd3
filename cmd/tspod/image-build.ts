// `build` / `image build` / `buildx build`: an image from a Dockerfile and a context (a
// directory, or `-` for a tar on stdin). Flags are parsed and checked here; the work is
// pkg/build/build-executor.ts. Ctrl-C stops the running step, removes its working container
// and exits 130 without tagging anything.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, Option } from 'clipanion';
import { InvalidArgumentError } from '../../pkg/errors';
import { TspodCommand } from './tspod-command';

/** --build-arg NAME=VALUE, or NAME alone to take the value from the environment (Docker's rule). */
export function parseBuildArgs(list: readonly string[], env: NodeJS.ProcessEnv = process.env): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of list) {
    const eq = item.indexOf('=');
    if (eq === 0) throw new InvalidArgumentError(`invalid --build-arg "${item}": expected NAME=VALUE`);
    if (eq < 0) {
      if (env[item] !== undefined) out.set(item, env[item] as string);
    } else out.set(item.slice(0, eq), item.slice(eq + 1));
  }
  return out;
}

/** --label KEY=VALUE (a bare KEY is an empty label). */
export function parseLabels(list: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list) {
    const eq = item.indexOf('=');
    if (eq === 0) throw new InvalidArgumentError(`invalid --label "${item}": expected KEY=VALUE`);
    if (eq < 0) out[item] = '';
    else out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

/** --secret id=ID,src=FILE (also source=, and type=file; env= takes a variable's value). */
export function parseSecrets(list: readonly string[], env: NodeJS.ProcessEnv = process.env, tmpDir?: () => string): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of list) {
    const fields = new Map(item.split(',').map((f) => {
      const eq = f.indexOf('=');
      return eq < 0 ? [f, ''] : [f.slice(0, eq), f.slice(eq + 1)];
    }));
    const id = fields.get('id');
    const src = fields.get('src') ?? fields.get('source');
    const fromEnv = fields.get('env');
    if (!id) throw new InvalidArgumentError(`invalid --secret "${item}": id= is required (--secret id=NAME,src=FILE)`);
    if (src) {
      if (!fs.existsSync(src)) throw new InvalidArgumentError(`--secret ${id}: ${src}: no such file`);
      out.set(id, path.resolve(src));
    } else if (fromEnv !== undefined && tmpDir) {
      if (env[fromEnv] === undefined) throw new InvalidArgumentError(`--secret ${id}: environment variable ${fromEnv} is not set`);
      const file = path.join(tmpDir(), `secret-${id}`);
      fs.writeFileSync(file, env[fromEnv] as string, { mode: 0o600 });
      out.set(id, file);
    } else {
      throw new InvalidArgumentError(`invalid --secret "${item}": src=FILE or env=NAME is required`);
    }
  }
  return out;
}

export class BuildCommand extends TspodCommand {
  static override paths = [['build'], ['image', 'build'], ['buildx', 'build']];
  static override usage = Command.Usage({
    description: 'Build an image from a Dockerfile',
    details:
      'Runs each instruction of the Dockerfile (default CONTEXT/Dockerfile, or Containerfile) in order: RUN in a rootless container on the layers so far, COPY/ADD from the context (minus .dockerignore), config instructions into the image config. A step whose instruction, build args and sources are unchanged is taken from the cache. Multi-stage builds build only the stages the target needs. Names without a registry get `localhost/`. Progress goes to stdout, the image ID last; with -q only the ID. A failing RUN ends the build with its exit code; nothing is tagged.',
    examples: [
      ['Build the Dockerfile in the current directory', 'tspod build -t app .'],
      ['Another Dockerfile, a build argument and a target stage', 'tspod build -f docker/Dockerfile --build-arg VERSION=2 --target runtime -t app:2 .'],
      ['Build from a tar archive on stdin', 'tar -c . | tspod build -t app -'],
      ['Rebuild everything, pulling the base image again', 'tspod build --no-cache --pull -t app .'],
    ],
  });

  tags = Option.Array('-t,--tag', [], { description: 'Name for the image (repeatable)' });
  file = Option.String('-f,--file', { description: 'The Dockerfile (default CONTEXT/Dockerfile); - reads it from stdin' });
  buildArg = Option.Array('--build-arg', [], { description: 'Build argument NAME=VALUE (NAME alone: from the environment)' });
  target = Option.String('--target', { description: 'Build this stage (default the last)' });
  noCache = Option.Boolean('--no-cache', false, { description: 'Run every step, reusing nothing from the cache' });
  pull = Option.String('--pull', { tolerateBoolean: true, description: 'Pull the base images: always, missing (default), never, newer' });
  iidfile = Option.String('--iidfile', { description: 'Write the image ID to this file' });
  label = Option.Array('--label', [], { description: 'Set a label on the image (repeatable)' });
  format = Option.String('--format', 'oci', { description: 'Image format: oci (default) or docker' });
  quiet = Option.Boolean('-q,--quiet', false, { description: 'Print only the image ID' });
  squash = Option.Boolean('--squash', false, { description: 'Squash the layers this build adds into one' });
  layers = Option.String('--layers', { tolerateBoolean: true, description: 'Cache intermediate images (default true)' });
  platform = Option.String('--platform', { description: 'Target platform os/arch[/variant] (RUN needs the host architecture)' });
  network = Option.String('--network', { description: 'Network for RUN: default (outbound), none, host' });
  secret = Option.Array('--secret', [], { description: 'Secret for RUN --mount=type=secret: id=ID,src=FILE' });
  cacheFrom = Option.Array('--cache-from', [], { description: 'Accepted; the local cache is always used' });
  cacheTo = Option.Array('--cache-to', [], { description: 'Accepted; the cache stays local' });
  rm = Option.Boolean('--rm', true, { description: 'Remove working containers after each step (always)' });
  forceRm = Option.Boolean('--force-rm', false, { description: 'Remove working containers even after a failure (always)' });
  contextDir = Option.String({ name: "CONTEXT", required: false });

  private options() {
    if (this.format !== 'oci' && this.format !== 'docker') throw new InvalidArgumentError(`unrecognized image format "${this.format}": use oci or docker`);
    const network = this.network ?? 'default';
    const networks: Record<string, 'default' | 'none' | 'host'> = { default: 'default', bridge: 'default', private: 'default', slirp4netns: 'default', none: 'none', host: 'host' };
    if (!(network in networks)) throw new InvalidArgumentError(`invalid --network "${network}" for build: use default, none or host`);
    const layers = this.layers === undefined || this.layers === true || this.layers === 'true' ? true : this.layers === false || this.layers === 'false' ? false : undefined;
    if (layers === undefined) throw new InvalidArgumentError(`invalid --layers "${this.layers}": use true or false`);
    return { network: networks[network], layers, buildArgs: parseBuildArgs(this.buildArg), labels: parseLabels(this.label) };
  }

  async run(): Promise<number> {
    const opts = this.options();
    const { parsePullPolicy } = await import('../../pkg/container/container-create');
    const pull = parsePullPolicy(this.pull === true ? 'always' : this.pull === false ? 'never' : this.pull);
    const { hostPlatform, parsePlatform } = await import('../../pkg/image/platform');
    const platform = this.platform ? parsePlatform(this.platform) : hostPlatform();
    const { normalizeTagName } = await import('../../pkg/image/image-tag');
    const tags = this.tags.map(normalizeTagName);
    if (this.cacheFrom.length || this.cacheTo.length) process.stderr.write('WARN: --cache-from and --cache-to are accepted but tspod keeps its build cache locally\n');
    if (this.contextDir === '-' && this.file === '-') throw new InvalidArgumentError('the context and the Dockerfile cannot both come from stdin');
    const { openBuildContext } = await import('../../pkg/build/build-context');
    const { parseDockerfile } = await import('../../pkg/build/dockerfile-parser');
    const { BuildOutput } = await import('../../pkg/build/build-output');
    const { buildImage } = await import('../../pkg/build/build-executor');
    const ctx = await openBuildContext(this.contextDir ?? '.', this.file);
    const output = new BuildOutput(process.stdout, process.stderr, this.quiet);
    const abort = new AbortController();
    const onSignal = (): void => abort.abort();
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      const dockerfile = parseDockerfile(ctx.dockerfileText, ctx.dockerfilePath);
      return await this.withEngine(async (engine) => {
        const secrets = parseSecrets(this.secret, process.env, () => {
          const dir = path.join(engine.config.runRoot, 'build-secrets');
          fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
          return dir;
        });
        const result = await buildImage(engine, { context: ctx, tags, pull, platform, secrets, output, signal: abort.signal, noCache: this.noCache, squash: this.squash, target: this.target, format: this.format as 'oci' | 'docker', ...opts }, dockerfile);
        if (this.iidfile) fs.writeFileSync(this.iidfile, result.image.id);
        output.result(result.image.id);
        return 0;
      });
    } catch (err) {
      if (abort.signal.aborted) {
        process.stderr.write('Error: build interrupted\n');
        return 130;
      }
      throw err;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await ctx.close();
    }
  }
}
