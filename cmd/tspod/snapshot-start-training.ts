// The container start, exit and removal paths' part of the start-up snapshot's training
// (snapshot-training.ts says why training pays): `run` lazily compiled ~450 of the bundle's
// functions, ~10-15 ms of CPU per container start. What here runs at build time is what `run`,
// `run -d -p`, `ps`, `rm` and `container cleanup` compute without the machine's state: the flags
// to a create request, registries.conf and the image name's candidates, the image's config, the
// OCI spec (capabilities, environment, rlimits, seccomp and its line form), the container's user
// and /etc files, the monitor's arguments, the overlay mount's options, mountinfo, the network
// plan, a container's row. All of it on made-up data in one temporary directory: no process is
// spawned, no database opened, no file read outside it, and every result is dropped (nothing of
// the build machine stays in the heap). The functions that need the store, the runtime or the
// monitor are compiled without doing their work (snapshot-start-compile.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { COMMAND_GROUPS } from './commands';
import { compileStartFunctions } from './snapshot-start-compile';
import { trainAttach } from './snapshot-attach-training';
import { trainMonitorExchanges } from './snapshot-monitor-training';
import { matchedPath, parserFor, typedClasses } from './command-parser';
import { parseDetachKeys, sigProxyEnabled } from './container-attach';
import type { ContainerCreateCommand } from './container-create-options';
import type { EngineConfig } from '../../pkg/config/engine-config';
import type { Engine } from '../../pkg/engine/engine';
import type { Container, ContainerConfig } from '../../pkg/container/container-config';
import type { ImageRecord, ImageStore } from '../../pkg/image/image-store';
import type { HostFacts } from '../../pkg/runtime/oci-spec';
import { configHome, registriesConfFiles } from '../../pkg/config/config-files';
import { dropIns } from '../../pkg/config/toml-files';
import { loadRegistriesConfig } from '../../pkg/config/registries-conf';
import { findImage } from '../../pkg/image/image-lookup';
import { resolveShortName } from '../../pkg/image/short-names';
import { isManifestList } from '../../pkg/image/manifest-list';
import { parseImageConfig } from '../../pkg/image/manifest';
import { processArgs } from '../../pkg/container/container-create';
import { initMount, namespaceMode, openPathForNestedRoot, resourceInput, usernsOf } from '../../pkg/container/container-start';
import { isValidContainerName, randomContainerName } from '../../pkg/container/container-names';
import { resolveHealthConfig } from '../../pkg/container/healthcheck-config';
import { containerPaths } from '../../pkg/container/container-paths';
import { parseUsernsFlag } from '../../pkg/container/userns-mode';
import { hostsFile, resolvConf } from '../../pkg/container/etc-files';
import { logPathOf, monitorLogSettings } from '../../pkg/container/log-config';
import { containerRow, parseContainerFilters, matchesFilters } from '../../pkg/container/container-list';
import { readExitCode, refreshContainer } from '../../pkg/container/container-exit';
import { isRestarting } from '../../pkg/container/restart-policy';
import { boundingSet, capabilitySet, explicitlyAddedCapabilities } from '../../pkg/runtime/capabilities';
import { resolveContainerUser } from '../../pkg/runtime/container-user';
import { buildSpec, containerEnv, containerMappings, serializeSpec } from '../../pkg/runtime/oci-spec';
import { canRaiseHardLimits, parseProcLimits, resolveRlimits } from '../../pkg/runtime/rlimits';
import { goArch, seccompProfileForOption } from '../../pkg/runtime/seccomp-profile';
import { seccompLines } from '../../pkg/runtime/seccomp-lines';
import { addCompiledSeccomp, seccompCacheDir, seccompCacheKey } from '../../pkg/runtime/seccomp-bpf';
import { OciRuntime } from '../../pkg/runtime/oci-runtime';
import { killHelper } from '../../pkg/network/helper-process';
import { monitorArgs, monitorBinaryPath } from '../../pkg/runtime/monitor-launch';
import { parseIdMapFile } from '../../pkg/rootless/id-mappings';
import { notifyProxy, notifyStarted, removeNotifyProxy, takeNotifySocket } from '../../pkg/container/sdnotify';
import { monitorHealthTimer, startSystemdHealthTimer, stopSystemdHealthTimer } from '../../pkg/container/health-schedule';
import { FrameDecoder, encodeFrame, FrameType, parseExitCode } from '../../pkg/runtime/monitor-protocol';
import { planOverlayMount } from '../../pkg/storage/overlay-driver';
import { isMountPoint, mountHelperPath, mountsAt, parseMountInfo } from '../../pkg/storage/mounts';
import { sourceMountOptions } from '../../pkg/runtime/host-facts';
import { netRunFile } from '../../pkg/network/network-setup';
import { DEFAULT_SLIRP_OPTIONS, canPublish, parseNetworkMode } from '../../pkg/network/network-mode';
import { slirpAddresses } from '../../pkg/network/slirp-network';
import { portsColumn } from '../../pkg/network/port-mappings';
import { checkPortsAvailable } from '../../pkg/network/port-forwarder';
import { hasShortFlagBatch } from './short-flags';

