// rm: a stopped container's files, mounts and row go; a running one only with --force
// (SIGKILL at once, as Docker does).
import { Engine } from '../engine/engine';
import { ConflictError } from '../errors';
import { OciRuntime } from '../runtime/oci-runtime';
import { VolumeStore } from '../volume/volume-store';
import { Container } from './container-config';
import { reapStaleNetns } from '../network/early-netns';
import { cleanupContainer, refreshContainer } from './container-exit';
import { containerPaths } from './container-paths';
import { removeTrees } from '../storage/remove-trees';
import { waitForExit } from './container-stop';
import { ContainerStore } from './container-store';
import { cancelPendingRestart, isRestarting } from './restart-policy';

export interface RemoveOptions {
  force?: boolean;
  /** -v: anonymous volumes go with the container */
  volumes?: boolean;
}

export async function removeContainer(engine: Engine, container: Container, opts: RemoveOptions = {}): Promise<void> {
  if (isRestarting(container) && !opts.force) {
    throw new ConflictError(`cannot remove container ${container.id} as it is restarting: stop it first or use --force: container state improper`, 2);
  }
  let fresh = await refreshContainer(engine, await cancelPendingRestart(engine, container));
  if (fresh.status === 'running' || fresh.status === 'paused' || fresh.status === 'stopping') {
    if (!opts.force) {
      throw new ConflictError(
        `cannot remove container ${container.id} as it is ${fresh.status} - running or paused containers cannot be removed without force: container state improper`,
        // Podman's exit code for "one of the containers is running or paused"
        2,
      );
    }
    await OciRuntime.of(engine.config, container).kill(container.id, 'KILL');
    fresh = await waitForExit(engine, container.id, 10_000);
    await cleanupContainer(engine, fresh, fresh.status === 'exited' ? fresh.exitCode : 137);
  }
  const paths = containerPaths(engine.config, container.id);
  await reapStaleNetns(engine, container);
  await (await engine.driver()).unmount(paths.rootfs);
  await OciRuntime.of(engine.config, container).delete(container.id);
  new ContainerStore(engine.db).delete(container.id);
  await removeTrees([paths.run, paths.home]);
  // The exit file stays: an attached `run --rm` may still need the code after the removal.
  if (opts.volumes) {
    const volumes = new VolumeStore(engine.db, engine.config.graphRoot);
    for (const m of container.config.mounts) {
      if (m.type === 'volume' && m.source && volumes.get(m.source)?.anonymous) volumes.remove(m.source);
    }
  }
}
