// Private temporary directories under the graph root (same filesystem as the layers, so
// renames work and a tmpfs run root does not have to hold whole layers). Each is named after
// its process; one whose process died is removed by the next caller.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pidAlive } from '../host/processes';

export interface ScratchDir {
  dir: string;
  remove(): Promise<void>;
}

/** Makes `<base>/<prefix>-<pid>-<hex>`, first removing dirs of the same prefix whose process is gone. */
export async function makeScratchDir(base: string, prefix: string): Promise<ScratchDir> {
  await fs.promises.mkdir(base, { recursive: true, mode: 0o700 });
  const stale = new RegExp(`^${prefix}-(\\d+)-`);
  for (const name of await fs.promises.readdir(base).catch(() => [] as string[])) {
    const m = stale.exec(name);
    if (m && Number(m[1]) !== process.pid && !pidAlive(Number(m[1]))) await fs.promises.rm(path.join(base, name), { recursive: true, force: true });
  }
  const dir = path.join(base, `${prefix}-${process.pid}-${crypto.randomBytes(6).toString('hex')}`);
  await fs.promises.mkdir(dir, { mode: 0o700 });
  return { dir, remove: () => fs.promises.rm(dir, { recursive: true, force: true }) };
}
