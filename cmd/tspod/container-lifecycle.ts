// start, stop, kill, rm, wait and the monitor's exit hook (container cleanup). Each takes
// several containers, does what it can, reports each failure on its own line and exits
// non-zero if any failed, as Docker and Podman do.
import { Command, Option } from 'clipanion';
import { TspodCommand } from './tspod-command';
import { InvalidArgumentError, errorMessage, TspodError } from '../../pkg/errors';
import type { Engine } from '../../pkg/engine/engine';
import type { Container } from '../../pkg/container/container-config';

async function openEngine(cmd: TspodCommand): Promise<Engine> {
  const { Engine } = await import('../../pkg/engine/engine');
  return new Engine(cmd.config());
}

async function lookup(engine: Engine, nameOrId: string): Promise<Container> {
  const { ContainerStore } = await import('../../pkg/container/container-store');
  return new ContainerStore(engine.db).require(nameOrId) as Container;
}

async function allContainers(engine: Engine): Promise<Container[]> {
  const { refreshAll } = await import('../../pkg/container/container-exit');
  return refreshAll(engine);
}

/** Runs fn for each name; prints `name` (or fn's text) per success and `Error: ...` per failure. */
async function forEachContainer(cmd: TspodCommand, names: string[], fn: (engine: Engine, c: Container, name: string) => Promise<string | undefined>): Promise<number> {
  const engine = await openEngine(cmd);
  let code = 0;
  try {
    for (const name of names) {
      try {
        const c = await lookup(engine, name);
        const text = await fn(engine, c, name);
        if (text !== undefined) cmd.out(`${text}\n`);
      } catch (err) {
        process.stderr.write(`Error: ${errorMessage(err)}\n`);
        code = err instanceof TspodError ? err.exitCode : 125;
      }
    }
  } finally {
    engine.close();
  }
  return code;
}

function namesOrAll(names: string[], all: boolean, cidfiles: string[] = []): string[] | undefined {
  const given = [...names, ...readCidfiles(cidfiles)];
  if (all && given.length) throw new InvalidArgumentError('--all and container names cannot be used together');
  // A systemd unit's ExecStop may find its --cidfile gone already: with --ignore that is fine.
  if (!all && !given.length && !cidfiles.length) throw new InvalidArgumentError('at least one container name or ID must be given (or --all)');
  return all ? undefined : given;
}

/** The IDs in --cidfile files (written by run/create --cidfile); missing files are skipped by --ignore's caller. */
function readCidfiles(files: string[]): string[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const fs = require('node:fs') as typeof import('node:fs');
  return files.flatMap((f) => {
    try {
      return [fs.readFileSync(f, 'utf8').trim()].filter(Boolean);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new InvalidArgumentError(`reading container id file ${f}: ${(err as Error).message}`);
    }
  });
}

/** With --ignore, the names that are no container are dropped instead of reported. */
async function existing(engine: Engine, names: string[]): Promise<string[]> {
  const { ContainerStore } = await import('../../pkg/container/container-store');
  const store = new ContainerStore(engine.db);
  return names.filter((n) => store.find(n) !== undefined);
}

function checkCidfiles(files: string[], ignore: boolean): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const fs = require('node:fs') as typeof import('node:fs');
  const missing = files.find((f) => !fs.existsSync(f));
  if (missing !== undefined && !ignore) throw new InvalidArgumentError(`reading container id file ${missing}: no such file (use --ignore to skip it)`);
}

function parseTime(value: string | undefined): number | undefined {
  const timeout = value === undefined ? undefined : Number(value);
  if (timeout !== undefined && (!Number.isInteger(timeout) || timeout < 0)) throw new InvalidArgumentError(`invalid --time "${value}": use a whole number of seconds`);
  return timeout;
}

/**
 * What `start --all [--filter ...]` starts: the containers not running that match the filters.
 * A restart-policy filter is the boot-time restart, which leaves alone the unless-stopped
 * containers the user stopped (Docker's daemon does the same when it comes back).
 */
async function startCandidates(engine: Engine, filterFlags: string[]): Promise<Container[]> {
  const { containerRow, matchesFilters, parseContainerFilters } = await import('../../pkg/container/container-list');
  const filters = parseContainerFilters(filterFlags);
  const now = Date.now();
  return (await allContainers(engine)).filter(
    (c) =>
      c.status !== 'running' &&
      c.status !== 'paused' &&
      matchesFilters(c, containerRow(c, now), filters) &&
      !(filters.has('restart-policy') && c.config.restartPolicy.name === 'unless-stopped' && c.stoppedByUser),
  );
}

