// The build context: a directory, or a tar (plain or compressed) / a lone Dockerfile read
// from stdin (`tspod build - < ctx.tar`), plus the Dockerfile (`-f path`, `-f -` from stdin,
// default Containerfile or Dockerfile in the context) and the ignore rules that apply.

import { createReadStream, createWriteStream, existsSync, promises as fsp, readFileSync, realpathSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidArgumentError, NotFoundError, errorMessage } from '../errors';
import { ScratchDir, makeScratchDir } from '../storage/scratch-dir';
import { applyTar, decompressStream, sniffCompression } from '../storage/layer-extract';
import { IgnoreMatcher, loadDockerignore } from './dockerignore';

export interface BuildContext {
  /** The context directory (a private temporary one for a context read from stdin). */
  dir: string;
  dockerfileText: string;
  /** Absolute path of the Dockerfile ('-' when it came from stdin). */
  dockerfilePath: string;
  /** How errors name the Dockerfile: its path relative to the context, or as given with -f. */
  dockerfileName: string;
  ignore: IgnoreMatcher;
  close(): Promise<void>;
}

export interface ContextOptions {
  /** Where stdin is read from (tests pass their own stream). */
  stdin?: Readable;
  /** Parent of the temporary directory a stdin context is unpacked in (best: `<graphRoot>/tmp`); default a fresh directory in the system's temporary directory. */
  scratchBase?: string;
  /** Resolves a relative -f path (the caller's working directory). */
  cwd?: string;
}

const DEFAULT_DOCKERFILES = ['Containerfile', 'Dockerfile'];
const TAR_MAGIC_OFFSET = 257;

function readDockerfile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new InvalidArgumentError(`cannot read Dockerfile ${path}: ${errorMessage(err)}`);
  }
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

/** The Dockerfile of a context: -f (relative to the working directory, then to the context) or the default names. */
function locateDockerfile(dir: string, dockerfile: string | undefined, cwd: string): { path: string; name: string } {
  if (dockerfile !== undefined) {
    const candidates = isAbsolute(dockerfile) ? [dockerfile] : [resolve(cwd, dockerfile), resolve(dir, dockerfile)];
    const found = candidates.find((c) => existsSync(c));
    if (!found) throw new NotFoundError(`Dockerfile ${dockerfile} not found (looked in ${[...new Set(candidates)].join(' and ')})`);
    if (statSync(found).isDirectory()) throw new InvalidArgumentError(`${dockerfile} is a directory: -f names the Dockerfile itself`);
    const rel = relative(dir, found);
    return { path: found, name: rel.startsWith('..') || isAbsolute(rel) ? dockerfile : rel };
  }
  for (const name of DEFAULT_DOCKERFILES) {
    const path = join(dir, name);
    if (existsSync(path)) return { path, name };
  }
  throw new NotFoundError(`no Dockerfile or Containerfile in ${dir}: add one or name it with -f`);
}

/** Unpacks a tar (plain, gzip or zstd) from stdin, or takes stdin as a lone Dockerfile. */
/**
 * A private directory for a stdin context: under `base` (where stale ones of dead processes
 * are cleaned up), else a fresh one in the system's temporary directory. Not a fixed name
 * there: every user is uid 0 in their own user namespace, so a name made from the uid would
 * be shared between users.
 */
async function contextScratch(base: string | undefined): Promise<ScratchDir> {
  if (base !== undefined) return makeScratchDir(base, 'context');
  const dir = await fsp.mkdtemp(join(tmpdir(), 'tspod-context-'));
  return { dir, remove: () => fsp.rm(dir, { recursive: true, force: true }) };
}

