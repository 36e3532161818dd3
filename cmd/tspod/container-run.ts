import { Command, Option } from 'clipanion';
import { InvalidArgumentError } from '../../pkg/errors';
import { ContainerCreateCommand } from './container-create-options';
import type { Engine } from '../../pkg/engine/engine';
import type { PreparedStart } from '../../pkg/container/container-start';
import { parseDetachKeys, proxySignals, sigProxyEnabled, terminalSession } from './container-attach';

export class RunCommand extends ContainerCreateCommand {
  static override paths = [['run'], ['container', 'run']];
  static override usage = Command.Usage({
    description: 'Run a command in a new container',
    details:
      'Creates a container from the image (pulling it when missing), starts it, and by default attaches to it: its output is shown and its exit code becomes tspod\'s. With -d it runs in the background and its ID is printed.',
    examples: [
      ['Run a shell in an interactive container that is removed afterwards', 'tspod run --rm -it alpine sh'],
      ['Run a command', 'tspod run --rm busybox echo hello'],
      ['Run a service in the background', 'tspod run -d --name web busybox httpd -f -p 8080'],
      ['Mount a host directory read-only', 'tspod run --rm -v "$PWD":/src:ro busybox ls /src'],
    ],
  });

  attach = Option.Array('-a,--attach', [], { description: 'Attach to STDIN, STDOUT or STDERR (repeatable; default: all)' });
  detachKeys = Option.String('--detach-keys', { description: 'Key sequence for detaching (default ctrl-p,ctrl-q)' });
  sigProxy = Option.String('--sig-proxy', { tolerateBoolean: true, description: 'Forward received signals to the container (without a tty; default true)' });

  async run(): Promise<number> {
    // Bad values fail before a container exists.
    sigProxyEnabled(this.sigProxy);
    parseDetachKeys(this.detachKeys);
    this.attachedStreams();
    if (this.detach && this.attach.length) throw new InvalidArgumentError('conflicting options: -a/--attach and -d/--detach');
    if (this.detach && this.logDriver === 'passthrough') {
      throw new InvalidArgumentError('the passthrough log driver cannot be used with -d: the container would write to a terminal tspod has left');
    }
    const { Engine } = await import('../../pkg/engine/engine');
    const engine = new Engine(this.config());
    try {
      return await this.startAndAttach(engine, await this.createFromFlags(engine, { checkPorts: true }));
    } finally {
      engine.close();
    }
  }

  /** -a stdin|stdout|stderr (Docker accepts any case); none given means all three. */
  private attachedStreams(): Set<string> {
    if (!this.attach.length) return new Set(['stdin', 'stdout', 'stderr']);
    const out = new Set<string>();
    for (const value of this.attach.flatMap((a) => a.split(','))) {
      const stream = value.trim().toLowerCase();
      if (!['stdin', 'stdout', 'stderr'].includes(stream)) throw new InvalidArgumentError(`invalid -a/--attach "${value}": use stdin, stdout or stderr`);
      out.add(stream);
    }
    return out;
  }

