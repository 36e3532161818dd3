// `start`: mount the root filesystem, write the OCI bundle and the /etc files, hand the
// container to its monitor (which runs `runtime create`), connect the network (whose helpers
// may have started meanwhile, in a namespace made beforehand), and finally has the monitor run
// `runtime start`. Split in two (prepare, then release) so that `run` can attach to the
// monitor before the process runs and no output is lost.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Engine } from '../engine/engine';
import { ConflictError, HostError, TspodError } from '../errors';
import { cgroupVersion } from '../host/cgroups';
import { log } from '../log';
import { parseImageConfig } from '../image/manifest';
import { capabilitySet, explicitlyAddedCapabilities } from '../runtime/capabilities';
import { resolveContainerUser } from '../runtime/container-user';
import { HeldStart, MonitorStartError, startMonitor } from '../runtime/monitor-launch';
import { MountInput, NamespaceMode, ResourceInput, UserNamespaceMode, buildSpec, containerEnv, containerMappings, describeDevice, hostFacts, serializeSpec, sourceMountOptions } from '../runtime/oci-spec';
import { findExecutable } from '../host/executables';
import { FuseOverlayDriver } from '../storage/fuse-overlay-driver';
import type { GraphDriver } from '../storage/graph-driver';
import { parseUsernsFlag } from './userns-mode';
import { keepIdAccounts } from './keep-id-accounts';
import { OciRuntime } from '../runtime/oci-runtime';
import { canRaiseHardLimits, hostLimits, resolveRlimits } from '../runtime/rlimits';
import { addCompiledSeccomp } from '../runtime/seccomp-bpf';
import { seccompProfileForOption } from '../runtime/seccomp-profile';
import { NetworkPlan, NetworkStart, NetworkStatus, beginNetwork, planNetwork, tearDownNetwork } from '../network/network-setup';
import { discardEarlyNetns, earlyNetns, earlyNetnsFile, reapStaleNetns } from '../network/early-netns';
import { seedVolume } from '../volume/volume-seed';
import { VolumeStore } from '../volume/volume-store';
import { Container, ContainerConfig, ContainerRuntimeState } from './container-config';
import { containerPaths, ContainerPaths } from './container-paths';
import { logPathOf, logTagOf, monitorLogSettings } from './log-config';
import { monitorHealthTimer, startSystemdHealthTimer } from './health-schedule';
import { notifyProxy, notifyStarted, takeNotifySocket } from './sdnotify';
import { ContainerStore } from './container-store';
import { refreshContainer } from './container-exit';
import { writeEtcFiles } from './etc-files';
import { nativeBinary } from '../package-root';
import { loadExitFastAddonSoon } from '../host/exit-fast-addon';

export interface PreparedStart {
  container: Container;
  paths: ContainerPaths;
  runtime: OciRuntime;
  containerPid: number;
  monitorPid: number;
  /** the monitor runs `runtime start` when releaseStart asks */
  held: HeldStart;
  network: NetworkStatus;
  /** the attach socket of the monitor */
  attachSocket: string;
}

/** The tspod launcher, for the monitor's exit command (`tspod container cleanup ID`). */
export function tspodBinary(): string {
  return nativeBinary('tspod');
}

/** Exported for the snapshot's training (see mountInputs). */
export function namespaceMode(value: string | undefined): NamespaceMode | undefined {
  if (value === undefined || value === '' || value === 'private') return undefined;
  if (value === 'host') return 'host';
  if (value.startsWith('ns:')) return { path: value.slice(3) };
  return undefined;
}

