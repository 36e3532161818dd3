// Mounting, unmounting and reading /proc/self/mountinfo for the storage drivers.
// Node cannot call mount(2), umount2(2), setxattr(2) or mknod(2), and koffi is not a dependency,
// so those go through native/build/tspod-mount-helper (native/mount-helper.c): one small process
// per call (about 1 ms), run by whoever already is root in tspod's user+mount namespace, or the
// same verbs run by the launcher's helper server where the command has one (helper-server.ts).
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HostError } from '../errors';
import { nativeBinary } from '../package-root';
import { runOnHelperServer } from './helper-server';

export interface MountInfoEntry {
  id: number;
  parentId: number;
  /** path inside the mounted filesystem that is mounted (not "/" for bind mounts) */
  root: string;
  mountPoint: string;
  mountOptions: string;
  fsType: string;
  source: string;
  superOptions: string;
}

/** mountinfo escapes space, tab, newline and backslash as three-digit octal (\040). */
export function unescapeMountInfo(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** One line of /proc/PID/mountinfo: the optional fields run until a lone "-". */
export function parseMountInfoLine(line: string): MountInfoEntry | undefined {
  const fields = line.split(' ');
  const dash = fields.indexOf('-', 6);
  if (fields.length < 10 || dash < 0 || fields.length < dash + 4) return undefined;
  return {
    id: Number(fields[0]),
    parentId: Number(fields[1]),
    root: unescapeMountInfo(fields[3]),
    mountPoint: unescapeMountInfo(fields[4]),
    mountOptions: fields[5],
    fsType: fields[dash + 1],
    source: unescapeMountInfo(fields[dash + 2]),
    superOptions: fields[dash + 3],
  };
}

export function parseMountInfo(text: string): MountInfoEntry[] {
  const entries: MountInfoEntry[] = [];
  for (const line of text.split('\n')) {
    const entry = line ? parseMountInfoLine(line) : undefined;
    if (entry) entries.push(entry);
  }
  return entries;
}

export function readMountInfo(): MountInfoEntry[] {
  return parseMountInfo(fs.readFileSync('/proc/self/mountinfo', 'utf8'));
}

/** mountinfo lists resolved paths, so a target under a symlinked home must be resolved too. */
function canonicalPath(target: string): string {
  try {
    return fs.realpathSync(target);
  } catch {
    return path.resolve(target);
  }
}

/** Mounts stacked at target, topmost last (mountinfo lists them in mount order). */
export function mountsAt(target: string, entries: MountInfoEntry[] = readMountInfo()): MountInfoEntry[] {
  const wanted = canonicalPath(target);
  return entries.filter((entry) => entry.mountPoint === wanted);
}

/** O_PATH (Linux): a descriptor that only names a path; Node has no constant for it. */
const O_PATH = 0o10000000;

/** The id of the mount P is on (the mnt_id of its fdinfo); undefined when that cannot be read. */
function mountIdOf(p: string): number | undefined {
  let fd: number;
  try {
    fd = fs.openSync(p, O_PATH);
  } catch {
    return undefined;
  }
  try {
    const info = fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
    const at = info.indexOf('mnt_id:');
    return at < 0 ? undefined : parseInt(info.slice(at + 'mnt_id:'.length), 10);
  } catch {
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Whether TARGET is a mount point, told by comparing its mount with its parent directory's: a
 * few system calls, where reading mountinfo costs ~0.5 ms (and more with many mounts). Undefined
 * when this cannot tell: a symlink (its parent is not the parent of where it leads), or a path
 * that cannot be examined (a FUSE mount whose daemon died, say).
 */
function differsFromParentMount(target: string): boolean | undefined {
  let st: fs.Stats | undefined;
  try {
    st = fs.lstatSync(target, { throwIfNoEntry: false });
  } catch {
    return undefined;
  }
  if (!st) return false;
  if (st.isSymbolicLink()) return undefined;
  const own = mountIdOf(target);
  const parent = own === undefined ? undefined : mountIdOf(path.dirname(path.resolve(target)));
  return own === undefined || parent === undefined || Number.isNaN(own) || Number.isNaN(parent) ? undefined : own !== parent;
}

export function isMountPoint(target: string, entries?: MountInfoEntry[]): boolean {
  if (!entries) {
    const differs = differsFromParentMount(target);
    if (differs !== undefined) return differs;
  }
  return mountsAt(target, entries).length > 0;
}

/** The helper sits beside the launcher in <pkgroot>/native/build. */
export function mountHelperPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.TSPOD_MOUNT_HELPER || nativeBinary('tspod-mount-helper');
}

export interface RunOptions {
  cwd?: string;
}

/** Runs a host program and turns its failure into one HostError line built from its stderr. */
export function runProgram(file: string, args: string[], what: string, opts: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd: opts.cwd, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (!err) return resolve(stdout);
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? `${file} not found` : stderr.trim().split('\n').pop() || err.message;
      reject(new HostError(`${what}: ${why}`));
    });
  });
}