async function contextFromStdin(stdin: Readable, scratchBase: string | undefined): Promise<{ dir: string; dockerfileText?: string; remove(): Promise<void> }> {
  const scratch = await contextScratch(scratchBase);
  try {
    const spool = join(scratch.dir, 'stdin');
    await pipeline(stdin, createWriteStream(spool, { mode: 0o600 }));
    const head = Buffer.alloc(TAR_MAGIC_OFFSET + 8);
    const fd = await fsp.open(spool, 'r');
    const { bytesRead } = await fd.read(head, 0, head.length, 0).finally(() => fd.close());
    const compression = sniffCompression(head.subarray(0, bytesRead));
    const isTar = head.subarray(TAR_MAGIC_OFFSET, TAR_MAGIC_OFFSET + 5).toString('latin1') === 'ustar';
    const dir = join(scratch.dir, 'context');
    await fsp.mkdir(dir, { mode: 0o755 });
    if (compression === 'none' && !isTar) {
      // `docker build - < Dockerfile`: no context at all, just the Dockerfile.
      const text = await fsp.readFile(spool, 'utf8');
      await fsp.rm(spool);
      return { dir, dockerfileText: text, remove: scratch.remove };
    }
    if (compression === 'xz' || compression === 'bzip2') {
      throw new InvalidArgumentError(`a ${compression}-compressed context on stdin is not supported: send a plain or gzip-compressed tar`);
    }
    const ignoreWhiteouts = { applyWhiteout: async () => undefined, applyOpaque: async () => undefined };
    await applyTar(decompressStream(createReadStream(spool)), dir, ignoreWhiteouts, { ignoreChownErrors: true });
    await fsp.rm(spool);
    return { dir, remove: scratch.remove };
  } catch (err) {
    await scratch.remove();
    if (err instanceof InvalidArgumentError) throw err;
    throw new InvalidArgumentError(`cannot read the build context from stdin: ${errorMessage(err)}`);
  }
}

/**
 * Opens a build context. `source` is a directory or '-' (a tar or a Dockerfile on stdin);
 * `dockerfile` is the -f value: a path, '-' (stdin; the context must then be a directory)
 * or undefined for the default Containerfile/Dockerfile.
 */
export async function openBuildContext(source: string, dockerfile?: string, options: ContextOptions = {}): Promise<BuildContext> {
  const stdin = options.stdin ?? process.stdin;
  const cwd = options.cwd ?? process.cwd();
  if (/^(https?|git):\/\/|^git@/.test(source)) {
    throw new InvalidArgumentError(`remote build contexts are not supported (${source}): clone or download it and build from the directory`);
  }
  if (source === '-') {
    if (dockerfile === '-') throw new InvalidArgumentError('the context and the Dockerfile cannot both come from stdin');
    const unpacked = await contextFromStdin(stdin, options.scratchBase);
    try {
      let text = unpacked.dockerfileText;
      let path = '-';
      let name = 'Dockerfile';
      if (text === undefined) {
        const located = locateDockerfile(unpacked.dir, dockerfile === undefined ? undefined : join(unpacked.dir, dockerfile), unpacked.dir);
        text = readDockerfile(located.path);
        path = located.path;
        name = located.name;
      }
      return {
        dir: unpacked.dir,
        dockerfileText: text,
        dockerfilePath: path,
        dockerfileName: name,
        ignore: loadDockerignore(unpacked.dir, path === '-' ? join(unpacked.dir, 'Dockerfile') : path),
        close: unpacked.remove,
      };
    } catch (err) {
      await unpacked.remove();
      throw err;
    }
  }

  const abs = resolve(cwd, source);
  if (!existsSync(abs)) throw new NotFoundError(`build context ${source} not found: give an existing directory (or - for a tar on stdin)`);
  if (!statSync(abs).isDirectory()) throw new InvalidArgumentError(`build context ${source} is not a directory`);
  const dir = realpathSync(abs);
  if (dockerfile === '-') {
    const text = (await readAll(stdin)).toString('utf8');
    return { dir, dockerfileText: text, dockerfilePath: '-', dockerfileName: 'Dockerfile', ignore: loadDockerignore(dir, join(dir, 'Dockerfile')), close: async () => undefined };
  }
  const located = locateDockerfile(dir, dockerfile, cwd);
  return {
    dir,
    dockerfileText: readDockerfile(located.path),
    dockerfilePath: located.path,
    dockerfileName: located.name,
    ignore: loadDockerignore(dir, located.path),
    close: async () => undefined,
  };
}