export class StartCommand extends TspodCommand {
  static override paths = [['start'], ['container', 'start']];
  static override usage = Command.Usage({
    description: 'Start one or more containers',
    details:
      'With --all, every container that is not running; --filter narrows that (the filters of ps). `start --all --filter restart-policy=always --filter restart-policy=unless-stopped` is what contrib/systemd/*/tspod-restart.service runs at boot: with a restart-policy filter, unless-stopped containers the user stopped stay stopped.',
    examples: [
      ['Start a stopped container', 'tspod start web'],
      ['Start and attach', 'tspod start -a web'],
      ['Bring back the containers that should run after a reboot', 'tspod start --all --filter restart-policy=always --filter restart-policy=unless-stopped'],
    ],
  });
  attach = Option.Boolean('-a,--attach', false, { description: "Attach to the container's output" });
  interactive = Option.Boolean('-i,--interactive', false, { description: "Attach the container's stdin" });
  all = Option.Boolean('--all', false, { description: 'Start all containers' });
  filter = Option.Array('-f,--filter', [], { description: 'Start only the containers matching a filter (KEY=VALUE, as in ps)' });
  detachKeys = Option.String('--detach-keys', { description: 'Key sequence for detaching (default ctrl-p,ctrl-q)' });
  names = Option.Rest();

  async run(): Promise<number> {
    const { startContainer, prepareStart, releaseStart } = await import('../../pkg/container/container-start');
    if (this.attach && this.names.length === 1) {
      const engine = await openEngine(this);
      try {
        const prepared = await prepareStart(engine, this.names[0]);
        const { connectAttach } = await import('../../pkg/runtime/monitor-client');
        const { parseDetachKeys, terminalSession } = await import('./container-attach');
        const tty = prepared.container.config.tty;
        // Connected before the process runs, so none of its output is missed.
        const session = await connectAttach(prepared.attachSocket, {
          stdin: this.interactive ? process.stdin : undefined,
          stdout: process.stdout,
          stderr: process.stderr,
          tty,
          detachKeys: parseDetachKeys(this.detachKeys),
        });
        const restore = tty ? terminalSession(session) : () => undefined;
        try {
          await releaseStart(engine, prepared);
          const result = await session.result;
          return result.detached ? 0 : result.exitCode ?? 0;
        } finally {
          restore();
          if (this.interactive) process.stdin.pause();
        }
      } finally {
        engine.close();
      }
    }
    const engine = await openEngine(this);
    let names: string[];
    try {
      // Podman's rule: filters without names pick from all containers.
      const all = this.all || (this.filter.length > 0 && this.names.length === 0);
      if (this.filter.length > 0 && this.names.length > 0) throw new InvalidArgumentError('--filter cannot be used with container names: use it with --all');
      names = namesOrAll(this.names, all) ?? (await startCandidates(engine, this.filter)).map((c) => c.id);
    } finally {
      engine.close();
    }
    return forEachContainer(this, names, async (e, c, name) => {
      const { refreshContainer } = await import('../../pkg/container/container-exit');
      const fresh = await refreshContainer(e, c);
      if (fresh.status !== 'running') await startContainer(e, c.id);
      return name;
    });
  }
}

export class StopCommand extends TspodCommand {
  static override paths = [['stop'], ['container', 'stop']];
  static override usage = Command.Usage({
    description: 'Stop one or more running containers',
    details: 'Sends the stop signal (SIGTERM unless --stop-signal said otherwise), then SIGKILL after the timeout.',
    examples: [['Stop a container', 'tspod stop web'], ['Stop at once', 'tspod stop -t 0 web'], ['Stop everything', 'tspod stop --all']],
  });
  time = Option.String('-t,--time,--timeout', { description: 'Seconds to wait before killing the container' });
  all = Option.Boolean('-a,--all', false, { description: 'Stop all running containers' });
  ignore = Option.Boolean('-i,--ignore', false, { description: 'Ignore containers that do not exist' });
  cidfile = Option.Array('--cidfile', [], { description: 'Read the container ID from this file' });
  names = Option.Rest();

  async run(): Promise<number> {
    const timeout = parseTime(this.time);
    checkCidfiles(this.cidfile, this.ignore);
    const { stopContainer, waitForMonitorGone } = await import('../../pkg/container/container-stop');
    const engine = await openEngine(this);
    let names = namesOrAll(this.names, this.all, this.cidfile) ?? (await allContainers(engine)).filter((c) => c.status === 'running').map((c) => c.id);
    if (this.ignore) names = await existing(engine, names);
    engine.close();
    return forEachContainer(this, names, async (e, c, name) => {
      await stopContainer(e, c, timeout);
      // As Podman's stop, a --rm container is gone once this returns (its name free for the
      // next `run --name`): its exit hook removes it, and is waited for.
      if (c.config.autoRemove) await waitForMonitorGone(c.monitorPid, c.id);
      return name;
    });
  }
}

