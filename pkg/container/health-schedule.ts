// Who runs a container's health checks every interval, with no daemon: like Podman, a transient
// systemd timer (`systemd-run [--user] --on-unit-inactive=INTERVAL tspod healthcheck run ID`)
// where a systemd instance for this user is reachable (its private socket exists), and the
// container's own monitor otherwise (native/monitor-health.c), which is what runs on hosts
// without systemd, in containers and in CI. TSPOD_HEALTHCHECK_TIMER=monitor forces the monitor.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Engine } from '../engine/engine';
import { hostIdentity } from '../config/host-identity';
import { findExecutable } from '../host/executables';
import { log } from '../log';
import { Container } from './container-config';
import { nsToMs } from './healthcheck-config';

export type HealthScheduler = 'systemd' | 'monitor';

export function healthScheduler(env: NodeJS.ProcessEnv = process.env): HealthScheduler {
  if (env.TSPOD_HEALTHCHECK_TIMER === 'monitor') return 'monitor';
  const host = hostIdentity(env);
  const socket = host.rootless ? path.join(host.runtimeDir, 'systemd', 'private') : '/run/systemd/private';
  return fs.existsSync(socket) && findExecutable('systemd-run', env) ? 'systemd' : 'monitor';
}

/** `tspod healthcheck run ID` for this engine's store. */
function checkCommand(engine: Engine, c: Container, tspod: string): string[] {
  return [tspod, '--root', engine.config.graphRoot, '--runroot', engine.config.runRoot, 'healthcheck', 'run', c.id];
}

function intervalMs(c: Container): number {
  return nsToMs(c.config.healthcheck?.Interval);
}

/** The monitor's timer (startMonitor's healthcheck option), when the monitor schedules checks. */
export function monitorHealthTimer(engine: Engine, c: Container, tspod: string): { intervalMs: number; command: string[] } | undefined {
  if (!c.config.healthcheck || intervalMs(c) <= 0 || healthScheduler() !== 'monitor') return undefined;
  return { intervalMs: intervalMs(c), command: checkCommand(engine, c, tspod) };
}

function timerUnit(c: Container): string {
  return `tspod-healthcheck-${c.id}`;
}

function systemctlArgs(): string[] {
  return hostIdentity().rootless ? ['--user'] : [];
}

/** Runs a systemd client quietly; its failure is logged, never the container's. */
function runQuietly(program: string, args: string[]): Promise<void> {
  return new Promise((resolve) => {
    const child = spawn(program, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => {
      log.warn(`${program}: ${err.message}`);
      resolve();
    });
    child.on('close', (code) => {
      if (code !== 0) log.warn(`${program} ${args.join(' ')} failed: ${stderr.trim()}`);
      resolve();
    });
  });
}

/** After a start: the transient timer, when systemd schedules checks. */
export async function startSystemdHealthTimer(engine: Engine, c: Container, tspod: string): Promise<void> {
  if (!c.config.healthcheck || intervalMs(c) <= 0 || healthScheduler() !== 'systemd') return;
  const seconds = Math.max(1, Math.round(intervalMs(c) / 1000));
  await runQuietly('systemd-run', [...systemctlArgs(), `--unit=${timerUnit(c)}`, `--on-unit-inactive=${seconds}s`, '--timer-property=AccuracySec=1s', ...checkCommand(engine, c, tspod)]);
}

/** After the exit: the transient timer goes (a no-op where the monitor scheduled checks). */
export async function stopSystemdHealthTimer(c: Container): Promise<void> {
  if (!c.config.healthcheck || healthScheduler() !== 'systemd') return;
  await runQuietly('systemctl', [...systemctlArgs(), 'stop', `${timerUnit(c)}.timer`]);
}
