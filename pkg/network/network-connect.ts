// `network connect` / `network disconnect` of a container, running or not.
import { Engine } from '../engine/engine';
import { ConflictError, InvalidArgumentError, NotFoundError } from '../errors';
import type { Container, ContainerConfig, ContainerRuntimeState } from '../container/container-config';
import { ContainerStore } from '../container/container-store';
import { refreshContainer } from '../container/container-exit';
import { NetworkRequest } from './endpoint-lease';
import { connectRunning, containerEndpoints, disconnectContainer, leaseOn } from './network-attach';
import { networkStore } from './network-remove';
import { DEFAULT_NETWORK } from './network-store';
import { effectiveMode, NetworkEndpoint } from './network-setup';
import { endpointSettings } from './user-networks';

function requireContainer(store: ContainerStore, nameOrId: string): Container {
  const c = store.find<ContainerConfig, ContainerRuntimeState>(nameOrId);
  if (!c) throw new NotFoundError(`no container with name or ID "${nameOrId}" found: no such container`);
  return c;
}

/** Only containers on bridges can join more of them (Podman refuses slirp4netns too). */
function checkBridgeMode(engine: Engine, c: Container): void {
  if (effectiveMode(engine, c.config).kind !== 'networks') {
    throw new InvalidArgumentError(`container ${c.name} uses the ${c.config.network || DEFAULT_NETWORK} network mode: only containers created with --network NAME of a user-defined network can be connected to more networks`);
  }
}

/** Keeps inspect's NetworkSettings of a running container in step with its endpoints. */
function recordEndpoints(engine: Engine, c: Container): void {
  const status = c.state.network;
  if (!status) return;
  const networks: Record<string, NetworkEndpoint> = {};
  for (const { net, endpoint } of containerEndpoints(engine, c.id)) networks[net.name] = endpointSettings(net, endpoint);
  new ContainerStore(engine.db).update<ContainerRuntimeState>(c.id, { state: { ...c.state, network: { ...status, networks } } });
}

export async function connectContainer(engine: Engine, nameOrId: string, network: string, req: NetworkRequest): Promise<void> {
  const store = new ContainerStore(engine.db);
  const c = await refreshContainer(engine, requireContainer(store, nameOrId));
  const net = networkStore(engine).require(network);
  if (net.name === DEFAULT_NETWORK) throw new InvalidArgumentError(`containers cannot be connected to the default network ${net.name}: connect them to a user-defined network`);
  checkBridgeMode(engine, c);
  if (networkStore(engine).endpoints({ containerId: c.id }).some((e) => e.network === net.name)) {
    throw new ConflictError(`container ${c.name} is already connected to network ${net.name}`);
  }
  if (c.status === 'running' || c.status === 'paused') {
    await connectRunning(engine, c.id, c.pid, net.name, req);
    recordEndpoints(engine, c);
  } else leaseOn(engine, c.id, net.name, req);
}

export async function disconnectFromNetwork(engine: Engine, nameOrId: string, network: string): Promise<void> {
  const store = new ContainerStore(engine.db);
  const c = await refreshContainer(engine, requireContainer(store, nameOrId));
  const net = networkStore(engine).require(network);
  if (!networkStore(engine).endpoints({ containerId: c.id }).some((e) => e.network === net.name)) {
    throw new NotFoundError(`container ${c.name} is not connected to network ${net.name}`);
  }
  const running = c.status === 'running' || c.status === 'paused';
  await disconnectContainer(engine, c.id, net.name, running ? c.pid : undefined);
  if (running) recordEndpoints(engine, c);
}
