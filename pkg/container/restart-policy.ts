// Restart policies (--restart no|on-failure[:N]|always|unless-stopped) with no daemon to run
// them. The monitor runs `tspod container cleanup --run-token T ID` when the container's
// process ends; that exit hook records the exit and then, here, decides whether the policy
// wants the container back and starts it again.
//
// Docker's backoff: the first restart waits 100 ms, each consecutive one twice the last (at
// most a minute), and a run of 10 s or more resets the delay. Without a daemon the delay is
// waited by the exit hook process itself: the monitor starts it detached in a session of its
// own (native/monitor-exit.c), so it outlives the monitor and the CLI, sleeps, and then starts
// the container. While it sleeps the row records it (state.restartPending: its pid and when it
// will start), which is what makes inspect say Restarting and ps say "Restarting (N) ...".
// `stop`, `rm -f` and a manual `start` cancel the pending restart: stop and rm mark the
// container stopped by the user and wake the hook (SIGTERM), which then gives up; start takes
// a new run token, which the hook no longer matches.
import { Engine } from '../engine/engine';
import { ConflictError, errorMessage } from '../errors';
import { processAlive } from '../host/processes';
import { log } from '../log';
import { Container, ContainerConfig, ContainerRuntimeState, RestartPolicy } from './container-config';
import { ContainerStore } from './container-store';

export const BACKOFF_START_MS = 100;
export const BACKOFF_MAX_MS = 60_000;
/** A run at least this long counts as a success for the backoff: the next delay starts over. */
export const BACKOFF_RESET_RUN_MS = 10_000;
/** How long stop/rm wait for a woken exit hook to finish a start it already began. */
const CANCEL_WAIT_MS = 30_000;

export interface RestartDecisionInput {
  policy: RestartPolicy;
  exitCode: number;
  /** restarts the policy already made since the last manual start */
  restartCount: number;
  stoppedByUser: boolean;
}

/** Whether the policy brings the container back after this exit (Docker's rules). */
export function shouldRestart({ policy, exitCode, restartCount, stoppedByUser }: RestartDecisionInput): boolean {
  if (stoppedByUser) return false;
  switch (policy.name) {
    case 'always':
    case 'unless-stopped':
      return true;
    case 'on-failure':
      return exitCode !== 0 && (policy.maxRetries === 0 || restartCount < policy.maxRetries);
    default:
      return false;
  }
}

/** The delay before the next restart, from the previous delay and how long the run lasted. */
export function nextBackoffMs(previousMs: number | undefined, ranMs: number): number {
  if (previousMs === undefined || previousMs <= 0 || ranMs >= BACKOFF_RESET_RUN_MS) return BACKOFF_START_MS;
  return Math.min(previousMs * 2, BACKOFF_MAX_MS);
}

/** A restart is being waited for by a live exit hook. */
export function isRestarting(c: Container): boolean {
  const pending = c.state.restartPending;
  return c.status === 'exited' && pending !== undefined && processAlive(pending.pid);
}

/** Resolves after ms, or as soon as the process gets SIGTERM (a cancel from stop or rm). */
function cancellableDelay(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      process.removeListener('SIGTERM', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    process.on('SIGTERM', done);
  });
}

/**
 * The exit hook's second half: after cleanup, restarts the container if its policy says so.
 * Only the hook of the run that ended (RUN_TOKEN) may; it returns once the container runs
 * again, or at once when there is nothing to do.
 */
export async function restartPerPolicy(engine: Engine, id: string, runToken: string): Promise<void> {
  const store = new ContainerStore(engine.db);
  const c = store.get<ContainerConfig, ContainerRuntimeState>(id);
  if (!c || c.state.runToken !== runToken || c.status !== 'exited') return;
  if (!shouldRestart({ policy: c.config.restartPolicy, exitCode: c.exitCode, restartCount: c.restartCount, stoppedByUser: c.stoppedByUser })) return;
  const delay = nextBackoffMs(c.state.restartBackoffMs, c.finishedAt - c.startedAt);
  // A SIGTERM from stop/rm must never kill the hook half-way through a start: it only wakes it.
  process.on('SIGTERM', () => undefined);
  let pending = false;
  store.mutate<ContainerConfig, ContainerRuntimeState>(id, (now) => {
    if (now.state.runToken !== runToken || now.status !== 'exited' || now.stoppedByUser) return undefined;
    pending = true;
    return { state: { ...now.state, restartBackoffMs: delay, restartPending: { pid: process.pid, at: Date.now() + delay } } };
  });
  if (!pending) return;
  await cancellableDelay(delay);
  const now = store.get<ContainerConfig, ContainerRuntimeState>(id);
  if (!now || now.state.runToken !== runToken || now.status !== 'exited' || now.stoppedByUser || now.state.restartPending?.pid !== process.pid) return;
  const { startContainer } = await import('./container-start');
  try {
    await startContainer(engine, id, { policyRestart: true });
  } catch (err) {
    log.debug(`restart of ${id} failed: ${errorMessage(err)}`);
    store.mutate<ContainerConfig, ContainerRuntimeState>(id, (failed) => ({ state: { ...failed.state, restartPending: undefined, error: `restart (policy ${c.config.restartPolicy.name}) failed: ${errorMessage(err)}` } }));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Cancels a restart the exit hook is waiting for (stop, rm -f): marks the container stopped by
 * the user, wakes the hook and waits until it is gone. A hook that had already begun the start
 * finishes it; the caller sees the fresh record and stops that run as usual.
 */
export async function cancelPendingRestart(engine: Engine, container: Container): Promise<Container> {
  const store = new ContainerStore(engine.db);
  const pending = container.state.restartPending;
  if (!pending) return container;
  store.update(container.id, { stoppedByUser: true });
  if (processAlive(pending.pid)) {
    try {
      process.kill(pending.pid, 'SIGTERM');
    } catch {
      // gone meanwhile
    }
    const deadline = Date.now() + CANCEL_WAIT_MS;
    while (processAlive(pending.pid) && Date.now() < deadline) await sleep(20);
  }
  const seen = store.mutate<ContainerConfig, ContainerRuntimeState>(container.id, (fresh) =>
    fresh.state.restartPending?.pid === pending.pid ? { state: { ...fresh.state, restartPending: undefined } } : undefined,
  );
  const fresh = seen && store.get<ContainerConfig, ContainerRuntimeState>(container.id);
  if (!fresh) throw new ConflictError(`container ${container.name} was removed while its restart was cancelled`);
  return fresh;
}
