// `cp` / `container cp`: copies between a container and the host, either way, `-` meaning a
// tar stream on stdin or stdout. The work is in pkg/container/container-copy.ts.
import { pipeline } from 'node:stream/promises';
import { Command, Option } from 'clipanion';
import { InvalidArgumentError } from '../../pkg/errors';
import { TspodCommand } from './tspod-command';

interface CopySide {
  container?: string;
  path: string;
}

/** Docker's splitCpArg: `NAME:PATH` unless the text is an absolute or relative-looking local path. */
export function parseCopySide(arg: string): CopySide {
  if (arg.startsWith('/') || arg.startsWith('.')) return { path: arg };
  const colon = arg.indexOf(':');
  if (colon <= 0) return { path: arg };
  const name = arg.slice(0, colon);
  if (name.includes('/')) return { path: arg };
  return { container: name, path: arg.slice(colon + 1) || '/' };
}

export class CpCommand extends TspodCommand {
  static override paths = [['cp'], ['container', 'cp']];
  static override usage = Command.Usage({
    description: 'Copy files between a container and the local filesystem',
    details:
      'SRC or DEST is `CONTAINER:PATH` (the container may be running or stopped). A directory copied onto an existing directory goes inside it; `SRC/.` copies its contents. `-` reads a tar from stdin (DEST must be a directory) or writes one to stdout. Files copied into a container belong to its root user unless -a keeps the source owners; files copied out belong to you.',
    examples: [
      ['Copy a file out of a container', 'tspod cp web:/etc/nginx/nginx.conf ./nginx.conf'],
      ['Copy a directory into a container', 'tspod cp ./site web:/usr/share/html'],
      ['Copy the contents of a directory', 'tspod cp ./site/. web:/usr/share/html'],
      ['List a container directory as a tar', 'tspod cp web:/etc - | tar -t'],
      ['Unpack a tar stream into a container', 'tar -c . | tspod cp - web:/dst'],
    ],
  });

  archive = Option.Boolean('-a,--archive', false, { description: 'Keep uid/gid of the source files' });
  followLink = Option.Boolean('-L,--follow-link', false, { description: 'Follow a symbolic link given as SRC' });
  quiet = Option.Boolean('-q,--quiet', false, { description: 'Accepted for Docker compatibility' });
  overwrite = Option.Boolean('--overwrite', false, { description: 'Accepted for Podman compatibility' });
  src = Option.String({ name: 'SRC' });
  dst = Option.String({ name: 'DEST' });

  async run(): Promise<number> {
    const src = parseCopySide(this.src);
    const dst = parseCopySide(this.dst);
    if (src.container && dst.container) throw new InvalidArgumentError('copying between containers is not supported');
    if (!src.container && !dst.container) throw new InvalidArgumentError('must specify at least one container source');
    const copy = await import('../../pkg/container/container-copy');
    const { Engine } = await import('../../pkg/engine/engine');
    const engine = new Engine(this.config());
    const opts = { archive: this.archive, followLink: this.followLink };
    try {
      if (src.container) {
        if (dst.path === '-') {
          const { stream, done } = await copy.copyFromContainerStream(engine, src.container, src.path, opts);
          await pipeline(stream, process.stdout);
          await done;
        } else {
          await copy.copyFromContainer(engine, src.container, src.path, dst.path, opts);
        }
      } else {
        await copy.copyToContainer(engine, dst.container as string, src.path, dst.path, opts);
      }
    } finally {
      engine.close();
    }
    return 0;
  }
}
