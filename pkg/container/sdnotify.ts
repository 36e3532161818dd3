// --sdnotify container|conmon|ignore, Podman's meanings, for Type=notify units that run
// `tspod run`/`tspod start`: systemd set NOTIFY_SOCKET for the command, and
//   conmon (the default)  tspod says MAINPID=<the container's monitor> and READY=1 once the
//                         container has started; the monitor lives as long as the container;
//   container             the container gets a socket of its own (NOTIFY_SOCKET=
//                         /run/notify/notify.sock inside) and its monitor relays what it says
//                         from READY=1 on, with MAINPID rewritten to the container's host pid
//                         (native/monitor-notify.c);
//   ignore                nothing is sent.
// Without NOTIFY_SOCKET (not under systemd) there is nobody to tell, whatever the mode.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Engine } from '../engine/engine';
import { InvalidArgumentError } from '../errors';
import { log } from '../log';
import { nativeBinary } from '../package-root';
import type { MountInput } from '../runtime/oci-spec';
import { sourceMountOptions } from '../runtime/oci-spec';
import { Container } from './container-config';

export type SdNotifyMode = 'container' | 'conmon' | 'ignore';
const MODES: SdNotifyMode[] = ['container', 'conmon', 'ignore'];

/** Where the container finds its notify socket. */
const CONTAINER_DIR = '/run/notify';
const SOCKET_NAME = 'notify.sock';

export function parseSdNotify(value: string | undefined): SdNotifyMode | undefined {
  if (value === undefined) return undefined;
  if (!MODES.includes(value as SdNotifyMode)) throw new InvalidArgumentError(`invalid --sdnotify "${value}": use container, conmon or ignore`);
  return value as SdNotifyMode;
}

const PRIVATE_VAR = '_TSPOD_NOTIFY_SOCKET';

/**
 * runc acts on NOTIFY_SOCKET itself (it binds a proxy of its own under its state dir, a path
 * too long here, and makes `runc start` wait for READY=1), as conmon-less Podman would not
 * want either: tspod does the relaying, so the variable moves to a private name before any
 * runtime runs. Children (the monitor, its exit hook restarting the container) still find it.
 */
export function takeNotifySocket(env: NodeJS.ProcessEnv = process.env): void {
  if (env.NOTIFY_SOCKET === undefined) return;
  env[PRIVATE_VAR] = env.NOTIFY_SOCKET;
  delete env.NOTIFY_SOCKET;
}

function notifySocket(env: NodeJS.ProcessEnv): string | undefined {
  const socket = env[PRIVATE_VAR] || env.NOTIFY_SOCKET;
  return socket && socket.length > 0 ? socket : undefined;
}

function modeOf(c: Container): SdNotifyMode {
  return c.config.sdNotify ?? 'conmon';
}

/** The proxy's directory on the host: short, since a socket path must fit in 108 bytes. */
function proxyDir(engine: Engine, c: Container): string {
  return path.join(engine.config.runRoot, 'sdnotify', c.id.slice(0, 12));
}

export interface NotifyProxy {
  /** startMonitor's sdnotify option */
  monitor: { proxy: string; socket: string };
  mount: MountInput;
  env: string;
}

/** --sdnotify=container under systemd: the proxy socket the monitor binds and the container mounts. */
export function notifyProxy(engine: Engine, c: Container, env: NodeJS.ProcessEnv = process.env): NotifyProxy | undefined {
  const socket = notifySocket(env);
  if (!socket || modeOf(c) !== 'container') return undefined;
  const dir = proxyDir(engine, c);
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  fs.chmodSync(dir, 0o755);
  return {
    monitor: { proxy: path.join(dir, SOCKET_NAME), socket },
    mount: { type: 'bind', source: dir, destination: CONTAINER_DIR, readonly: false, options: [], sourceOptions: sourceMountOptions(dir) },
    env: `NOTIFY_SOCKET=${CONTAINER_DIR}/${SOCKET_NAME}`,
  };
}

/** Removes the proxy's directory once the container has ended. */
export function removeNotifyProxy(engine: Engine, c: Container): void {
  fs.rmSync(proxyDir(engine, c), { recursive: true, force: true });
}


/** --sdnotify=conmon under systemd: the container has started. */
export function notifyStarted(c: Container, monitorPid: number, env: NodeJS.ProcessEnv = process.env): void {
  const socket = notifySocket(env);
  if (!socket || modeOf(c) !== 'conmon') return;
  const r = spawnSync(nativeBinary('tspod-sdnotify'), [socket, `MAINPID=${monitorPid}\nREADY=1\n`], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
  // systemd gone or the socket wrong: the container runs all the same.
  if (r.status !== 0) log.warn(`cannot notify systemd (NOTIFY_SOCKET=${socket}): ${(r.stderr || r.error?.message || '').trim()}`);
}
