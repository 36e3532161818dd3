// The three storage drivers against the real kernel, as the unprivileged test user inside
// tspod's user namespace, and as real root. This file is two things:
//   - the node:test suite, run by root: it starts the file again through the installed
//     launcher (`tspod unshare node <this file> --in-namespace DRIVER DIR`), then checks from
//     outside what only root on the host can see (on-disk owners are subordinate uids);
//   - the in-namespace body (with --in-namespace), which builds layers the way the layer store
//     will, mounts them, looks at the merged view and prints a JSON report.
// Root's copy of this file may live where the test user cannot read, so both runs use the
// harness's installed package (testEnv.installDir).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DriverName, GraphDriver, MountSpec } from '../../pkg/storage/graph-driver';
import { getDriver, probeDriver } from '../../pkg/storage/driver-probe';
import { isMountPoint, readMountInfo } from '../../pkg/storage/mounts';
import { RunResult, asRoot, hasTestEnv, testEnv, tspod } from './harness';

const IN_NAMESPACE = '--in-namespace';
const MANY_LAYERS = 60;
const TIMED_ROUNDS = 10;

// ---------------------------------------------------------------- in-namespace body ----------

interface DriverReport {
  driver: DriverName;
  /** host paths root checks from outside */
  ownedByTester: string;
  ownedByRoot: string;
  upperFile: string;
  problems: string[];
  /** vfs copies the image into upper on the first mount */
  firstMountMs: number;
  mountMs: number;
  unmountMs: number;
  manyLayersMountMs?: number;
}

const layerId = (): string => randomBytes(32).toString('hex');

async function writeFileAs(file: string, content: string, uid: number): Promise<void> {
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  await fs.promises.writeFile(file, content);
  await fs.promises.chown(file, uid, uid);
}

/** What an image's first layer tar would unpack: files of root and of uid 1000, a hard link, a fifo. */
async function fillBaseLayer(dir: string): Promise<void> {
  await writeFileAs(path.join(dir, 'etc/owned-by-root'), 'root\n', 0);
  await writeFileAs(path.join(dir, 'home/tester/owned-by-tester'), 'tester\n', 1000);
  await fs.promises.chown(path.join(dir, 'home/tester'), 1000, 1000);
  await writeFileAs(path.join(dir, 'dir/gone'), 'deleted by layer 2\n', 0);
  await writeFileAs(path.join(dir, 'dir/kept'), 'kept\n', 0);
  await writeFileAs(path.join(dir, 'opq/hidden'), 'hidden by layer 2\n', 0);
  await writeFileAs(path.join(dir, 'opq/sub/hidden-too'), 'hidden by layer 2\n', 0);
  await fs.promises.link(path.join(dir, 'dir/kept'), path.join(dir, 'dir/kept-link'));
  await fs.promises.symlink('../etc/owned-by-root', path.join(dir, 'dir/symlink'));
  execFileSync('mkfifo', [path.join(dir, 'dir/fifo')]);
}

/** Three layers: base; a whiteout and an opaque dir (marker after this layer's own entry); a top file. */
async function buildLayers(driver: GraphDriver, home: string): Promise<string[]> {
  const [l1, l2, l3] = [layerId(), layerId(), layerId()].map((id) => path.join(home, id, 'diff'));
  await driver.createLayerDir(l1);
  await fillBaseLayer(l1);
  await driver.createLayerDir(l2, l1);
  await driver.applyWhiteout(l2, 'dir/gone');
  await writeFileAs(path.join(l2, 'opq/shown'), 'layer 2\n', 0);
  await driver.applyOpaque(l2, 'opq', new Set(['opq', 'opq/shown']));
  await driver.createLayerDir(l3, l2);
  await writeFileAs(path.join(l3, 'top'), 'layer 3\n', 0);
  return [l3, l2, l1];
}

function exists(file: string): boolean {
  return fs.existsSync(file) || fs.lstatSync(file, { throwIfNoEntry: false }) !== undefined;
}

/** Every expectation of the merged view; each failure is one line of the report. */
function checkMerged(target: string): string[] {
  const problems: string[] = [];
  const expect = (rel: string, present: boolean): void => {
    if (exists(path.join(target, rel)) !== present) problems.push(`${rel} ${present ? 'missing from' : 'present in'} the merged view`);
  };
  for (const rel of ['etc/owned-by-root', 'home/tester/owned-by-tester', 'dir/kept', 'dir/symlink', 'dir/fifo', 'opq/shown', 'top']) expect(rel, true);
  for (const rel of ['dir/gone', 'opq/hidden', 'opq/sub']) expect(rel, false);
  const owned = fs.statSync(path.join(target, 'home/tester/owned-by-tester'));
  if (owned.uid !== 1000 || owned.gid !== 1000) problems.push(`owned-by-tester is ${owned.uid}:${owned.gid} inside, not 1000:1000`);
  if (!fs.lstatSync(path.join(target, 'dir/fifo')).isFIFO()) problems.push('dir/fifo is not a fifo');
  const kept = fs.statSync(path.join(target, 'dir/kept'));
  if (kept.nlink !== 2 || kept.ino !== fs.statSync(path.join(target, 'dir/kept-link')).ino) problems.push('dir/kept lost its hard link');
  return problems;
}

