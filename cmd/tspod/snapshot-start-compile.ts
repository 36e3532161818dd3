// The container start, exit and removal functions that need the store, the runtime, the
// monitor or mounts, compiled at snapshot build time without doing their work
// (snapshot-compile-only.ts says how; each listed reads an argument or `this` first).
import Database from 'better-sqlite3';
import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import { RunCommand } from './container-run';
import { ContainerCreateCommand } from './container-create-options';
import { ContainerCleanupCommand, RmCommand } from './container-lifecycle';
import { PsCommand } from './container-ps';
import { TspodCommand } from './tspod-command';
import { AnyFunction, compileOnly, method } from './snapshot-compile-only';
import { createContainer } from '../../pkg/container/container-create';
import { mountInputs, mountRootfs, prepareStart, releaseStart, rootfsDriver, writeBundle } from '../../pkg/container/container-start';
import { removeContainer } from '../../pkg/container/container-remove';
import { removeTrees } from '../../pkg/storage/remove-trees';
import { cleanupContainer } from '../../pkg/container/container-exit';
import { exitCodeOf, waitForExit } from '../../pkg/container/container-stop';
import { ContainerStore } from '../../pkg/container/container-store';
import { writeEtcFiles } from '../../pkg/container/etc-files';
import { cancelPendingRestart } from '../../pkg/container/restart-policy';
import { Engine } from '../../pkg/engine/engine';
import { ImageStore } from '../../pkg/image/image-store';
import { beginNetwork, planNetwork, tearDownNetwork } from '../../pkg/network/network-setup';
import { startHelper } from '../../pkg/network/helper-process';
import { startPortForwarder } from '../../pkg/network/port-forwarder';
import { AttachSession } from '../../pkg/runtime/monitor-client';
import { startMonitor } from '../../pkg/runtime/monitor-launch';
import { launchMonitor, spawnMonitor } from '../../pkg/runtime/monitor-process';
import { OciRuntime } from '../../pkg/runtime/oci-runtime';
import { sealRuntime } from '../../pkg/runtime/runtime-binary';
import { openDatabase } from '../../pkg/state/database';
import { probeDriver } from '../../pkg/storage/driver-probe';
import { OverlayDriver } from '../../pkg/storage/overlay-driver';
import { connect as connectHelperServer } from '../../pkg/storage/helper-server';

const START_FUNCTIONS: AnyFunction[] = [
  // Node's: each first checks that the program is a string (no process, no handle is made).
  execFile as unknown as AnyFunction,
  execFileSync as unknown as AnyFunction,
  spawn as unknown as AnyFunction,
  spawnSync as unknown as AnyFunction,
  method(TspodCommand, 'globals'),
  method(TspodCommand, 'config'),
  method(RunCommand, 'run'),
  method(RunCommand, 'startAndAttach'),
  method(RunCommand, 'removeIfAsked'),
  method(RunCommand, 'removeQuietly'),
  method(RunCommand, 'attachedStreams'),
  method(ContainerCreateCommand, 'createFromFlags'),
  method(ContainerCreateCommand, 'replaceExisting'),
  method(ContainerCreateCommand, 'writeCidfile'),
  method(RmCommand, 'run'),
  method(ContainerCleanupCommand, 'run'),
  method(PsCommand, 'run'),
  createContainer,
  prepareStart,
  releaseStart,
  writeBundle,
  mountInputs,
  mountRootfs,
  rootfsDriver,
  removeContainer,
  removeTrees,
  cleanupContainer,
  cancelPendingRestart,
  exitCodeOf,
  waitForExit,
  writeEtcFiles,
  planNetwork,
  beginNetwork,
  tearDownNetwork,
  startHelper,
  startPortForwarder,
  startMonitor,
  launchMonitor,
  spawnMonitor,
  // Its promise's executor reads the name first (snapshot-monitor-training.ts runs the rest).
  connectHelperServer,
  sealRuntime,
  method(OciRuntime, 'run'),
  openDatabase,
  // better-sqlite3's: its first statement asks whether the file name is a Buffer.
  Database as unknown as AnyFunction,
  // Its first statement asks whether fn is a function (the argument is one), the second reads this.
  method(Database, 'transaction'),
  probeDriver,
  method(Engine, 'driver'),
  method(Engine, 'layers'),
  method(Engine, 'checkLayerFormat'),
  method(OverlayDriver, 'mount'),
  method(OverlayDriver, 'mountOverlay'),
  method(ContainerStore, 'get'),
  method(ContainerStore, 'find'),
  method(ContainerStore, 'insert'),
  method(ContainerStore, 'update'),
  method(ImageStore, 'get'),
  method(ImageStore, 'byName'),
  method(ImageStore, 'hydrate'),
  method(AttachSession, 'receive'),
  method(AttachSession, 'finish'),
  method(AttachSession, 'cleanupDone'),
];

export function compileStartFunctions(): Promise<void> {
  return compileOnly(START_FUNCTIONS);
}
