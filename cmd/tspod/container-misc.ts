// rename, container exists, port, top, pause/unpause and restart: small commands on one
// container (several for pause, unpause and restart, which report each failure on its own
// line and exit non-zero if any failed, as Docker and Podman do).
import { Command, Option } from 'clipanion';
import * as fs from 'node:fs';
import { TspodCommand } from './tspod-command';
import { ConflictError, errorMessage, HostError, InvalidArgumentError, TspodError } from '../../pkg/errors';
import type { Engine } from '../../pkg/engine/engine';
import type { Container } from '../../pkg/container/container-config';


/** The container `name` finds, brought in line with its processes. */
async function findFresh(engine: Engine, name: string): Promise<Container> {
  const { ContainerStore } = await import('../../pkg/container/container-store');
  const { refreshContainer } = await import('../../pkg/container/container-exit');
  return refreshContainer(engine, new ContainerStore(engine.db).require(name) as Container);
}

/** Runs fn for each name; prints what it returns per success and `Error: ...` per failure. */
async function eachName(cmd: TspodCommand, names: string[], fn: (engine: Engine, c: Container, name: string) => Promise<string>): Promise<number> {
  return cmd.withEngine(async (engine) => {
    let code = 0;
    for (const name of names) {
      try {
        cmd.out(`${await fn(engine, await findFresh(engine, name), name)}\n`);
      } catch (err) {
        process.stderr.write(`Error: ${errorMessage(err)}\n`);
        code = err instanceof TspodError ? err.exitCode : 125;
      }
    }
    return code;
  });
}

export class RenameCommand extends TspodCommand {
  static override paths = [['rename'], ['container', 'rename']];
  static override usage = Command.Usage({
    description: 'Rename a container',
    details: 'The new name must match [a-zA-Z0-9][a-zA-Z0-9_.-]* and be free. Running containers can be renamed too.',
    examples: [['Rename a container', 'tspod rename old_name new_name']],
  });
  container = Option.String({ name: 'CONTAINER' });
  newName = Option.String({ name: 'NAME' });

  async run(): Promise<void> {
    const { isValidContainerName } = await import('../../pkg/container/container-names');
    const { ContainerStore } = await import('../../pkg/container/container-store');
    if (!isValidContainerName(this.newName)) {
      throw new InvalidArgumentError(`names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*: invalid argument`);
    }
    await this.withEngine(async (engine) => {
      const store = new ContainerStore(engine.db);
      const c = store.require(this.container);
      if (c.name === this.newName) return;
      const other = store.find(this.newName);
      if (other && other.name === this.newName) {
        throw new ConflictError(`the container name "${this.newName}" is already in use by ${other.id}. You have to remove that container to be able to reuse that name: that name is already in use`);
      }
      try {
        store.update(c.id, { name: this.newName });
      } catch (err) {
        // another process took the name between the check and the update
        if (/UNIQUE/i.test(errorMessage(err))) throw new ConflictError(`the container name "${this.newName}" is already in use: that name is already in use`);
        throw err;
      }
    });
  }
}

export class ContainerExistsCommand extends TspodCommand {
  static override paths = [['container', 'exists']];
  static override usage = Command.Usage({
    description: 'Check if a container exists',
    details: 'Exits 0 when a container has this name or ID and 1 when none has; prints nothing. Other failures exit 125.',
    examples: [['Create web unless it exists', 'tspod container exists web || tspod create --name web busybox']],
  });
  name = Option.String({ name: 'CONTAINER' });

  async run(): Promise<number> {
    const { ContainerStore } = await import('../../pkg/container/container-store');
    return this.withEngine(async (engine) => (new ContainerStore(engine.db).find(this.name) ? 0 : 1));
  }
}

/** `80` → `80/tcp`; `53/udp` stays. */
export function portSpec(port: string): string {
  const m = /^(\d{1,5})(?:\/(tcp|udp|sctp))?$/.exec(port);
  if (!m || Number(m[1]) > 65535) throw new InvalidArgumentError(`invalid port "${port}": use PORT[/PROTOCOL]`);
  return `${m[1]}/${m[2] ?? 'tcp'}`;
}