// Exported (like the other functions of the start marked so) for the start-up snapshot's
// training alone: cmd/tspod/snapshot-start-training.ts runs them or snapshot-start-compile.ts
// compiles them at build time.
export function mountInputs(engine: Engine, config: ContainerConfig, rootfs: string): MountInput[] {
  const volumes = new VolumeStore(engine.db, engine.config.graphRoot);
  return config.mounts.map((m): MountInput => {
    if (m.type === 'tmpfs') return { type: 'tmpfs', destination: m.destination, readonly: m.readonly, options: m.options };
    if (m.type === 'volume') {
      const vol = volumes.ensure(m.source);
      const options = m.options.filter((o) => o !== 'nocopy');
      // `volume create -o type=tmpfs`: a fresh tmpfs per container (o=size=... passed on).
      if (vol.options.type === 'tmpfs') {
        const tmpfsOpts = [...(vol.options.o ? vol.options.o.split(',') : []), ...(vol.options.size ? [`size=${vol.options.size}`] : [])];
        return { type: 'tmpfs', destination: m.destination, readonly: m.readonly, options: [...tmpfsOpts, ...options] };
      }
      // `-o type=none -o o=bind -o device=/path`: the volume is that host directory.
      if (vol.options.device && vol.options.type !== undefined && vol.options.type !== 'tmpfs') {
        return { type: 'bind', source: vol.options.device, destination: m.destination, readonly: m.readonly, options, sourceOptions: sourceMountOptions(vol.options.device) };
      }
      seedVolume(rootfs, m.destination, vol, { nocopy: m.options.includes('nocopy') });
      return { type: 'volume', source: vol.mountpoint, destination: m.destination, readonly: m.readonly, options, sourceOptions: sourceMountOptions(vol.mountpoint) };
    }
    const source = m.source as string;
    if (!fs.existsSync(source)) fs.mkdirSync(source, { recursive: true });
    return { type: 'bind', source, destination: m.destination, readonly: m.readonly, options: m.options, sourceOptions: sourceMountOptions(source) };
  });
}

/** --userns as buildSpec takes it, with the range create reserved for auto. Exported for the
 * snapshot's training (see mountInputs). */
export function usernsOf(config: ContainerConfig): UserNamespaceMode {
  const mode = parseUsernsFlag(config.userns);
  return mode.mode === 'auto' && config.usernsRange ? { ...mode, size: config.usernsRange.size, offset: config.usernsRange.offset } : mode;
}

/**
 * The driver for the container's root. With a user namespace of its own the image's files must
 * keep their owners inside: fuse-overlayfs maps ids per mount (kernel overlay cannot here: idmapped
 * mounts of the host's filesystems need real root). It costs a FUSE daemon per running container
 * and slower file access than kernel overlay, and no copy of the image.
 * Exported for the snapshot's training (see mountInputs).
 */
export async function rootfsDriver(engine: Engine, userns: UserNamespaceMode): Promise<GraphDriver> {
  const driver = await engine.driver();
  if (userns.mode === 'host') return driver;
  if (driver.name === 'vfs') throw new HostError(`--userns=${userns.mode} needs the overlay or fuse-overlayfs storage driver (vfs cannot show the image's owners in a nested user namespace)`);
  const program = findExecutable(engine.config.storage.mountProgram ?? 'fuse-overlayfs');
  if (!program) throw new HostError(`--userns=${userns.mode} needs fuse-overlayfs to show the image's files with their owners: install it (apt install fuse-overlayfs)`);
  const maps = containerMappings({ host: hostFacts(), namespaces: { user: userns } });
  return new FuseOverlayDriver(program, { uid: maps.uid, gid: maps.gid });
}

/**
 * runc mounts the root, the /etc files and volumes as the container's root. Under auto and nomap
 * that is a subordinate id with no rights on the user's files, so every directory on the way to
 * the container's own must let others through: tspod opens its own (the store, the container's
 * directory: search only, no listing); a directory of the user's above the store it reports.
 * Exported for the snapshot's training (see mountInputs).
 */
export function openPathForNestedRoot(userns: UserNamespaceMode, graphRoot: string, dir: string): void {
  if (userns.mode !== 'auto' && userns.mode !== 'nomap') return;
  for (let d = dir; ; d = path.dirname(d)) {
    const mode = fs.statSync(d).mode;
    if ((mode & 0o001) === 0) {
      const ours = d === graphRoot || d.startsWith(`${graphRoot}/`);
      if (!ours) {
        throw new HostError(`--userns=${userns.mode}: the container's root user cannot pass through ${d} (no search permission for others), where its files are: allow it with chmod o+x ${d}, or move the store (--root) below directories that allow it`);
      }
      fs.chmodSync(d, (mode & 0o7777) | 0o011);
    }
    if (d === '/') return;
  }
}

/** NETNS: a network namespace to make in the same helper run, where the driver can (MountSpec).
 * Exported for the snapshot's training (see mountInputs). */
