// Everything `tspod info` reports: Podman's layout (host, store, registries, version) for bug
// reports, plus the top-level fields Docker users template on ({{.Driver}}, ...).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EngineConfig } from '../config/engine-config';
import { cgroupControllers, cgroupManager, cgroupVersion } from '../host/cgroups';
import { describeProgram, ProgramInfo } from '../host/executables';
import { currentMappings, IdMap } from '../rootless/id-mappings';
import { chooseRuntime, runtimeVersion } from '../runtime/runtime-probe';
import { openDatabase } from '../state/database';
import { storeCounts } from '../state/store-counts';
import { probeDriver } from '../storage/driver-probe';
import { API_VERSION, TSPOD_VERSION } from '../version';
import { errorMessage } from '../errors';

function osRelease(): Record<string, string> {
  const out: Record<string, string> = {};
  try {
    for (const line of fs.readFileSync('/etc/os-release', 'utf8').split('\n')) {
      const m = /^(\w+)=("?)(.*)\2$/.exec(line.trim());
      if (m) out[m[1]] = m[3];
    }
  } catch {
    /* not every system has it */
  }
  return out;
}

function diskUsage(dir: string): { total: number; used: number } {
  try {
    const st = fs.statfsSync(dir);
    return { total: st.blocks * st.bsize, used: (st.blocks - st.bfree) * st.bsize };
  } catch {
    return { total: 0, used: 0 };
  }
}

function program(p: ProgramInfo | undefined): { executable: string; package: string; version: string } {
  return { executable: p?.executable ?? '', package: '', version: p?.version ?? '' };
}

function goArch(): string {
  return ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' } as Record<string, string>)[process.arch] ?? process.arch;
}

export async function systemInfo(config: EngineConfig): Promise<Record<string, unknown>> {
  const rel = osRelease();
  const cgv = cgroupVersion();
  const manager = cgroupManager(config.containers.cgroupManager, cgv, config.host.rootless);
  const [slirp, pasta, fuse, driver, runtime] = await Promise.all([
    describeProgram('slirp4netns'),
    describeProgram('pasta'),
    describeProgram('fuse-overlayfs'),
    probeDriver({ graphRoot: config.graphRoot, runRoot: config.runRoot, requested: config.storageDriver, mountProgram: config.storage.mountProgram }),
    (async () => {
      try {
        const choice = chooseRuntime(config.runtime, config.containers.runtimes);
        return { name: choice.name, path: choice.path, version: await runtimeVersion(choice), package: '' };
      } catch (err) {
        return { name: '', path: '', version: '', package: '', error: errorMessage(err) };
      }
    })(),
  ]);
  const db = openDatabase(config.databasePath);
  const counts = storeCounts(db);
  db.close();
  const uidmap: IdMap[] | null = config.host.rootless ? currentMappings('uid', config.host.uid) : null;
  const gidmap: IdMap[] | null = config.host.rootless ? currentMappings('gid', config.host.gid) : null;
  const disk = diskUsage(config.graphRoot);
  const distribution = { distribution: rel.ID ?? 'unknown', version: rel.VERSION_ID ?? '', codename: rel.VERSION_CODENAME ?? '' };
  const host = {
    arch: goArch(),
    cgroupControllers: cgroupControllers(cgv),
    cgroupManager: manager,
    cgroupVersion: cgv,
    cpus: os.cpus().length,
    distribution,
    eventLogger: config.containers.eventsLogger,
    hostname: os.hostname(),
    idMappings: { gidmap, uidmap },
    kernel: os.release(),
    logDriver: config.containers.logDriver,
    memFree: os.freemem(),
    memTotal: os.totalmem(),
    networkBackend: config.host.rootless ? config.containers.rootlessNetworkCmd : 'bridge',
    ociRuntime: runtime,
    os: 'linux',
    pasta: program(pasta),
    security: { rootless: config.host.rootless, seccompEnabled: true, seccompProfilePath: '', selinuxEnabled: false, apparmorEnabled: false },
    slirp4netns: program(slirp),
    fuseOverlayfs: program(fuse),
    usernsMode: config.host.userns,
    uptime: `${Math.floor(os.uptime())}s`,
  };
  const store = {
    configFile: config.storage.files[0] ?? '',
    containerStore: { number: counts.containers, paused: counts.paused, running: counts.running, stopped: counts.stopped },
    graphDriverName: driver.name,
    graphDriverReason: driver.reason ?? '',
    graphRoot: config.graphRoot,
    graphRootAllocated: disk.total,
    graphRootUsed: disk.used,
    imageStore: { number: counts.images },
    runRoot: config.runRoot,
    databasePath: config.databasePath,
    volumePath: path.join(config.graphRoot, 'volumes'),
    volumeStore: { number: counts.volumes },
  };
  const registries = {
    search: config.registries.unqualifiedSearch,
    configFiles: config.registries.files,
    registries: config.registries.registries.map((r) => ({
      prefix: r.prefix,
      location: r.location,
      insecure: r.insecure,
      blocked: r.blocked,
      mirrors: r.mirrors.map((m) => m.location),
    })),
  };
  const version = { APIVersion: API_VERSION, Version: TSPOD_VERSION, NodeVersion: process.versions.node, OsArch: `linux/${goArch()}`, Os: 'linux' };
  const osName = rel.PRETTY_NAME ?? 'Linux';
  return {
    host,
    store,
    registries,
    version,
    // Docker's `docker info` fields, so `--format '{{.Driver}}'` style templates work.
    ID: '',
    Containers: counts.containers,
    ContainersRunning: counts.running,
    ContainersPaused: counts.paused,
    ContainersStopped: counts.stopped,
    Images: counts.images,
    Driver: driver.name,
    DriverStatus: [['Backing Filesystem', 'extfs']],
    LoggingDriver: config.containers.logDriver,
    CgroupDriver: manager,
    CgroupVersion: cgv === 'v2' ? '2' : '1',
    KernelVersion: os.release(),
    OperatingSystem: osName,
    OSVersion: rel.VERSION_ID ?? '',
    OSType: 'linux',
    Architecture: os.machine(),
    NCPU: os.cpus().length,
    MemTotal: os.totalmem(),
    DockerRootDir: config.graphRoot,
    Name: os.hostname(),
    ServerVersion: TSPOD_VERSION,
    DefaultRuntime: runtime.name,
    Runtimes: runtime.name ? { [runtime.name]: { path: runtime.path } } : {},
    SecurityOptions: ['name=seccomp,profile=default', ...(config.host.rootless ? ['name=rootless'] : [])],
    IndexServerAddress: 'https://index.docker.io/v1/',
    RegistryConfig: { IndexConfigs: {}, Mirrors: registries.registries.flatMap((r) => r.mirrors) },
  };
}