export class KillCommand extends TspodCommand {
  static override paths = [['kill'], ['container', 'kill']];
  static override usage = Command.Usage({
    description: 'Send a signal to one or more running containers',
    examples: [['Kill a container', 'tspod kill web'], ['Send SIGHUP', 'tspod kill -s HUP web']],
  });
  signal = Option.String('-s,--signal', 'KILL', { description: 'Signal to send (default KILL)' });
  all = Option.Boolean('-a,--all', false, { description: 'Signal all running containers' });
  names = Option.Rest();

  async run(): Promise<number> {
    const { killContainer } = await import('../../pkg/container/container-stop');
    const engine = await openEngine(this);
    const names = namesOrAll(this.names, this.all) ?? (await allContainers(engine)).filter((c) => c.status === 'running').map((c) => c.id);
    engine.close();
    return forEachContainer(this, names, async (e, c, name) => {
      await killContainer(e, c, this.signal);
      return name;
    });
  }
}

export class RmCommand extends TspodCommand {
  static override paths = [['rm'], ['container', 'rm']];
  static override usage = Command.Usage({
    description: 'Remove one or more containers',
    examples: [['Remove a stopped container', 'tspod rm web'], ['Remove a running container at once', 'tspod rm -f web'], ['Remove all containers', 'tspod rm -af']],
  });
  force = Option.Boolean('-f,--force', false, { description: 'Kill running containers first (SIGKILL)' });
  volumes = Option.Boolean('-v,--volumes', false, { description: 'Remove the anonymous volumes of the containers' });
  all = Option.Boolean('-a,--all', false, { description: 'Remove all containers' });
  ignore = Option.Boolean('-i,--ignore', false, { description: 'Ignore containers that do not exist' });
  time = Option.String('-t,--time', { description: 'Seconds to wait for a running container to stop before killing it (with --force)' });
  cidfile = Option.Array('--cidfile', [], { description: 'Read the container ID from this file' });
  names = Option.Rest();

  async run(): Promise<number> {
    const timeout = parseTime(this.time);
    checkCidfiles(this.cidfile, this.ignore);
    const { removeContainer } = await import('../../pkg/container/container-remove');
    const { stopContainer } = await import('../../pkg/container/container-stop');
    const engine = await openEngine(this);
    let names = namesOrAll(this.names, this.all, this.cidfile) ?? (await allContainers(engine)).map((c) => c.id);
    if (this.ignore || this.force) names = await existing(engine, names);
    engine.close();
    const code = await forEachContainer(this, names, async (e, c) => {
      // -t: a graceful stop first, as Podman's `rm -f -t N` does.
      if (this.force && timeout !== undefined && c.status === 'running') await stopContainer(e, c, timeout);
      await removeContainer(e, c, { force: this.force, volumes: this.volumes });
      return c.id;
    });
    // As Podman's: the ID file goes with its container, so the next `run --cidfile` can write it.
    if (code === 0) {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      for (const f of this.cidfile) (require('node:fs') as typeof import('node:fs')).rmSync(f, { force: true });
    }
    return code;
  }
}

export class WaitCommand extends TspodCommand {
  static override paths = [['wait'], ['container', 'wait']];
  static override usage = Command.Usage({
    description: 'Wait for containers to stop and print their exit codes',
    examples: [['Wait for a container', 'tspod wait web']],
  });
  names = Option.Rest({ required: 1 });

  async run(): Promise<number> {
    const { waitForExit } = await import('../../pkg/container/container-stop');
    return forEachContainer(this, this.names, async (e, c) => String((await waitForExit(e, c.id)).exitCode));
  }
}

export class ContainerCleanupCommand extends TspodCommand {
  static override paths = [['container', 'cleanup']];
  static override usage = Command.Usage({
    description: 'Clean up after a container that exited (run by its monitor)',
    details: "Records the exit code, releases the container's network and mounts, and removes --rm containers.",
  });
  runToken = Option.String('--run-token', { hidden: true });
  names = Option.Rest({ required: 1 });

  async run(): Promise<number> {
    const { cleanupContainer } = await import('../../pkg/container/container-exit');
    const { removeContainer } = await import('../../pkg/container/container-remove');
    const { restartPerPolicy } = await import('../../pkg/container/restart-policy');
    return forEachContainer(this, this.names, async (e, c) => {
      if (this.runToken !== undefined && c.state.runToken !== this.runToken) return undefined;
      await cleanupContainer(e, c, undefined, this.runToken);
      if (c.config.autoRemove) await removeContainer(e, c, { volumes: true });
      else if (this.runToken !== undefined) await restartPerPolicy(e, c.id, this.runToken);
      return undefined;
    });
  }
}
