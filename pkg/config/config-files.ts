// Where the containers-*.conf files live, in the order Podman reads them, so a Podman user's
// settings carry over. Environment overrides (CONTAINERS_CONF, ...) win over everything.
import * as os from 'node:os';
import * as path from 'node:path';
import { dropIns } from './toml-files';

export function configHome(env: NodeJS.ProcessEnv): string {
  return env.XDG_CONFIG_HOME || path.join(env.HOME || os.homedir(), '.config');
}

export function containersConfFiles(env: NodeJS.ProcessEnv, rootless: boolean): string[] {
  if (env.CONTAINERS_CONF) return [env.CONTAINERS_CONF];
  const files = [
    '/usr/share/containers/containers.conf',
    ...dropIns('/usr/share/containers/containers.conf.d'),
    '/etc/containers/containers.conf',
    ...dropIns('/etc/containers/containers.conf.d'),
  ];
  if (rootless) {
    const user = path.join(configHome(env), 'containers');
    files.push(path.join(user, 'containers.conf'), ...dropIns(path.join(user, 'containers.conf.d')));
  }
  if (env.CONTAINERS_CONF_OVERRIDE) files.push(env.CONTAINERS_CONF_OVERRIDE);
  return files;
}

/** storage.conf: the user's file replaces the system one (it is not merged), as in containers/storage. */
export function storageConfFiles(env: NodeJS.ProcessEnv, rootless: boolean): string[] {
  if (env.CONTAINERS_STORAGE_CONF) return [env.CONTAINERS_STORAGE_CONF];
  const system = ['/etc/containers/storage.conf', '/usr/share/containers/storage.conf'];
  return rootless ? [path.join(configHome(env), 'containers', 'storage.conf'), ...system] : system;
}

/** registries.conf: the first file found, then its registries.conf.d drop-ins merged over it. */
export function registriesConfFiles(env: NodeJS.ProcessEnv, rootless: boolean): { main: string[]; dropIns: string[] } {
  if (env.CONTAINERS_REGISTRIES_CONF) return { main: [env.CONTAINERS_REGISTRIES_CONF], dropIns: [] };
  const user = path.join(configHome(env), 'containers');
  const main = rootless ? [path.join(user, 'registries.conf'), '/etc/containers/registries.conf'] : ['/etc/containers/registries.conf'];
  const extra = [...dropIns('/etc/containers/registries.conf.d')];
  if (rootless) extra.push(...dropIns(path.join(user, 'registries.conf.d')));
  return { main, dropIns: extra };
}