export async function mountRootfs(engine: Engine, container: Container, paths: ContainerPaths, netns?: string): Promise<void> {
  const userns = usernsOf(container.config);
  openPathForNestedRoot(userns, engine.config.graphRoot, paths.userdata);
  const driver = await rootfsDriver(engine, userns);
  const layers = await engine.layers();
  const image = engine.images.get(container.config.imageId);
  if (!image) throw new ConflictError(`the image of container ${container.name} (${container.config.imageId}) is gone; remove the container`);
  let lowers = image.topLayer ? layers.lowerDirs(image.topLayer) : [];
  if (lowers.length === 0) {
    // An image with no layers (FROM scratch) still needs a lower dir for overlay.
    const empty = path.join(engine.config.graphRoot, 'empty-layer');
    fs.mkdirSync(empty, { recursive: true, mode: 0o755 });
    lowers = [empty];
  }
  // --rm: the writable layer goes with the container, so it need not survive a crash.
  await driver.mount({ lowers, upper: paths.upper, work: paths.work, target: paths.rootfs, volatile: container.config.autoRemove, netns });
}

/** tspod-init, which --init bind-mounts at INIT_DESTINATION. */
export function initBinary(): string {
  return nativeBinary('tspod-init');
}
const INIT_DESTINATION = '/run/tspod-init';

/** Exported for the snapshot's training (see mountInputs). */
export function initMount(config: ContainerConfig): MountInput[] {
  if (!config.init) return [];
  const source = config.initPath ?? initBinary();
  if (!fs.existsSync(source)) throw new HostError(`container init binary ${source} does not exist`);
  return [{ type: 'bind', source, destination: INIT_DESTINATION, readonly: true, options: [], sourceOptions: sourceMountOptions(source) }];
}

/**
 * The resources asked for, when they can be applied: as root. Rootless on cgroup v1 nothing
 * can set limits; Podman warns once and runs the container without them (inspect keeps them).
 * Exported for the snapshot's training (see mountInputs).
 */
export function resourceInput(config: ContainerConfig, rootless: boolean): ResourceInput | undefined {
  const r = config.resources ?? {};
  const num = (key: string): number | undefined => (typeof r[key] === 'number' ? (r[key] as number) : undefined);
  const input: ResourceInput = {
    memory: num('memory'),
    memorySwap: num('memorySwap'),
    cpus: num('cpus'),
    cpuShares: num('cpuShares'),
    pidsLimit: num('pidsLimit'),
  };
  const asked = Object.values(input).some((v) => v !== undefined);
  if (!asked) return undefined;
  if (rootless) {
    log.warn(cgroupVersion() === 'v1' ? 'Resource limits are not supported and ignored on cgroups V1 rootless systems' : 'Resource limits are not supported and ignored on rootless systems without a delegated cgroup');
    return undefined;
  }
  return input;
}