/** Writes through the merged view must land in upper (vfs: upper holds the whole tree) and never in a layer. */
function checkUpperWrites(driver: DriverName, spec: MountSpec): string[] {
  const problems: string[] = [];
  fs.writeFileSync(path.join(spec.target, 'written'), 'by the container\n');
  fs.rmSync(path.join(spec.target, 'dir/kept'));
  if (!exists(path.join(spec.upper, 'written'))) problems.push('a new file did not reach upper');
  if (!exists(path.join(spec.lowers[spec.lowers.length - 1], 'dir/kept'))) problems.push('deleting through the mount changed a layer');
  const deleted = fs.lstatSync(path.join(spec.upper, 'dir/kept'), { throwIfNoEntry: false });
  if (driver === 'vfs' ? deleted !== undefined : !deleted?.isCharacterDevice()) problems.push(`upper has no record of the deleted dir/kept`);
  return problems;
}

async function timeMounts(driver: GraphDriver, spec: MountSpec): Promise<{ mountMs: number; unmountMs: number }> {
  let mountMs = 0;
  let unmountMs = 0;
  for (let i = 0; i < TIMED_ROUNDS; i++) {
    const t0 = process.hrtime.bigint();
    await driver.mount(spec);
    const t1 = process.hrtime.bigint();
    await driver.unmount(spec.target);
    mountMs += Number(t1 - t0) / 1e6;
    unmountMs += Number(process.hrtime.bigint() - t1) / 1e6;
  }
  return { mountMs: mountMs / TIMED_ROUNDS, unmountMs: unmountMs / TIMED_ROUNDS };
}

/** 60 layers named by 64-hex ids under a long home: too long for one page of mount options. */
async function mountManyLayers(driver: GraphDriver, base: string, problems: string[]): Promise<number> {
  const home = path.join(base, 'a-deliberately-long-directory-name-to-push-the-lowerdir-string-past-one-page', driver.storageDir);
  const lowers: string[] = [];
  for (let i = 0; i < MANY_LAYERS; i++) {
    const dir = path.join(home, layerId(), 'diff');
    await driver.createLayerDir(dir, lowers[0]);
    await writeFileAs(path.join(dir, `file-${i}`), `${i}\n`, 0);
    lowers.unshift(dir);
  }
  const spec = { lowers, upper: path.join(base, 'many/upper'), work: path.join(base, 'many/work'), target: path.join(base, 'many/merged') };
  const t0 = process.hrtime.bigint();
  await driver.mount(spec);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  for (const i of [0, MANY_LAYERS - 1]) if (!exists(path.join(spec.target, `file-${i}`))) problems.push(`${MANY_LAYERS} layers: file-${i} missing`);
  await driver.unmount(spec.target);
  return ms;
}

async function exerciseDriver(name: DriverName, base: string): Promise<DriverReport> {
  const driver = getDriver(name);
  const home = path.join(base, driver.storageDir);
  const lowers = await buildLayers(driver, home);
  const container = path.join(base, 'container');
  const spec: MountSpec = { lowers, upper: path.join(container, 'diff'), work: path.join(container, 'work'), target: path.join(container, 'merged') };
  const problems: string[] = [];
  const t0 = process.hrtime.bigint();
  await driver.mount(spec);
  const firstMountMs = Number(process.hrtime.bigint() - t0) / 1e6;
  await driver.mount(spec); // already mounted: must stay one mount
  if (!driver.isMounted(spec.target)) problems.push('isMounted is false after mount');
  if (readMountInfo().filter((m) => m.mountPoint === fs.realpathSync(spec.target)).length !== 1) problems.push('a second mount() stacked a mount');
  problems.push(...checkMerged(spec.target), ...checkUpperWrites(name, spec));
  await driver.unmount(spec.target);
  if (isMountPoint(spec.target) || readMountInfo().some((m) => m.mountPoint.startsWith(container))) problems.push('mountinfo still lists the container root');
  await driver.unmount(spec.target); // not mounted: fine
  problems.push(...(await checkReadonly(driver, lowers, base)), ...(await checkOpaqueRoot(driver, base)));
  problems.push(...(await checkBusyUnmount(driver, spec)));
  if (name === 'fuse-overlayfs') problems.push(...(await checkStaleFuseRecovery(driver, spec)));
  const timing = await timeMounts(driver, spec);
  const report: DriverReport = { driver: name, ownedByTester: path.join(lowers[2], 'home/tester/owned-by-tester'), ownedByRoot: path.join(lowers[2], 'etc/owned-by-root'), upperFile: path.join(spec.upper, 'written'), problems, firstMountMs, ...timing };
  if (name !== 'vfs') report.manyLayersMountMs = await mountManyLayers(driver, base, problems);
  return report;
}

