// The networks of one store (root or rootless), which of them containers use, and `network
// rm` / `network prune`. A network a container (in any state) is connected to is in use, as
// in Podman; -f removes those containers first.
import * as crypto from 'node:crypto';
import { Engine } from '../engine/engine';
import { ConflictError, NotFoundError, TspodError } from '../errors';
import type { ContainerConfig, ContainerRuntimeState } from '../container/container-config';
import { ContainerStore } from '../container/container-store';
import { hostIdentity } from '../config/host-identity';
import { RemoveReport, failureKind } from '../engine/remove-report';
import { parseNetworkMode } from './network-mode';
import { DEFAULT_NETWORK, NetworkRecord, NetworkStore } from './network-store';

/** A fixed ID, so `network inspect bridge` prints the same one on every call. */
const DEFAULT_NETWORK_ID = crypto.createHash('sha256').update('tspod default network').digest('hex');

/**
 * Rootless, the default network is slirp4netns's private 10.0.2.0/24 per container; as root it
 * is the tspod0 bridge on the host (10.87.0.0/16: clear of Docker's 172.17 and Podman's 10.88,
 * so the three can run side by side).
 */
export function defaultNetwork(rootless: boolean): NetworkRecord {
  return {
    name: DEFAULT_NETWORK,
    id: DEFAULT_NETWORK_ID,
    driver: 'bridge',
    created: 0,
    subnets: [rootless ? { subnet: '10.0.2.0/24', gateway: '10.0.2.2' } : { subnet: '10.87.0.0/16', gateway: '10.87.0.1' }],
    interface: rootless ? 'tap0' : 'tspod0',
    internal: false,
    ipv6: false,
    dnsEnabled: false,
    labels: {},
    options: {},
  };
}

export function networkStore(engine: Engine): NetworkStore {
  const rootless = hostIdentity().rootless;
  return new NetworkStore(engine.db, () => defaultNetwork(rootless));
}

/** Containers without a user network are on the default one (bridge, default, podman). */
export function onDefaultNetwork(config: Pick<ContainerConfig, 'network'>): boolean {
  try {
    return parseNetworkMode(config.network).kind === 'default';
  } catch {
    return false;
  }
}

/** Network name -> the containers (any state) connected to it. */
export function networkUsers(engine: Engine): Map<string, { id: string; name: string; status: string }[]> {
  const users = new Map<string, { id: string; name: string; status: string }[]>();
  const add = (net: string, c: { id: string; name: string; status: string }): void => {
    users.set(net, [...(users.get(net) ?? []), c]);
  };
  const containers = new ContainerStore(engine.db).list<ContainerConfig, ContainerRuntimeState>();
  const byId = new Map(containers.map((c) => [c.id, c]));
  const endpoints = networkStore(engine).endpoints();
  const withEndpoints = new Set(endpoints.map((e) => e.containerId));
  for (const e of endpoints) {
    const c = byId.get(e.containerId);
    if (c) add(e.network, c);
  }
  for (const c of containers) if (!withEndpoints.has(c.id) && onDefaultNetwork(c.config)) add(DEFAULT_NETWORK, c);
  return users;
}


export async function removeNetworks(engine: Engine, names: readonly string[], opts: { force?: boolean } = {}): Promise<RemoveReport> {
  const store = networkStore(engine);
  const report: RemoveReport = { removed: [], failures: [] };
  for (const name of names) {
    try {
      const net = store.require(name);
      if (net.name === DEFAULT_NETWORK) throw new TspodError(`default network ${net.name} cannot be removed`);
      const users = networkUsers(engine).get(net.name) ?? [];
      if (users.length > 0) {
        if (!opts.force) {
          throw new ConflictError(`"${net.name}" has associated containers with it (${users.map((u) => u.name).join(', ')}): use -f to remove them first: network is being used`);
        }
        const { removeContainer } = await import('../container/container-remove');
        const containers = new ContainerStore(engine.db);
        for (const u of users) {
          const c = containers.get<ContainerConfig, ContainerRuntimeState>(u.id);
          if (c) await removeContainer(engine, c, { force: true });
        }
      }
      store.remove(net.name);
      report.removed.push(name);
    } catch (err) {
      report.failures.push({ name, kind: failureKind(err), message: (err as Error).message });
    }
  }
  return report;
}

/** Every network but the default that no container uses and `keep` does not keep. */
export function pruneNetworks(engine: Engine, keep: (n: NetworkRecord) => boolean = () => false): string[] {
  const store = networkStore(engine);
  const users = networkUsers(engine);
  const pruned: string[] = [];
  for (const net of store.list()) {
    if (net.name === DEFAULT_NETWORK || users.has(net.name) || keep(net)) continue;
    store.remove(net.name);
    pruned.push(net.name);
  }
  return pruned;
}
