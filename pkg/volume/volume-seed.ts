// Docker's copy-up: a volume mounted for the first time over a directory of the image starts
// with that directory's content (`-v data:/etc` shows the image's /etc), owners and modes
// kept. Only once: a volume the user emptied stays empty (Podman's NeedsCopyUp).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { log } from '../log';
import { resolveInRoot } from '../runtime/container-user';
import { VolumeRecord } from './volume-store';

/** Beside `_data`, so the volume's content never shows it. */
function markerPath(vol: VolumeRecord): string {
  return path.join(path.dirname(vol.mountpoint), 'copied-up');
}

function isEmptyDir(dir: string): boolean {
  try {
    return fs.readdirSync(dir).length === 0;
  } catch {
    return false;
  }
}

/**
 * Copies `destination` of the mounted root filesystem into the volume when this is the
 * volume's first mount and it is empty. `cp -a` runs in tspod's user namespace, where the
 * image's owners are ids it may set.
 */
export function seedVolume(rootfs: string, destination: string, vol: VolumeRecord, opts: { nocopy?: boolean } = {}): void {
  const marker = markerPath(vol);
  if (fs.existsSync(marker)) return;
  if (!opts.nocopy && vol.options.nocopy === undefined && isEmptyDir(vol.mountpoint)) {
    let source: string | undefined;
    try {
      source = resolveInRoot(rootfs, destination);
    } catch {
      source = undefined;
    }
    if (source && fs.statSync(source, { throwIfNoEntry: false })?.isDirectory()) {
      try {
        execFileSync('cp', ['-a', '--', `${source}/.`, `${vol.mountpoint}/`], { stdio: ['ignore', 'ignore', 'pipe'] });
      } catch (err) {
        const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
        log.warn(`copying ${destination} of the image into volume ${vol.name}: ${stderr || (err as Error).message}`);
      }
    }
  }
  fs.writeFileSync(marker, '');
}

/** inspect's NeedsCopyUp: the volume has not been mounted yet. */
export function needsCopyUp(vol: VolumeRecord): boolean {
  return !fs.existsSync(markerPath(vol));
}