export class PortCommand extends TspodCommand {
  static override paths = [['port'], ['container', 'port']];
  static override usage = Command.Usage({
    description: "List a container's published ports",
    details: 'Prints one `PORT/PROTOCOL -> HOST:HOSTPORT` line per published port, or the host addresses of one port.',
    examples: [
      ['All published ports', 'tspod port web'],
      ['Where port 80 is published', 'tspod port web 80'],
      ['The published ports of every running container', 'tspod port --all'],
    ],
  });
  all = Option.Boolean('-a,--all', false, { description: 'Show the ports of all containers' });
  container = Option.String({ name: 'CONTAINER', required: false });
  port = Option.String({ name: 'PORT', required: false });

  async run(): Promise<void> {
    if (this.all && this.port === undefined && this.container !== undefined) {
      throw new InvalidArgumentError('--all and a container name cannot be used together');
    }
    if (!this.all && this.container === undefined) throw new InvalidArgumentError('a container name or ID must be given (or --all)');
    const only = this.port === undefined ? undefined : portSpec(this.port);
    const { portLines } = await import('../../pkg/network/port-mappings');
    await this.withEngine(async (engine) => {
      const isUp = (c: Container): boolean => c.status === 'running' || c.status === 'paused';
      if (this.all) {
        const { refreshAll } = await import('../../pkg/container/container-exit');
        for (const c of (await refreshAll(engine)).filter(isUp)) {
          const lines = portLines(c.state.network?.ports ?? []);
          if (lines.length) this.out(`${c.id.slice(0, 12)}\t${c.name}\n${lines.map((l) => `${l}\n`).join('')}`);
        }
        return;
      }
      const c = await findFresh(engine, this.container as string);
      const ports = isUp(c) ? c.state.network?.ports ?? [] : [];
      if (!only) {
        this.out(portLines(ports).map((l) => `${l}\n`).join(''));
        return;
      }
      const [port, protocol] = only.split('/');
      const lines = portLines(ports, { port: Number(port), protocol });
      if (!lines.length) throw new TspodError(`No public port '${only}' published for ${this.container}`);
      this.out(lines.map((l) => `${l}\n`).join(''));
    });
  }
}

export class TopCommand extends TspodCommand {
  static override paths = [['top'], ['container', 'top']];
  static override usage = Command.Usage({
    description: 'Display the running processes of a container',
    details:
      "Lists the container's processes with the host's ps. Descriptors (user, pid, ppid, pcpu, etime, tty, time, args, comm, hpid, huser, group, nice, rss, vsz, state, ...) pick the columns; arguments starting with '-' are passed to ps as they are.",
    examples: [
      ['Show the processes', 'tspod top web'],
      ['Only pids and commands', 'tspod top web pid args'],
      ['ps options', 'tspod top web -o pid,rss,comm'],
    ],
  });
  container = Option.String({ name: 'CONTAINER' });
  args = Option.Proxy();

  async run(): Promise<void> {
    const { containerTop } = await import('../../pkg/container/container-top');
    const output = await this.withEngine(async (engine) => {
      const c = await findFresh(engine, this.container);
      if (c.status !== 'running' && c.status !== 'paused' && c.status !== 'stopping') {
        throw new ConflictError(`top can only be used on running containers: container state improper`);
      }
      return containerTop(c.pid, this.args);
    });
    this.out(output);
  }
}

/** runc's freezer needs a cgroup the caller can write: never rootless on cgroup v1. */
function checkCanPause(engine: Engine): void {
  const cgroupV2 = fs.existsSync('/sys/fs/cgroup/cgroup.controllers');
  if (engine.config.host.rootless && !cgroupV2) {
    throw new HostError('pausing containers requires a cgroup the user can write: this host has cgroup v1 and tspod runs rootless');
  }
}

async function setPaused(engine: Engine, c: Container, pause: boolean): Promise<void> {
  const { OciRuntime } = await import('../../pkg/runtime/oci-runtime');
  const { ContainerStore } = await import('../../pkg/container/container-store');
  const wanted = pause ? 'running' : 'paused';
  if (c.status !== wanted) {
    throw new ConflictError(`"${c.name}" is not ${wanted}, can't ${pause ? 'pause' : 'unpause'}: container state improper`);
  }
  checkCanPause(engine);
  await OciRuntime.of(engine.config, c).mustRun([pause ? 'pause' : 'resume', c.id], `${pause ? 'pausing' : 'unpausing'} container ${c.name}`);
  new ContainerStore(engine.db).update(c.id, { status: pause ? 'paused' : 'running' });
}