async function checkReadonly(driver: GraphDriver, lowers: string[], base: string): Promise<string[]> {
  const target = path.join(base, 'image-mount');
  await driver.mount({ lowers, upper: '', work: '', target, readonly: true });
  const problems = exists(path.join(target, 'top')) ? [] : ['read-only mount lacks the top layer'];
  try {
    fs.writeFileSync(path.join(target, 'nope'), 'x');
    problems.push('read-only mount accepted a write');
  } catch (err) {
    if (!['EROFS', 'EACCES', 'EPERM'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
  }
  await driver.unmount(target);
  return problems;
}

/** A process sitting in the container root makes umount fail with EBUSY: it is detached lazily instead. */
async function checkBusyUnmount(driver: GraphDriver, spec: MountSpec): Promise<string[]> {
  await driver.mount(spec);
  const squatter = spawn('sleep', ['30'], { cwd: spec.target, stdio: 'ignore' });
  await new Promise((resolve) => squatter.once('spawn', resolve));
  try {
    await driver.unmount(spec.target);
    return driver.isMounted(spec.target) ? ['a busy mount is still listed after unmount'] : [];
  } finally {
    squatter.kill('SIGKILL');
  }
}

/** A tar whose `/` is opaque hides every layer below (kernel overlay ignores that xattr on a layer root). */
async function checkOpaqueRoot(driver: GraphDriver, base: string): Promise<string[]> {
  const home = path.join(base, 'opaque-root', driver.storageDir);
  const [below, top] = [path.join(home, layerId(), 'diff'), path.join(home, layerId(), 'diff')];
  await driver.createLayerDir(below);
  await writeFileAs(path.join(below, 'below'), 'hidden\n', 0);
  await driver.createLayerDir(top, below);
  await writeFileAs(path.join(top, 'top'), 'shown\n', 0);
  await driver.applyOpaque(top, '', new Set(['top']));
  const spec = { lowers: [top, below], upper: path.join(base, 'opaque-root/upper'), work: path.join(base, 'opaque-root/work'), target: path.join(base, 'opaque-root/merged') };
  await driver.mount(spec);
  const seen = fs.readdirSync(spec.target).sort().join(',');
  await driver.unmount(spec.target);
  return seen === 'top' ? [] : [`opaque root: merged view holds ${seen}, not just top`];
}

function statCode(file: string): string | undefined {
  try {
    fs.statSync(file);
    return undefined;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code;
  }
}

/** The fuse-overlayfs daemon serving target, found by its command line. */
function fuseDaemonPid(target: string): number | undefined {
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (path.basename(argv[0]) === 'fuse-overlayfs' && argv.includes(target)) return Number(pid);
  }
  return undefined;
}

/** A killed daemon leaves a mount that fails with ENOTCONN: the next mount() must replace it. */
async function checkStaleFuseRecovery(driver: GraphDriver, spec: MountSpec): Promise<string[]> {
  await driver.mount(spec);
  const pid = fuseDaemonPid(path.resolve(spec.target));
  if (pid === undefined) return ['no fuse-overlayfs daemon found for the mount'];
  process.kill(pid, 'SIGKILL');
  // The connection dies with the daemon's /dev/fuse fd, before anyone reaps the process.
  while (statCode(spec.target) !== 'ENOTCONN') await new Promise((resolve) => setTimeout(resolve, 10));
  await driver.mount(spec);
  const problems = exists(path.join(spec.target, 'top')) ? [] : ['mount after a killed daemon does not show the layers'];
  await driver.unmount(spec.target);
  return problems;
}

/** mode: a driver name, or "probe" */
async function inNamespace(mode: string, base: string): Promise<void> {
  const report = mode === 'probe' ? await probeTwice(base) : await exerciseDriver(mode as DriverName, base);
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

/** The first probe mounts; the second must come from the cache. */
async function probeTwice(base: string): Promise<unknown> {
  const graphRoot = path.join(base, 'graph');
  const t0 = process.hrtime.bigint();
  const first = await probeDriver({ graphRoot });
  const t1 = process.hrtime.bigint();
  const second = await probeDriver({ graphRoot });
  const cachedMs = Number(process.hrtime.bigint() - t1) / 1e6;
  const cache = JSON.parse(fs.readFileSync(path.join(graphRoot, 'driver-probe.json'), 'utf8'));
  const leftovers = fs.readdirSync(graphRoot).filter((f) => f !== 'driver-probe.json');
  return { first, second, probeMs: Number(t1 - t0) / 1e6, cachedMs, cache, leftovers };
}

// ---------------------------------------------------------------- root-side suite -------------

/** This file as the test user can read it: the harness's installed copy of the build. */
const installedSelf = (): string => path.join(testEnv.installDir, 'dist/tests/integration', path.basename(__filename));

/** `tspod unshare node <this file> --in-namespace ...` as the test user: uid 0 of its namespace. */
function inUserNamespace(args: string[]): RunResult {
  return tspod(['unshare', testEnv.node, installedSelf(), IN_NAMESPACE, ...args]);
}

function parseReport<T>(run: RunResult): T {
  assert.equal(run.code, 0, `namespace script failed (${run.code}): ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').pop() as string) as T;
}

const DRIVERS: DriverName[] = ['overlay', 'fuse-overlayfs', 'vfs'];

function registerSuite(): void {
  describe('storage drivers', { skip: !hasTestEnv() && 'needs the harness (sudo npm test)' }, () => {
    let work = '';
    const rootWork: string[] = [];

    before(() => {
      work = fs.mkdtempSync(path.join(testEnv.home, '.tspod-storage-test-'));
      fs.chownSync(work, testEnv.uid, testEnv.gid);
    });

    after(() => {
      // Files in there belong to subuids: root removes them. Mounts live in the user's namespace
      // and were all unmounted by the script.
      for (const dir of [work, ...rootWork]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
    });

    for (const name of DRIVERS) {
      test(`${name}, rootless: merged view, ownership on the host, unmount`, (t) => {
        const base = path.join(work, name);
        const report = parseReport<DriverReport>(inUserNamespace([name, base]));
        assert.deepEqual(report.problems, []);
        const tester = fs.statSync(report.ownedByTester);
        assert.equal(tester.uid, testEnv.subuid.start + 999, 'uid 1000 in the image is subuid start + 999 on the host');
        assert.equal(tester.gid, testEnv.subgid.start + 999);
        assert.equal(fs.statSync(report.ownedByRoot).uid, testEnv.uid, 'uid 0 in the image is the user on the host');
        assert.equal(fs.statSync(report.upperFile).uid, testEnv.uid);
        t.diagnostic(`${name}: first mount ${report.firstMountMs.toFixed(1)} ms, mount ${report.mountMs.toFixed(1)} ms, unmount ${report.unmountMs.toFixed(1)} ms` +
          (report.manyLayersMountMs === undefined ? '' : `, ${MANY_LAYERS}-layer mount ${report.manyLayersMountMs.toFixed(1)} ms`));
      });
    }

    for (const name of DRIVERS) {
      test(`${name}, root mode: the same code without a user namespace`, (t) => {
        const base = fs.mkdtempSync('/var/tmp/tspod-storage-test-');
        rootWork.push(base);
        const report = parseReport<DriverReport>(asRoot([testEnv.node, installedSelf(), IN_NAMESPACE, name, base]));
        assert.deepEqual(report.problems, []);
        assert.equal(fs.statSync(report.ownedByTester).uid, 1000);
        t.diagnostic(`${name} (root): mount ${report.mountMs.toFixed(1)} ms, unmount ${report.unmountMs.toFixed(1)} ms`);
      });
    }

    test('probe picks kernel overlay, caches the verdict, cleans up after itself', (t) => {
      const report = parseReport<{ first: { name: string }; second: { name: string }; probeMs: number; cachedMs: number; cache: { kernel: string; overlay: { works: boolean } }; leftovers: string[] }>(
        inUserNamespace(['probe', path.join(work, 'probe')]),
      );
      assert.equal(report.first.name, 'overlay');
      assert.equal(report.second.name, 'overlay');
      assert.equal(report.cache.kernel, execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim());
      assert.equal(report.cache.overlay.works, true);
      assert.deepEqual(report.leftovers, []);
      assert.ok(report.cachedMs < report.probeMs, `cached probe (${report.cachedMs} ms) is not faster than probing (${report.probeMs} ms)`);
      t.diagnostic(`probe ${report.probeMs.toFixed(1)} ms, cached ${report.cachedMs.toFixed(2)} ms`);
    });
  });
}

// Run as the namespace body, this file must not register the suite: node would run it there.
if (process.argv[2] === IN_NAMESPACE) {
  inNamespace(process.argv[3], process.argv[4]).catch((err) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
} else {
  registerSuite();
}
