// Choosing the storage driver: kernel overlay, then fuse-overlayfs, then vfs, unless one is
// asked for (--storage-driver, storage.conf). Kernel overlay is judged by really mounting a
// small overlay with a whiteout and an opaque dir, which costs ~10 ms, so the verdict is kept in
// <graphRoot>/driver-probe.json per kernel release; fuse-overlayfs's checks are cheap and rerun.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HostError, InvalidArgumentError, errorMessage } from '../errors';
import { findExecutable } from '../host/executables';
import { FuseOverlayDriver } from './fuse-overlay-driver';
import { DRIVER_NAMES, DriverName, GraphDriver } from './graph-driver';
import { mountHelperPath, runMountHelper, unmountAll } from './mounts';
import { OverlayDriver, planOverlayMount } from './overlay-driver';
import { VfsDriver } from './vfs-driver';

export interface DriverOptions {
  /** storage.conf's mount_program: the fuse-overlayfs binary to run */
  mountProgram?: string;
  /** accepted so callers can hand over the config's paths; no driver keeps state there */
  runRoot?: string;
}

export function getDriver(name: DriverName, opts: DriverOptions = {}): GraphDriver {
  if (name === 'overlay') return new OverlayDriver();
  const program = opts.mountProgram ?? 'fuse-overlayfs';
  if (name === 'fuse-overlayfs') return new FuseOverlayDriver(findExecutable(program) ?? program);
  return new VfsDriver();
}

/**
 * The driver a user asked for, or undefined for "pick one". Docker's "overlay2" is an alias, and
 * overlay with a mount_program means fuse-overlayfs, as in Podman (also when no driver is named,
 * since Podman's default is overlay).
 */
export function requestedDriver(requested: string | undefined, mountProgram?: string): DriverName | undefined {
  const name = requested?.trim() || undefined;
  if (name === undefined) return mountProgram ? 'fuse-overlayfs' : undefined;
  if (name === 'overlay' || name === 'overlay2') return mountProgram ? 'fuse-overlayfs' : 'overlay';
  if ((DRIVER_NAMES as readonly string[]).includes(name)) return name as DriverName;
  throw new InvalidArgumentError(`unknown storage driver "${name}": valid drivers are ${DRIVER_NAMES.join(', ')}`);
}

export interface OverlayVerdict {
  works: boolean;
  reason?: string;
}

export interface ProbeCache {
  kernel: string;
  overlay: OverlayVerdict;
  probedAt: string;
}

export const PROBE_CACHE_FILE = 'driver-probe.json';

/** A verdict counts only for the kernel it was made on: an upgrade may fix or break overlay. */
export function cachedVerdict(cache: unknown, kernel: string): OverlayVerdict | undefined {
  if (typeof cache !== 'object' || cache === null) return undefined;
  const { kernel: cachedKernel, overlay } = cache as Partial<ProbeCache>;
  if (cachedKernel !== kernel || typeof overlay !== 'object' || overlay === null) return undefined;
  if (typeof overlay.works !== 'boolean') return undefined;
  return overlay.works ? { works: true } : { works: false, reason: String(overlay.reason ?? 'unknown') };
}

export function makeProbeCache(kernel: string, overlay: OverlayVerdict, now = new Date()): ProbeCache {
  return { kernel, overlay, probedAt: now.toISOString() };
}

function readProbeCache(graphRoot: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(path.join(graphRoot, PROBE_CACHE_FILE), 'utf8'));
  } catch {
    return undefined;
  }
}