export async function runMountHelper(args: string[], what: string, opts: RunOptions = {}): Promise<string> {
  // The launcher's helper server runs the same verbs without a spawn (helper-server.ts); an
  // explicit TSPOD_MOUNT_HELPER (tests) always gets its own program.
  const served = process.env.TSPOD_MOUNT_HELPER ? undefined : await runOnHelperServer(args, opts.cwd);
  if (served) {
    if (served.code === 0) return served.stdout;
    throw new HostError(`${what}: ${served.stderr.trim().split('\n').pop() || `the mount helper exited with status ${served.code}`}`);
  }
  const helper = mountHelperPath();
  if (!fs.existsSync(helper)) {
    throw new HostError(`${what}: ${helper} is missing: build it with "npm run build:native"`);
  }
  return runProgram(helper, args, what, opts);
}

export interface MountOptions {
  /** the helper chdirs here first, so `data` may name directories relative to it */
  cwd?: string;
  readonly?: boolean;
  /** the helper first makes a network namespace kept at this file (MountSpec.netns) */
  netns?: string;
}

export async function mountFilesystem(
  fsType: string,
  source: string,
  target: string,
  data: string,
  opts: MountOptions = {},
): Promise<void> {
  const args = ['mount', ...(opts.cwd ? ['-C', opts.cwd] : []), ...(opts.readonly ? ['-r'] : []), ...(opts.netns ? ['-n', opts.netns] : [])];
  await runMountHelper([...args, fsType, source, target, data], `cannot mount ${fsType} at ${target}`);
}

export async function bindMount(source: string, target: string, readonly = false): Promise<void> {
  const args = ['bind', ...(readonly ? ['-r'] : []), source, target];
  await runMountHelper(args, `cannot bind-mount ${source} at ${target}`);
}

/** How many mounts a stacked target may carry before we stop peeling them off. */
const MAX_STACKED_MOUNTS = 16;

/**
 * Unmounts everything stacked at target; busy mounts are detached lazily (MNT_DETACH) rather
 * than failing, as a lingering shell or container process must not block cleanup. Not mounted
 * is not an error: a crashed tspod may have left the caller unsure. Returns true when a lazy
 * detach was needed.
 */
export async function unmountAll(target: string): Promise<boolean> {
  let detached = false;
  for (let i = 0; i < MAX_STACKED_MOUNTS && isMountPoint(target); i++) {
    let out: string;
    try {
      out = await runMountHelper(['umount', canonicalPath(target)], `cannot unmount ${target}`);
    } catch (err) {
      // Another tspod process (a container's exit hook, say) may have unmounted it between our
      // check and our umount: that is the outcome we wanted.
      if (!isMountPoint(target)) break;
      throw err;
    }
    detached = detached || out.includes('detached');
  }
  return detached;
}

/** Mount points at or below dir, deepest first: a parent cannot go while a child is mounted. */
export function mountPointsUnder(dir: string, entries: MountInfoEntry[] = readMountInfo()): string[] {
  const root = canonicalPath(dir);
  const under = entries.map((entry) => entry.mountPoint).filter((p) => p === root || p.startsWith(`${root}/`));
  return [...new Set(under)].sort((a, b) => b.split('/').length - a.split('/').length || b.localeCompare(a));
}

/** Everything mounted under dir (container roots, image mounts), for reset and cleanup. */
export async function unmountAllUnder(dir: string): Promise<void> {
  for (const mountPoint of mountPointsUnder(dir)) await unmountAll(mountPoint);
}
