// The directory every layer dir of a store sits in (<graphRoot>/<driver dir>), created on
// first use and marked a "top directory" (chattr +T, FS_TOPDIR_FL).
//
// Why: without that flag ext4 places a new directory in its parent's block group, so every
// layer lands in the same few groups, and those hold the inodes of the layers removed last
// (`rmi`, `system reset`, a failed pull). On ext4 without a journal (this machine's root
// filesystem) allocating an inode skips every inode freed in the last minutes, checking each
// one in the inode table: right after a store of 10k files was removed, creating a file took
// ~200 us instead of ~10 and extracting debian:bookworm spent 2 s in the kernel (0.2 s with
// the flag). A top directory's subdirectories are spread over block groups by ext4's Orlov
// allocator, as directories in / are: each layer starts in a group of its own. Filesystems
// without the flag ignore it or refuse it; either is fine.
import * as fs from 'node:fs';
import { errorMessage } from '../errors';
import { log } from '../log';
import { runMountHelper } from './mounts';

/** Creates the layer home when missing and marks it a top directory (best effort). */
export async function createLayerHome(home: string): Promise<void> {
  if (fs.existsSync(home)) return;
  fs.mkdirSync(home, { recursive: true, mode: 0o700 });
  try {
    await runMountHelper(['topdir', home], `cannot mark ${home} a top directory`);
  } catch (err) {
    log.debug(errorMessage(err));
  }
}
