// The configuration one tspod command runs with: paths, containers.conf, storage.conf and
// registries.conf, with the global flags (--root, --runroot, --storage-driver, --runtime)
// applied over the files. Loaded once per command and passed down; nothing else reads files.
import * as os from 'node:os';
import * as path from 'node:path';
import { HostIdentity, hostIdentity } from './host-identity';
import { containersConfFiles, registriesConfFiles, storageConfFiles } from './config-files';
import { RegistriesConfig, loadRegistriesConfig } from './registries-conf';
import { TomlCache } from './toml-cache';
import { TomlTable, loadFirst, loadMerged, numberAt, stringAt, stringsAt, tableAt } from './toml-files';

export interface GlobalOptions {
  logLevel?: string;
  root?: string;
  runroot?: string;
  storageDriver?: string;
  runtime?: string;
}

export interface ContainersConfig {
  /** raw merged tables, for settings later code reads */
  raw: TomlTable;
  files: string[];
  runtime?: string;
  runtimes: Record<string, string[]>;
  cgroupManager?: string;
  logDriver: string;
  logSizeMax: number;
  pidsLimit: number;
  defaultCapabilities?: string[];
  env: string[];
  rootlessNetworkCmd: string;
  eventsLogger: string;
}

export interface StorageConfig {
  files: string[];
  driver?: string;
  mountProgram?: string;
  /** [tspod] graphroot / runroot: tspod's own keys; Podman's graphroot is not ours to write */
  graphRoot?: string;
  runRoot?: string;
}

export interface EngineConfig {
  host: HostIdentity;
  /** where images, layers, containers and the database live */
  graphRoot: string;
  /** pids, sockets, locks, mounts: gone after a reboot */
  runRoot: string;
  /** the per-user runtime dir (XDG_RUNTIME_DIR or fallback) */
  runtimeDir: string;
  configHome: string;
  databasePath: string;
  storageDriver?: string;
  runtime?: string;
  containers: ContainersConfig;
  storage: StorageConfig;
  registries: RegistriesConfig;
}

function dataHome(env: NodeJS.ProcessEnv): string {
  return env.XDG_DATA_HOME || path.join(env.HOME || os.homedir(), '.local', 'share');
}

function parseContainersConf(table: TomlTable, files: string[]): ContainersConfig {
  const engine = tableAt(table, 'engine');
  const containers = tableAt(table, 'containers');
  const network = tableAt(table, 'network');
  const runtimes: Record<string, string[]> = {};
  for (const [name, paths] of Object.entries(tableAt(engine, 'runtimes'))) {
    if (Array.isArray(paths)) runtimes[name] = paths.filter((p): p is string => typeof p === 'string');
  }
  return {
    raw: table,
    files,
    runtime: stringAt(engine, 'runtime'),
    runtimes,
    cgroupManager: stringAt(engine, 'cgroup_manager'),
    logDriver: stringAt(containers, 'log_driver') ?? 'k8s-file',
    logSizeMax: numberAt(containers, 'log_size_max') ?? -1,
    pidsLimit: numberAt(containers, 'pids_limit') ?? 2048,
    defaultCapabilities: stringsAt(containers, 'default_capabilities'),
    env: stringsAt(containers, 'env') ?? [],
    rootlessNetworkCmd: stringAt(network, 'default_rootless_network_cmd') ?? 'slirp4netns',
    eventsLogger: stringAt(engine, 'events_logger') ?? 'file',
  };
}

function parseStorageConf(table: TomlTable, files: string[]): StorageConfig {
  const storage = tableAt(table, 'storage');
  const options = tableAt(storage, 'options');
  const overlay = tableAt(options, 'overlay');
  const ours = tableAt(table, 'tspod');
  return {
    files,
    driver: stringAt(storage, 'driver'),
    mountProgram: stringAt(overlay, 'mount_program') ?? stringAt(options, 'mount_program'),
    graphRoot: stringAt(ours, 'graphroot'),
    runRoot: stringAt(ours, 'runroot'),
  };
}

export function loadEngineConfig(globals: GlobalOptions = {}, env: NodeJS.ProcessEnv = process.env): EngineConfig {
  const host = hostIdentity(env);
  const defaultRun = host.rootless ? path.join(host.runtimeDir, 'tspod') : '/run/tspod';
  // Beside the default run root whatever --runroot says: it caches the user's files, not a store's.
  const cache = new TomlCache(path.join(defaultRun, 'config-cache.json'));
  const containersLoaded = loadMerged(containersConfFiles(env, host.rootless), cache);
  const storageLoaded = loadFirst(storageConfFiles(env, host.rootless), cache);
  cache.save();
  const containers = parseContainersConf(containersLoaded.table, containersLoaded.files);
  const storage = parseStorageConf(storageLoaded.table, storageLoaded.files);

  const defaultGraph = host.rootless ? path.join(dataHome(env), 'tspod') : '/var/lib/tspod';
  const graphRoot = path.resolve(globals.root || storage.graphRoot || defaultGraph);
  const runRoot = path.resolve(globals.runroot || storage.runRoot || defaultRun);
  const config: Omit<EngineConfig, 'registries'> = {
    host,
    graphRoot,
    runRoot,
    runtimeDir: host.runtimeDir,
    configHome: path.join(env.XDG_CONFIG_HOME || path.join(env.HOME || os.homedir(), '.config'), 'containers'),
    databasePath: path.join(graphRoot, 'tspod.db'),
    storageDriver: globals.storageDriver || env.STORAGE_DRIVER || storage.driver,
    runtime: globals.runtime || containers.runtime,
    containers,
    storage,
  };
  // registries.conf only matters to commands that resolve or contact a registry: found (two
  // directory listings) and read on first use.
  let registries: RegistriesConfig | undefined;
  const loadRegistries = (): RegistriesConfig => {
    const files = registriesConfFiles(env, host.rootless);
    const loaded = loadRegistriesConfig(files.main, files.dropIns, cache);
    cache.save();
    return loaded;
  };
  return Object.defineProperty(config, 'registries', {
    enumerable: true,
    get: () => (registries ??= loadRegistries()),
  }) as EngineConfig;
}