// Exported for the snapshot's training (see mountInputs).
export function writeBundle(engine: Engine, container: Container, paths: ContainerPaths, network: NetworkPlan, runtime: OciRuntime): void {
  const { config } = container;
  const imageRec = engine.images.get(config.imageId);
  const image = imageRec ? parseImageConfig(imageRec.config) : undefined;
  const host = hostFacts();
  const userns = usernsOf(config);
  // keep-id: the process is the user (as the ids it keeps appear inside), unless -u says otherwise
  const keepIdUser = userns.mode === 'keep-id' ? `${userns.uid ?? host.hostUid}:${userns.gid ?? host.hostGid}` : undefined;
  const user = resolveContainerUser(paths.rootfs, config.user ?? keepIdUser ?? (image?.config?.User || undefined), config.groupAdd);
  const accounts = keepIdUser && config.user === undefined ? keepIdAccounts(paths.rootfs, paths.userdata, user, host.hostUid) : { mounts: [], home: user.home };
  const hostname = config.hostname ?? container.id.slice(0, 12);
  const hostNetwork = network.etc.hostNetwork;
  const etc = writeEtcFiles(paths.userdata, {
    hostname,
    name: container.name,
    ...network.etc,
    dns: config.dns,
    dnsSearch: config.dnsSearch,
    dnsOptions: config.dnsOptions,
    extraHosts: config.addHosts,
  });
  const capOpts = { capAdd: config.capAdd, capDrop: config.capDrop, privileged: config.privileged };
  const seccompOpt = config.securityOpt.find((o) => o.startsWith('seccomp='))?.slice('seccomp='.length);
  const notify = notifyProxy(engine, container);
  const spec = buildSpec({
    rootfs: paths.rootfs,
    readonlyRootfs: config.readOnly,
    process: {
      args: [...(config.init ? [INIT_DESTINATION, '--'] : []), ...config.entrypoint, ...config.cmd],
      env: [...containerEnv({ imageEnv: image?.config?.Env, env: config.env, hostname, home: accounts.home }), ...(notify ? [notify.env] : [])],
      cwd: config.workdir || image?.config?.WorkingDir || '/',
      user,
      terminal: config.tty,
      capabilities: capabilitySet(capOpts),
      userCapabilities: explicitlyAddedCapabilities(capOpts),
      noNewPrivileges: config.securityOpt.includes('no-new-privileges') || config.securityOpt.includes('no-new-privileges:true'),
      rlimits: resolveRlimits({ ulimits: config.ulimits, host: hostLimits(), canRaise: canRaiseHardLimits() }),
    },
    hostname,
    mounts: [...accounts.mounts, ...mountInputs(engine, config, paths.rootfs), ...initMount(config), ...(notify ? [notify.mount] : [])],
    devices: (config.devices ?? []).map((d) => describeDevice(d)),
    etcFiles: hostNetwork ? undefined : etc,
    namespaces: {
      network: network.namespace,
      pid: namespaceMode(config.pid),
      ipc: namespaceMode(config.ipc),
      uts: namespaceMode(config.uts),
      user: userns,
    },
    shmSize: config.shmSize,
    resources: resourceInput(config, host.rootless),
    seccomp: config.privileged ? 'unconfined' : seccompProfileForOption(seccompOpt),
    privileged: config.privileged,
    annotations: config.annotations,
    host,
  });
  addCompiledSeccomp(spec, runtime.path, engine.config.runRoot);
  fs.mkdirSync(paths.bundle, { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(paths.bundle, 'config.json'), serializeSpec(spec));
}

/** Everything up to a created (not yet running) container held by its monitor. */
export async function prepareStart(engine: Engine, nameOrId: string): Promise<PreparedStart> {
  takeNotifySocket();
  const store = new ContainerStore(engine.db);
  // A container whose process just ended may still be recorded as running until its exit is
  // cleaned up: that happens now, so `run` then `start -a` at once works.
  const container = await refreshContainer(engine, store.require<ContainerConfig, ContainerRuntimeState>(nameOrId));
  if (container.status === 'running' || container.status === 'paused') {
    throw new ConflictError(`container ${container.name} is already running`);
  }
  const paths = containerPaths(engine.config, container.id);
  // The namespace is made by the root's mount; its helpers then start while the monitor runs
  // `runtime create`, just after it was spawned (early-netns.ts). The mount runs in a helper
  // while the rest is made ready here.
  const netnsFile = earlyNetnsFile(engine, container, usernsOf(container.config).mode !== 'host');
  const mounted = (async () => {
    await reapStaleNetns(engine, container);
    await mountRootfs(engine, container, paths, netnsFile);
  })();
  mounted.catch(() => undefined); // awaited below, on every path
  // Its request reaches the helper first: every step up to it is a microtask, all run by then.
  await new Promise((resolve) => setImmediate(resolve));
  const runToken = crypto.randomBytes(8).toString('hex');
  let runtime: OciRuntime;
  try {
    // A new run token also tells an exit hook waiting to restart the container that it is late.
    // A pending restart stays recorded until the start is done, so that stop and rm -f wait for
    // an exit hook that is starting the container instead of missing the run it starts.
    container.state = { ...container.state, runToken };
    store.update<ContainerRuntimeState>(container.id, { state: container.state });
    runtime = await OciRuntime.of(engine.config, container).seal();
    await runtime.delete(container.id);
    fs.rmSync(path.join(paths.exitDir, container.id), { force: true });
    for (const dir of [paths.socketDir, paths.exitDir]) fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    await mounted;
  } catch (err) {
    // The root stays unmounted, and the namespace unmade, whichever part failed.
    if (await mounted.then(() => true, () => false)) await (await engine.driver()).unmount(paths.rootfs);
    if (netnsFile) await discardEarlyNetns({ file: netnsFile, created: Promise.resolve() });
    throw err;
  }
  const netns = netnsFile ? earlyNetns(netnsFile, container.name) : undefined;
  let started;
  let networkStart: NetworkStart | undefined;
  try {
    networkStart = await beginNetwork(engine, container, await planNetwork(engine, container), netns);
    writeBundle(engine, container, paths, networkStart.plan, runtime);
    const logSettings = monitorLogSettings(container.config.logDriver, container.config.logOpts, paths.logPath);
    const monitor = startMonitor({
      cid: container.id,
      bundle: paths.bundle,
      runtime: runtime.path,
      runtimeArgs: runtime.globalArgs,
      env: runtime.env,
      exitDir: paths.exitDir,
      socketDir: paths.socketDir,
      logDriver: logSettings.driver,
      logPath: logSettings.path,
      logSizeMax: logSettings.maxSize,
      logMaxFiles: logSettings.maxFiles,
      logCompress: logSettings.compress,
      name: container.name,
      logTag: logTagOf(logSettings.tag, { ID: container.id, Name: container.name, ImageName: container.config.imageName, Image: container.config.imageId }),
      journalSocket: logSettings.journalSocket,
      terminal: container.config.tty,
      stdin: container.config.stdin,
      pidFile: container.config.conmonPidfile,
      exitCommand: [tspodBinary(), '--root', engine.config.graphRoot, '--runroot', engine.config.runRoot, 'container', 'cleanup', '--run-token', runToken, container.id],
      healthcheck: monitorHealthTimer(engine, container, tspodBinary()),
      sdnotify: notifyProxy(engine, container)?.monitor,
      holdStart: true,
      startFifo: runtime.startFifo(container.id),
      // Short (a unix socket's path): the run root, not the container's directory.
      syncSocket: path.join(engine.config.runRoot, `sync-${runToken}.sock`),
      // Released by the monitor as soon as the process ends: the cleanup that follows (this
      // command's for run --rm, the exit command's otherwise) then starts no process for them.
      release: { runtime: true, mounts: [paths.rootfs, ...(netnsFile ? [netnsFile] : [])] },
    });
    networkStart.launch();
    // The longest wait of a start (`runtime create`): the exit's addon is loaded in it.
    loadExitFastAddonSoon();
    started = await monitor;
  } catch (err) {
    if (networkStart) await networkStart.abandon();
    else await discardEarlyNetns(netns);
    await (await engine.driver()).unmount(paths.rootfs);
    const failure = err instanceof MonitorStartError ? (err.commandNotRunnable() ?? err) : err;
    store.update<ContainerRuntimeState>(container.id, { state: { ...container.state, error: (failure as Error).message } });
    throw failure;
  }
  const held = started.held as HeldStart;
  let network: NetworkStatus;
  try {
    network = await networkStart.complete(started.containerPid);
  } catch (err) {
    held.abandon();
    await runtime.delete(container.id);
    await (await engine.driver()).unmount(paths.rootfs);
    store.update<ContainerRuntimeState>(container.id, { state: { ...container.state, error: (err as Error).message } });
    throw err;
  }
  return { container, paths, runtime, containerPid: started.containerPid, monitorPid: started.monitorPid, held, network, attachSocket: path.join(paths.socketDir, 'attach') };
}

export interface StartOptions {
  /** started by the restart policy (RestartCount goes up) rather than by the user (back to 0) */
  policyRestart?: boolean;
}

/** Lets the created process run and records the container as running. */
export async function releaseStart(engine: Engine, prepared: PreparedStart, opts: StartOptions = {}): Promise<void> {
  const store = new ContainerStore(engine.db);
  const { container } = prepared;
  store.update<ContainerRuntimeState>(container.id, {
    status: 'running',
    restartCount: opts.policyRestart ? container.restartCount + 1 : 0,
    pid: prepared.containerPid,
    monitorPid: prepared.monitorPid,
    startedAt: Date.now(),
    // A user's stop that came while the restart policy was starting it still counts.
    stoppedByUser: opts.policyRestart ? undefined : false,
    state: { ...container.state, rootfs: prepared.paths.rootfs, logPath: logPathOf(container.config.logOpts, prepared.paths.logPath), network: prepared.network, networkPid: undefined, error: undefined, restartPending: undefined },
  });
  try {
    await prepared.held.start().catch((err: unknown) => {
      throw err instanceof MonitorStartError ? new TspodError(`starting container ${container.id.slice(0, 12)}: ${err.message}`) : err;
    });
  } catch (err) {
    await tearDownNetwork(engine, { ...container, state: { ...container.state, network: prepared.network } });
    await prepared.runtime.delete(container.id);
    store.update(container.id, { status: 'exited', exitCode: 125, finishedAt: Date.now(), pid: 0 });
    log.debug(`start of ${container.id} failed: ${(err as Error).message}`);
    throw err;
  }
  await startSystemdHealthTimer(engine, container, tspodBinary());
  notifyStarted(container, prepared.monitorPid);
}

export async function startContainer(engine: Engine, nameOrId: string, opts: StartOptions = {}): Promise<Container> {
  const prepared = await prepareStart(engine, nameOrId);
  await releaseStart(engine, prepared, opts);
  return prepared.container;
}