export class PauseCommand extends TspodCommand {
  static override paths = [['pause'], ['container', 'pause']];
  static override usage = Command.Usage({
    description: 'Pause all the processes in one or more containers',
    details: "Freezes the container's cgroup (runc pause). Needs a cgroup the user can write: as root, or rootless on cgroup v2.",
    examples: [['Pause a container', 'tspod pause web']],
  });
  all = Option.Boolean('-a,--all', false, { description: 'Pause all running containers' });
  names = Option.Rest();

  async run(): Promise<number> {
    return eachName(this, await namesOrAll(this, this.names, this.all, 'running'), async (e, c, name) => {
      await setPaused(e, c, true);
      return name;
    });
  }
}

export class UnpauseCommand extends TspodCommand {
  static override paths = [['unpause'], ['container', 'unpause']];
  static override usage = Command.Usage({
    description: 'Unpause the processes in one or more containers',
    examples: [['Unpause a container', 'tspod unpause web']],
  });
  all = Option.Boolean('-a,--all', false, { description: 'Unpause all paused containers' });
  names = Option.Rest();

  async run(): Promise<number> {
    return eachName(this, await namesOrAll(this, this.names, this.all, 'paused'), async (e, c, name) => {
      await setPaused(e, c, false);
      return name;
    });
  }
}

/** The names given, or with --all the IDs of the containers in `status`. */
async function namesOrAll(cmd: TspodCommand, names: string[], all: boolean, status?: string): Promise<string[]> {
  if (all && names.length) throw new InvalidArgumentError('--all and container names cannot be used together');
  if (!all && !names.length) throw new InvalidArgumentError('at least one container name or ID must be given (or --all)');
  if (!all) return names;
  const { refreshAll } = await import('../../pkg/container/container-exit');
  return cmd.withEngine(async (engine) => (await refreshAll(engine)).filter((c) => status === undefined || c.status === status).map((c) => c.id));
}

export class RestartCommand extends TspodCommand {
  static override paths = [['restart'], ['container', 'restart']];
  static override usage = Command.Usage({
    description: 'Restart one or more containers',
    details: 'Stops each running container (its stop signal, then SIGKILL after the timeout) and starts it again; stopped containers are just started.',
    examples: [['Restart a container', 'tspod restart web'], ['Restart at once', 'tspod restart -t 0 web'], ['Restart the running containers', 'tspod restart --running']],
  });
  time = Option.String('-t,--time,--timeout', { description: 'Seconds to wait before killing the container' });
  all = Option.Boolean('-a,--all', false, { description: 'Restart all containers' });
  running = Option.Boolean('--running', false, { description: 'Restart only the running containers' });
  names = Option.Rest();

  async run(): Promise<number> {
    const timeout = this.time === undefined ? undefined : Number(this.time);
    if (timeout !== undefined && (!Number.isInteger(timeout) || timeout < 0)) throw new InvalidArgumentError(`invalid --time "${this.time}": use a whole number of seconds`);
    const { stopContainer, waitForMonitorGone } = await import('../../pkg/container/container-stop');
    const { startContainer } = await import('../../pkg/container/container-start');
    const names = await namesOrAll(this, this.names, this.all || this.running, this.running ? 'running' : undefined);
    return eachName(this, names, async (e, c, name) => {
      if (c.status === 'paused') throw new ConflictError(`cannot restart paused container ${c.name}: unpause it first: container state improper`);
      const stopped = await stopContainer(e, c, timeout);
      await waitForMonitorGone(c.monitorPid, c.id);
      if (c.config.autoRemove && stopped.status === 'exited') {
        // --rm: the exit hook removes it; there is nothing left to start
        const { ContainerStore } = await import('../../pkg/container/container-store');
        if (!new ContainerStore(e.db).get(c.id)) throw new ConflictError(`container ${c.name} was removed when it stopped (--rm)`);
      }
      await startContainer(e, c.id);
      return name;
    });
  }
}
