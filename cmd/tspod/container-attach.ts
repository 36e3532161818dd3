// `attach`, and the terminal handling every attaching command shares (run -it, exec -it,
// attach, start -ai): raw mode with the size sent at once and on SIGWINCH, the detach keys,
// signal proxying without a tty, and a terminal put back on every way out.
import * as path from 'node:path';
import { Command, Option } from 'clipanion';
import { TspodCommand } from './tspod-command';
import { ConflictError, InvalidArgumentError } from '../../pkg/errors';

/**
 * Docker's --detach-keys: comma-separated keys, each a single character or ctrl-<c> with c one
 * of a-z @ [ \ ] ^ _ . "" turns detaching off.
 */
export function parseDetachKeys(spec: string | undefined): Buffer[] | undefined {
  if (spec === undefined) return undefined;
  if (spec === '') return [];
  return spec.split(',').map((key) => {
    if (key.length === 1) return Buffer.from(key);
    const m = /^ctrl-(.)$/i.exec(key);
    if (m) {
      const c = m[1].toLowerCase();
      if (c >= 'a' && c <= 'z') return Buffer.from([c.charCodeAt(0) - 0x60]);
      const special: Record<string, number> = { '@': 0, '[': 27, '\\': 28, ']': 29, '^': 30, _: 31 };
      if (c in special) return Buffer.from([special[c]]);
    }
    throw new InvalidArgumentError(`invalid detach keys "${spec}": use keys like "ctrl-p,ctrl-q" (a letter, or ctrl- with a-z, @, [, \\, ], ^ or _)`);
  });
}

/** --sig-proxy as Docker's pflag takes it: bare (true), =true or =false; default true. */
export function sigProxyEnabled(value: string | boolean | undefined): boolean {
  if (value === undefined || value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  throw new InvalidArgumentError(`invalid argument "${value}" for "--sig-proxy" flag: use true or false`);
}

const RESTORE_SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGHUP', 'SIGQUIT'];

/**
 * Raw mode on our terminal with its size sent to the container's pty, now and on SIGWINCH,
 * until the returned function is called. The terminal is also put back when the process exits
 * any other way (an exception, SIGTERM, SIGHUP): a shell left in raw mode is unusable.
 * Without a terminal on stdin it only sends the size of stdout's terminal, if any.
 */
export function terminalSession(session: { sendResize(rows: number, cols: number): void }): () => void {
  const stdin = process.stdin;
  const out = process.stdout.isTTY ? process.stdout : process.stderr.isTTY ? process.stderr : undefined;
  const resize = (): void => {
    if (out) session.sendResize(out.rows ?? 24, out.columns ?? 80);
  };
  resize();
  process.on('SIGWINCH', resize);
  const raw = stdin.isTTY === true;
  if (raw) stdin.setRawMode(true);
  let restored = false;
  const restore = (): void => {
    if (restored) return;
    restored = true;
    process.off('SIGWINCH', resize);
    process.off('exit', restore);
    for (const sig of RESTORE_SIGNALS) process.off(sig, onSignal);
    if (raw) {
      try {
        stdin.setRawMode(false);
      } catch {
        // the terminal is gone
      }
    }
  };
  // Put the terminal back, then die of the signal as if we had not caught it.
  const onSignal = (signal: NodeJS.Signals): void => {
    restore();
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  process.on('exit', restore);
  for (const sig of RESTORE_SIGNALS) process.on(sig, onSignal);
  return restore;
}

/** The terminal size to create a pty with, when we have a terminal. */
export function callerConsoleSize(): { rows: number; cols: number } | undefined {
  const out = process.stdout.isTTY ? process.stdout : process.stderr.isTTY ? process.stderr : undefined;
  return out ? { rows: out.rows ?? 24, cols: out.columns ?? 80 } : undefined;
}

/** Forwards SIGINT, SIGTERM and SIGHUP (Docker's --sig-proxy) until the returned function is called. */
export function proxySignals(send: (signal: NodeJS.Signals) => void): () => void {
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const forward = (signal: NodeJS.Signals): void => send(signal);
  for (const s of signals) process.on(s, forward);
  return () => {
    for (const s of signals) process.off(s, forward);
  };
}

export class AttachCommand extends TspodCommand {
  static override paths = [['attach'], ['container', 'attach']];
  static override usage = Command.Usage({
    description: 'Attach to a running container',
    details:
      "Connects this terminal to the container's main process: its output is shown and (unless --no-stdin) what you type is sent to it. Detach with ctrl-p ctrl-q (or --detach-keys): the container keeps running. When the container exits, its exit code becomes tspod's.",
    examples: [
      ['Attach to a container', 'tspod attach web'],
      ['Watch the output without sending input', 'tspod attach --no-stdin web'],
      ['Detach with ctrl-x instead', 'tspod attach --detach-keys ctrl-x web'],
    ],
  });
  detachKeys = Option.String('--detach-keys', { description: 'Key sequence for detaching (default ctrl-p,ctrl-q)' });
  noStdin = Option.Boolean('--no-stdin', false, { description: 'Do not attach stdin' });
  sigProxy = Option.String('--sig-proxy', { tolerateBoolean: true, description: 'Forward received signals to the container (without a tty; default true)' });
  name = Option.String();

  async run(): Promise<number> {
    const detachKeys = parseDetachKeys(this.detachKeys);
    const sigProxy = sigProxyEnabled(this.sigProxy);
    const { Engine } = await import('../../pkg/engine/engine');
    const engine = new Engine(this.config());
    try {
      const { ContainerStore } = await import('../../pkg/container/container-store');
      const { refreshContainer, readExitCode } = await import('../../pkg/container/container-exit');
      const { containerPaths } = await import('../../pkg/container/container-paths');
      const { OciRuntime } = await import('../../pkg/runtime/oci-runtime');
      type C = import('../../pkg/container/container-config').Container;
      const container = await refreshContainer(engine, new ContainerStore(engine.db).require(this.name) as C);
      if (container.status !== 'running') throw new ConflictError('you can only attach to running containers');
      const paths = containerPaths(engine.config, container.id);
      const tty = container.config.tty;
      const withStdin = container.config.stdin && !this.noStdin;
      const { connectAttach } = await import('../../pkg/runtime/monitor-client');
      const session = await connectAttach(path.join(paths.socketDir, 'attach'), {
        stdin: withStdin ? process.stdin : undefined,
        stdout: process.stdout,
        stderr: process.stderr,
        tty,
        detachKeys,
      });
      const restore = tty ? terminalSession(session) : () => undefined;
      const runtime = OciRuntime.of(engine.config, container);
      const unproxy = !tty && sigProxy ? proxySignals((s) => void runtime.kill(container.id, s.replace(/^SIG/, '')).catch(() => undefined)) : () => undefined;
      try {
        const result = await session.result;
        if (result.detached) return 0;
        if (result.exitCode !== undefined) return result.exitCode;
        const { waitForExit } = await import('../../pkg/container/container-stop');
        return readExitCode(paths.exitDir, container.id) ?? (await waitForExit(engine, container.id, 10_000)).exitCode;
      } finally {
        restore();
        unproxy();
        if (withStdin) process.stdin.pause();
      }
    } finally {
      engine.close();
    }
  }
}
