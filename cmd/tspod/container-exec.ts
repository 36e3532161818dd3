import { Command, Option } from 'clipanion';
import { TspodCommand } from './tspod-command';
import { callerConsoleSize, parseDetachKeys, proxySignals, sigProxyEnabled, terminalSession } from './container-attach';

export class ExecCommand extends TspodCommand {
  static override paths = [['exec'], ['container', 'exec']];
  static override usage = Command.Usage({
    description: 'Run a process in a running container',
    details:
      "The process gets the container's environment (plus -e), user (or -u), working directory (or -w) and capabilities. Its output is shown and its exit code becomes tspod's: 126 when the command cannot be run, 127 when it is not found.",
    examples: [
      ['Open a shell in a running container', 'tspod exec -it web sh'],
      ['Run a command as another user in another directory', 'tspod exec -u tester -w /tmp web id'],
      ['Start a background process', 'tspod exec -d web sleep 1000'],
    ],
  });
  detach = Option.Boolean('-d,--detach', false, { description: 'Run the process in the background' });
  interactive = Option.Boolean('-i,--interactive', false, { description: 'Keep stdin open' });
  tty = Option.Boolean('-t,--tty', false, { description: 'Allocate a pseudo-terminal' });
  env = Option.Array('-e,--env', [], { description: 'Set an environment variable (NAME=value, or NAME to copy it)' });
  envFile = Option.Array('--env-file', [], { description: 'Read environment variables from a file' });
  user = Option.String('-u,--user', { description: 'Run as this user[:group] of the container' });
  workdir = Option.String('-w,--workdir', { description: 'Working directory inside the container' });
  privileged = Option.Boolean('--privileged', false, { description: 'Give the process all capabilities' });
  detachKeys = Option.String('--detach-keys', { description: 'Key sequence for detaching (default ctrl-p,ctrl-q)' });
  sigProxy = Option.String('--sig-proxy', { tolerateBoolean: true, description: 'Forward received signals to the process (without a tty; default true)' });
  name = Option.String();
  command = Option.Proxy();

  async run(): Promise<number> {
    const detachKeys = parseDetachKeys(this.detachKeys);
    const sigProxy = sigProxyEnabled(this.sigProxy);
    const flags = await import('../../pkg/container/create-flags');
    const env: string[] = [];
    for (const f of this.envFile) env.push(...flags.readEnvFile(f));
    for (const e of this.env) {
      const parsed = flags.parseEnvFlag(e);
      if (parsed) env.push(parsed);
    }
    const { Engine } = await import('../../pkg/engine/engine');
    const { startExec, finishExec, signalExec } = await import('../../pkg/container/container-exec');
    const engine = new Engine(this.config());
    try {
      const session = await startExec(engine, this.name, {
        cmd: this.command,
        env,
        user: this.user,
        workdir: this.workdir,
        tty: this.tty,
        interactive: this.interactive && !this.detach,
        privileged: this.privileged,
        detach: this.detach,
        consoleSize: this.tty ? callerConsoleSize() : undefined,
      });
      if (this.detach) return 0;
      const { connectAttach } = await import('../../pkg/runtime/monitor-client');
      const attached = await connectAttach(session.attachSocket, {
        stdin: this.interactive ? process.stdin : undefined,
        stdout: process.stdout,
        stderr: process.stderr,
        tty: this.tty,
        detachKeys,
      });
      const restore = this.tty ? terminalSession(attached) : () => undefined;
      const unproxy = !this.tty && sigProxy ? proxySignals((s) => signalExec(session, s)) : () => undefined;
      let result;
      try {
        result = await attached.result;
      } finally {
        restore();
        unproxy();
        if (this.interactive) process.stdin.pause();
      }
      if (result.detached) return 0;
      return (await finishExec(engine, session, result.exitCode)) ?? 125;
    } finally {
      engine.close();
    }
  }
}