  private async startAndAttach(engine: Engine, id: string): Promise<number> {
    const { prepareStart, releaseStart } = await import('../../pkg/container/container-start');
    const { removeContainer } = await import('../../pkg/container/container-remove');
    let prepared: PreparedStart;
    try {
      prepared = await prepareStart(engine, id);
    } catch (err) {
      // A port taken between the check and the bind: no half-made container stays behind.
      const { PortInUseError } = await import('../../pkg/network/port-forwarder');
      if (this.rm || err instanceof PortInUseError) await this.removeQuietly(engine, id, removeContainer);
      throw err;
    }
    if (this.detach) {
      await releaseStart(engine, prepared);
      this.out(`${id}\n`);
      return 0;
    }
    if (prepared.container.config.logDriver === 'passthrough') return this.passthroughRun(engine, prepared);
    const { connectAttach } = await import('../../pkg/runtime/monitor-client');
    const streams = this.attachedStreams();
    const session = await connectAttach(prepared.attachSocket, {
      stdin: this.interactive && streams.has('stdin') ? process.stdin : undefined,
      stdout: streams.has('stdout') ? process.stdout : undefined,
      stderr: streams.has('stderr') ? process.stderr : undefined,
      tty: this.tty,
      detachKeys: parseDetachKeys(this.detachKeys),
      // --rm: this command removes the container, so the monitor need not start tspod again.
      cleansUp: this.rm,
    });
    const restore = this.tty ? terminalSession(session) : () => undefined;
    const forward = (signal: NodeJS.Signals) => void prepared.runtime.kill(id, signal.replace(/^SIG/, '')).catch(() => undefined);
    const unproxy = !this.tty && sigProxyEnabled(this.sigProxy) ? proxySignals(forward) : () => undefined;
    let code: number;
    try {
      await releaseStart(engine, prepared);
      const result = await session.result;
      if (result.detached) {
        restore();
        return 0;
      }
      // The exit frame normally carries the code; if the connection broke first, the exit file.
      const { exitCodeOf } = await import('../../pkg/container/container-stop');
      code = result.exitCode ?? (await exitCodeOf(engine, id));
    } catch (err) {
      session.close();
      throw err;
    } finally {
      restore();
      unproxy();
      if (this.interactive) process.stdin.pause();
    }
    try {
      await this.removeIfAsked(engine, id);
      await session.cleanupDone();
    } finally {
      session.close();
    }
    return code;
  }

  /** --log-driver passthrough: the container has our stdio already; wait for its exit code. */
  private async passthroughRun(engine: Engine, prepared: PreparedStart): Promise<number> {
    const { releaseStart } = await import('../../pkg/container/container-start');
    const { exitCodeOf } = await import('../../pkg/container/container-stop');
    const id = prepared.container.id;
    const forward = (signal: NodeJS.Signals) => void prepared.runtime.kill(id, signal.replace(/^SIG/, '')).catch(() => undefined);
    const unproxy = sigProxyEnabled(this.sigProxy) ? proxySignals(forward) : () => undefined;
    let code: number;
    try {
      await releaseStart(engine, prepared);
      code = await exitCodeOf(engine, id);
    } finally {
      unproxy();
    }
    await this.removeIfAsked(engine, id);
    return code;
  }

  private async removeIfAsked(engine: Engine, id: string): Promise<void> {
    if (!this.rm) return;
    const { removeContainer } = await import('../../pkg/container/container-remove');
    const { waitForExit } = await import('../../pkg/container/container-stop');
    // The monitor's cleanup hook may have removed it already: either of us may do it.
    const { ContainerStore } = await import('../../pkg/container/container-store');
    if (new ContainerStore(engine.db).get(id)) {
      await waitForExit(engine, id, 10_000).catch(() => undefined);
      await this.removeQuietly(engine, id, removeContainer);
    }
  }

  private async removeQuietly(engine: Engine, id: string, remove: typeof import('../../pkg/container/container-remove').removeContainer): Promise<void> {
    const { ContainerStore } = await import('../../pkg/container/container-store');
    const rec = new ContainerStore(engine.db).get<never, never>(id);
    if (rec) await remove(engine, rec as never, { force: true, volumes: true });
  }
}

export class CreateCommand extends ContainerCreateCommand {
  static override paths = [['create'], ['container', 'create']];
  static override usage = Command.Usage({
    description: 'Create a container without starting it',
    examples: [['Create a container, then start it', 'tspod create --name app busybox sleep 1000 && tspod start app']],
  });

  async run(): Promise<number> {
    const { Engine } = await import('../../pkg/engine/engine');
    const engine = new Engine(this.config());
    try {
      this.out(`${await this.createFromFlags(engine)}\n`);
      return 0;
    } finally {
      engine.close();
    }
  }
}