/** The command lines whose create requests are worked out (`run --rm X true`, `run -d -p`). -q
 * and --log-driver keep the request from touching stderr or the configuration files. */
const RUN_LINES = [
  ['run', '--rm', '-q', '--log-driver', 'k8s-file', 'busybox', 'true'],
  ['run', '-d', '-q', '--log-driver', 'k8s-file', '-p', '8080:80', '--name', 'web', '-e', 'A=B', '-v', '/srv/a:/a:ro', 'busybox', 'httpd', '-f'],
];

const REGISTRIES_SAMPLE = `unqualified-search-registries = ["docker.io", "quay.io"]
short-name-mode = "enforcing"

[[registry]]
prefix = "quay.io/example"
location = "registry.example.com/quay"
blocked = false
[[registry.mirror]]
location = "127.0.0.1:5000"
pull-from-mirror = "digest-only"

[aliases]
"fedora" = "registry.fedoraproject.org/fedora"
`;

const PROC_LIMITS_SAMPLE = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max file size             unlimited            unlimited            bytes
Max open files            1024                 524288               files
Max processes             15000                15000                processes
Max locked memory         8388608              8388608              bytes
`;

const MOUNTINFO_SAMPLE = `22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro
23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
24 22 0:22 / /run rw,nosuid,nodev,noexec,relatime shared:2 - tmpfs tmpfs rw,size=400000k,mode=755
90 22 0:50 / /srv/store/overlay/c1/merged rw,relatime - overlay overlay rw,lowerdir=/srv/store/l1,upperdir=/srv/store/c1/diff,workdir=/srv/store/c1/work
`;

const STATUS_SAMPLE = `Name:\tnode
CapInh:\t0000000000000000
CapPrm:\t000001ffffffffff
CapEff:\t000001ffffffffff
CapBnd:\t000001fffeffffff
CapAmb:\t0000000000000000
`;

const UID_MAP_SAMPLE = '         0       1000          1\n         1     100000      65536\n';

const IMAGE_CONFIG_SAMPLE = JSON.stringify({
  architecture: 'amd64',
  os: 'linux',
  config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'], WorkingDir: '/', ExposedPorts: { '80/tcp': {} } },
  rootfs: { type: 'layers', diff_ids: [`sha256:${'1'.repeat(64)}`] },
});

const ID = 'c'.repeat(64);
const IMAGE_ID = `sha256:${'a'.repeat(64)}`;

function madeUpImage(): ImageRecord {
  return {
    id: IMAGE_ID,
    topLayer: 'f'.repeat(64),
    config: Buffer.from(IMAGE_CONFIG_SAMPLE),
    manifest: null,
    manifestMediaType: 'application/vnd.docker.distribution.manifest.v2+json',
    manifestDigest: `sha256:${'b'.repeat(64)}`,
    size: 4_000_000,
    created: 1_700_000_000_000,
    added: 1_700_000_000_000,
    parent: null,
    names: ['docker.io/library/busybox:latest'],
    digests: [`docker.io/library/busybox@sha256:${'b'.repeat(64)}`],
    extra: {},
  };
}

/** The lookups findImage makes, answered from one made-up image (no database). */
function madeUpImageStore(image: ImageRecord): ImageStore {
  const byName = (name: string): ImageRecord | undefined => (image.names.includes(name) ? image : undefined);
  return { get: (id: string) => (id === image.id ? image : undefined), byName, byRepoDigest: () => undefined, byIdPrefix: () => undefined } as unknown as ImageStore;
}

/** Each run line's parser (kept compiled, see parserFor) and its create request. */
async function createRequests(): Promise<ContainerCreateCommand[]> {
  const commands: ContainerCreateCommand[] = [];
  for (const line of RUN_LINES) {
    const classes = await COMMAND_GROUPS[line[0]].load();
    const command = parserFor(typedClasses(classes, matchedPath(classes, line))).process(line) as ContainerCreateCommand;
    await command.createRequest();
    commands.push(command);
  }
  hasShortFlagBatch(RUN_LINES[1], 1);
  sigProxyEnabled(undefined);
  parseDetachKeys('ctrl-p,ctrl-q');
  return commands;
}

/** registries.conf with a drop-in, the short name's candidates, the local image they find. */
function resolveImageName(dir: string): void {
  const confDir = path.join(dir, 'registries.conf.d');
  fs.mkdirSync(confDir);
  const main = path.join(dir, 'registries.conf');
  fs.writeFileSync(main, REGISTRIES_SAMPLE);
  fs.writeFileSync(path.join(confDir, '50-extra.conf'), '[aliases]\n"alpine" = "docker.io/library/alpine"\n');
  configHome({ HOME: dir });
  registriesConfFiles({ CONTAINERS_REGISTRIES_CONF: main }, true);
  const conf = loadRegistriesConfig([main], dropIns(confDir));
  const image = madeUpImage();
  const store = madeUpImageStore(image);
  for (const name of ['busybox', 'fedora', 'busybox:latest', 'docker.io/library/busybox', `busybox@sha256:${'b'.repeat(64)}`, IMAGE_ID, 'aaaaaaaaaaaa']) findImage(store, name, conf);
  resolveShortName('busybox', conf, main);
  isManifestList(image);
  const imageConfig = parseImageConfig(image.config);
  processArgs(imageConfig, undefined, ['true']);
  resolveHealthConfig(imageConfig.config?.Healthcheck, {});
  resolveHealthConfig(undefined, { cmd: 'wget -q -O - localhost', interval: '30s' });
  isValidContainerName('web');
  randomContainerName(() => false);
  parseUsernsFlag(undefined);
}

/** What hostFacts() reads from /proc, from the samples. */
function madeUpHost(): HostFacts {
  const uidMap = parseIdMapFile(UID_MAP_SAMPLE);
  canRaiseHardLimits(STATUS_SAMPLE, UID_MAP_SAMPLE);
  return { rootless: true, uidMap, gidMap: uidMap, hostUid: 1000, hostGid: 1000, capabilities: boundingSet(STATUS_SAMPLE), arch: goArch('x64'), kernel: '6.1.0-1-amd64', devMqueue: true };
}

function madeUpContainer(config: ContainerConfig): Container {
  return { id: ID, name: 'web', imageId: IMAGE_ID, imageName: 'docker.io/library/busybox:latest', status: 'running', pid: 4242, monitorPid: 4241, exitCode: 0, created: 1_700_000_000_000, startedAt: 1_700_000_000_500, finishedAt: 0, restartCount: 0, stoppedByUser: false, config, state: {} };
}

/** What writeBundle computes: the user, /etc files, environment, rlimits, seccomp, the spec. */
function specOf(dir: string, config: ContainerConfig): void {
  const rootfs = path.join(dir, 'rootfs');
  fs.mkdirSync(path.join(rootfs, 'etc'), { recursive: true });
  fs.writeFileSync(path.join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www-data:/var/www:/bin/false\n');
  fs.writeFileSync(path.join(rootfs, 'etc', 'group'), 'root:x:0:\nwww-data:x:33:\n');
  const user = resolveContainerUser(rootfs, undefined, []);
  resolveContainerUser(rootfs, 'www-data', ['root']);
  const etcInput = { hostname: ID.slice(0, 12), name: 'web', ip: '10.0.2.100', hostIp: '10.0.2.2', nameservers: ['10.0.2.3'], hostNetwork: false, extraHosts: ['db:10.0.0.5'] };
  hostsFile(etcInput);
  resolvConf(etcInput, 'nameserver 127.0.0.53\nsearch example.com\noptions edns0\n');
  const host = madeUpHost();
  const capOpts = { capAdd: config.capAdd, capDrop: config.capDrop, privileged: false };
  // As root (rootless would warn that limits are ignored).
  resourceInput({ ...config, resources: { memory: 1 << 30, cpus: 1.5 } }, false);
  // The start's namespaces and mounts when nothing more is asked (no --init, no nested root).
  for (const mode of [undefined, 'host', 'ns:/proc/1/ns/net']) namespaceMode(mode);
  openPathForNestedRoot(usernsOf(config), dir, rootfs);
  initMount(config);
  const mountinfo = parseMountInfo(MOUNTINFO_SAMPLE);
  const spec = buildSpec({
    rootfs,
    process: {
      args: ['httpd', '-f'],
      env: containerEnv({ imageEnv: ['PATH=/bin'], env: config.env, hostname: ID.slice(0, 12), home: user.home }),
      cwd: '/',
      user,
      capabilities: capabilitySet(capOpts),
      userCapabilities: explicitlyAddedCapabilities(capOpts),
      rlimits: resolveRlimits({ ulimits: ['nofile=1024:2048'], host: parseProcLimits(PROC_LIMITS_SAMPLE), canRaise: false }),
    },
    hostname: ID.slice(0, 12),
    mounts: [{ type: 'bind', source: '/srv/a', destination: '/a', readonly: true, options: [], sourceOptions: sourceMountOptions(dir, mountinfo) }],
    etcFiles: { hosts: path.join(dir, 'hosts'), hostname: path.join(dir, 'hostname'), resolvConf: path.join(dir, 'resolv.conf') },
    namespaces: { network: 'private', user: { mode: 'host' } },
    seccomp: seccompProfileForOption(undefined),
    annotations: {},
    host,
  });
  containerMappings({ host, namespaces: { user: { mode: 'keep-id' } } });
  const lines = spec.linux?.seccomp ? seccompLines(spec.linux.seccomp) : undefined;
  const helper = path.join(dir, 'helper');
  fs.writeFileSync(helper, '');
  if (lines) seccompCacheKey(lines, helper, helper);
  seccompCacheDir(dir);
  // runc: crun's precompiled filter is left out (no helper runs).
  addCompiledSeccomp(spec, '/usr/bin/runc', dir);
  serializeSpec(spec);
}

/** What the start does around the spec that needs no helper: paths, mounts, monitor, network. */
async function startPlan(dir: string, config: EngineConfig, container: Container): Promise<void> {
  const paths = containerPaths(config, container.id);
  const lowers = Array.from({ length: 3 }, (_, i) => path.join(dir, 'overlay', `layer${i}`, 'diff'));
  planOverlayMount(lowers, paths.upper, paths.work);
  const mountinfo = parseMountInfo(MOUNTINFO_SAMPLE);
  mountsAt(paths.rootfs, mountinfo);
  isMountPoint(paths.rootfs, mountinfo);
  // Without mountinfo: a missing path, then an existing one (its mount and its parent's).
  isMountPoint(paths.rootfs);
  isMountPoint(dir);
  const engine = { config } as Engine;
  takeNotifySocket({});
  notifyProxy(engine, container, {});
  monitorHealthTimer(engine, container, 'tspod');
  monitorBinaryPath({ TSPOD_MONITOR: path.join(dir, 'tspod-monitor') });
  mountHelperPath({ TSPOD_MOUNT_HELPER: path.join(dir, 'tspod-mount-helper') });
  // The runtime by a path in dir, where it has no state yet: nothing to delete.
  const runtimeFile = path.join(dir, 'crun');
  fs.writeFileSync(runtimeFile, '', { mode: 0o755 });
  const runtime = OciRuntime.of(config, { id: container.id, config: { runtime: runtimeFile } });
  await runtime.delete(container.id);
  const logSettings = monitorLogSettings(container.config.logDriver, container.config.logOpts, paths.logPath);
  logPathOf(container.config.logOpts, paths.logPath);
  // (A call compiles the whole function: a few options do.)
  const { driver: logDriver, path: logPath } = logSettings;
  monitorArgs({ cid: container.id, bundle: paths.bundle, runtime: runtime.path, runtimeArgs: runtime.globalArgs, exitDir: paths.exitDir, socketDir: paths.socketDir, logDriver, logPath, exitCommand: ['tspod', 'container', 'cleanup', container.id] });
  // What planNetwork computes for slirp4netns, the rootless default (planNetwork itself asks
  // the build's environment whether it runs rootless).
  canPublish(parseNetworkMode(container.config.network));
  slirpAddresses(DEFAULT_SLIRP_OPTIONS, '92:d0:c6:0a:29:33');
  netRunFile(engine, container, 'netns');
  const decoder = new FrameDecoder();
  decoder.push(Buffer.concat([encodeFrame(FrameType.Stdout, 'hello\n'), encodeFrame(FrameType.Exit, '0')]));
  parseExitCode(Buffer.from('0'));
  fs.mkdirSync(paths.exitDir, { recursive: true });
  fs.writeFileSync(path.join(paths.exitDir, container.id), '0');
  readExitCode(paths.exitDir, container.id);
  portsColumn([{ protocol: 'tcp', hostIp: '', hostPort: 8080, containerPort: 80 }]);
  // No fixed host port: nothing is bound.
  await checkPortsAvailable([]);
  // What the start's end and the exit do when there is no health check, systemd or helper.
  notifyStarted(container, container.monitorPid, {});
  await startSystemdHealthTimer(engine, container, 'tspod');
  await stopSystemdHealthTimer(container);
  removeNotifyProxy(engine, container);
  killHelper(undefined);
  await refreshContainer(engine, { ...container, status: 'exited' });
}

/** What `ps` makes of a container's record. */
function listContainer(container: Container): void {
  const row = containerRow(container, 1_700_000_100_000);
  matchesFilters(container, row, parseContainerFilters(['status=running', 'name=web']));
  isRestarting(container);
}

/** Runs the start path's pure parts in dir (a temporary directory), with config an engine
 * configuration whose every path is in it (snapshot-training.ts makes both). */
export async function trainStartPath(dir: string, config: EngineConfig): Promise<void> {
  const commands = await createRequests();
  resolveImageName(dir);
  const request = await commands[1].createRequest();
  const containerConfig = { ...request.config, imageId: IMAGE_ID, imageName: 'docker.io/library/busybox:latest', entrypoint: [], cmd: ['httpd', '-f'] } as ContainerConfig;
  specOf(dir, containerConfig);
  const container = madeUpContainer(containerConfig);
  await startPlan(dir, config, container);
  listContainer(container);
  await trainAttach(dir);
  await trainMonitorExchanges(dir);
  await compileStartFunctions();
}