/** Written aside and renamed: concurrent tspod commands may probe at once. */
function writeProbeCache(graphRoot: string, cache: ProbeCache): void {
  const file = path.join(graphRoot, PROBE_CACHE_FILE);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(cache, null, 2)}\n`, { mode: 0o644 });
  fs.renameSync(tmp, file);
}

/**
 * Two lowers laid out as the layer store will; the helper's probe-overlay adds the whiteout
 * (lower2/dir/gone) and the opaque mark (lower2/opq), mounts, checks the merged view (dir/kept
 * and opq/shown visible, dir/gone and opq/hidden not, a write lands in upper) and unmounts,
 * in one process: four helper runs cost a new store ~40 ms, the first pull after a reset too.
 */
function buildProbeLayers(dir: string): void {
  // synchronous: a dozen tiny calls, each of which would otherwise wait its turn on this
  // thread (a pull probes while its registry requests are in flight)
  for (const sub of ['lower1/dir', 'lower1/opq', 'lower2/dir', 'lower2/opq', 'upper', 'work', 'merged']) {
    fs.mkdirSync(path.join(dir, sub), { recursive: true });
  }
  fs.writeFileSync(path.join(dir, 'lower1/dir/gone'), 'deleted in lower2\n');
  fs.writeFileSync(path.join(dir, 'lower1/dir/kept'), 'kept\n');
  fs.writeFileSync(path.join(dir, 'lower1/opq/hidden'), 'hidden by the opaque dir\n');
  fs.writeFileSync(path.join(dir, 'lower2/opq/shown'), 'shown\n');
}

const PROBE_DIR_PREFIX = '.driver-probe-';

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A probe killed midway leaves its dir (maybe still mounted); a live one's dir is not ours to touch. */
async function removeStaleProbeDirs(graphRoot: string): Promise<void> {
  for (const name of fs.readdirSync(graphRoot)) {
    const pid = name.startsWith(PROBE_DIR_PREFIX) ? Number(name.slice(PROBE_DIR_PREFIX.length).split('-')[0]) : NaN;
    if (!Number.isInteger(pid) || processAlive(pid)) continue;
    await unmountAll(path.join(graphRoot, name, 'merged')).catch(() => undefined);
    await fs.promises.rm(path.join(graphRoot, name), { recursive: true, force: true });
  }
}

async function probeKernelOverlay(graphRoot: string): Promise<OverlayVerdict> {
  fs.mkdirSync(graphRoot, { recursive: true, mode: 0o700 });
  await removeStaleProbeDirs(graphRoot);
  const dir = fs.mkdtempSync(path.join(graphRoot, `${PROBE_DIR_PREFIX}${process.pid}-`));
  try {
    buildProbeLayers(dir);
    // the options the overlay driver mounts with (few lowers: no short links)
    const data = planOverlayMount([path.join(dir, 'lower2'), path.join(dir, 'lower1')], path.join(dir, 'upper'), path.join(dir, 'work')).data;
    await runMountHelper(['probe-overlay', dir, data], 'cannot mount kernel overlay');
    return { works: true };
  } catch (err) {
    // a helper killed between its mount and its unmount leaves the mount
    await unmountAll(path.join(dir, 'merged')).catch(() => undefined);
    // "kernel overlay misbehaves: ..." from the helper's checks, or the syscall that failed
    return { works: false, reason: errorMessage(err).replace(/^cannot mount kernel overlay: (kernel overlay misbehaves)/, '$1') };
  } finally {
    await fs.promises.rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

async function overlayVerdict(graphRoot: string): Promise<OverlayVerdict> {
  const kernel = os.release();
  const cached = cachedVerdict(readProbeCache(graphRoot), kernel);
  if (cached) return cached;
  const verdict = await probeKernelOverlay(graphRoot);
  writeProbeCache(graphRoot, makeProbeCache(kernel, verdict));
  return verdict;
}

/** Why fuse-overlayfs cannot work here, or undefined when it can. */
export function fuseProblem(mountProgram?: string): string | undefined {
  const program = mountProgram ?? 'fuse-overlayfs';
  if (!findExecutable(program)) {
    if (mountProgram) return `mount_program ${mountProgram} is not an executable`;
    return 'fuse-overlayfs is not installed (install the fuse-overlayfs package)';
  }
  return devFuseProblem();
}

function devFuseProblem(): string | undefined {
  try {
    fs.closeSync(fs.openSync('/dev/fuse', 'r+'));
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return '/dev/fuse does not exist (load the fuse module, or pass /dev/fuse into this container)';
    const mode = fs.statSync('/dev/fuse', { throwIfNoEntry: false })?.mode;
    const shown = mode === undefined ? '' : ` (mode 0${(mode & 0o777).toString(8)})`;
    return `/dev/fuse is not accessible${shown}: make it 0666 as distributions ship it`;
  }
}

export interface ProbeOptions {
  /** the probe mounts under graphRoot: the layers' filesystem is the one that must work */
  graphRoot: string;
  /** accepted so callers can hand over the config's paths; unused */
  runRoot?: string;
  /** --storage-driver or storage.conf's driver */
  requested?: string;
  mountProgram?: string;
}

export interface ProbeResult {
  name: DriverName;
  /** why better drivers were passed over, for `tspod info` and debug logs */
  reason?: string;
}

function requireHelper(): void {
  if (!fs.existsSync(mountHelperPath())) {
    throw new HostError(`${mountHelperPath()} is missing: build it with "npm run build:native"`);
  }
}

async function checkRequested(name: DriverName, opts: ProbeOptions): Promise<ProbeResult> {
  let problem: string | undefined;
  if (name === 'overlay') {
    const verdict = await overlayVerdict(opts.graphRoot);
    problem = verdict.works ? undefined : `${verdict.reason} (verdict cached in ${path.join(opts.graphRoot, PROBE_CACHE_FILE)})`;
  } else if (name === 'fuse-overlayfs') {
    problem = fuseProblem(opts.mountProgram);
  }
  if (problem) throw new HostError(`storage driver "${name}": ${problem}`);
  return { name };
}

export async function probeDriver(opts: ProbeOptions): Promise<ProbeResult> {
  const requested = requestedDriver(opts.requested, opts.mountProgram);
  requireHelper();
  if (requested) return checkRequested(requested, opts);
  const overlay = await overlayVerdict(opts.graphRoot);
  if (overlay.works) return { name: 'overlay' };
  const fuse = fuseProblem(opts.mountProgram);
  if (!fuse) return { name: 'fuse-overlayfs', reason: `overlay: ${overlay.reason}` };
  return { name: 'vfs', reason: `overlay: ${overlay.reason}; fuse-overlayfs: ${fuse}` };
}
