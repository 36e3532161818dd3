// Running a container's health check once (`tspod healthcheck run`, which the monitor's timer
// or a transient systemd timer runs every interval) and the health it leaves: Docker's
// State.Health {Status, FailingStreak, Log}. The health lives in a small file beside the
// container's other files (userdata/healthcheck.json) rather than in its database row: checks
// write it every few seconds, concurrently with the lifecycle's own row updates, and a stale
// read-modify-write of the row must never undo those. The file names the run it belongs to;
// a new run starts as "starting" again, as in Docker.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { Engine } from '../engine/engine';
import { ConflictError, TspodError, errorMessage } from '../errors';
import { log } from '../log';
import { OciRuntime } from '../runtime/oci-runtime';
import { Container, ContainerConfig, ContainerRuntimeState } from './container-config';
import { refreshContainer } from './container-exit';
import { containerPaths } from './container-paths';
import { ContainerStore } from './container-store';
import { HealthConfig, healthCommand, nsToMs } from './healthcheck-config';

export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

export interface HealthLogEntry {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

export interface HealthState {
  Status: HealthStatus;
  FailingStreak: number;
  Log: HealthLogEntry[];
}

interface HealthFile extends HealthState {
  runToken?: string;
}

/** Docker keeps the last five results, each with at most 4 KiB of output. */
const LOG_ENTRIES = 5;
const OUTPUT_MAX = 4096;

export interface CheckResult {
  start: Date;
  end: Date;
  exitCode: number;
  output: string;
}

export function healthFilePath(engine: Engine, id: string): string {
  return path.join(containerPaths(engine.config, id).userdata, 'healthcheck.json');
}

function freshHealth(): HealthState {
  return { Status: 'starting', FailingStreak: 0, Log: [] };
}

/** The container's health now; undefined when it has no health check. */
export function readHealth(engine: Engine, c: Container): HealthState | undefined {
  if (!c.config.healthcheck) return undefined;
  try {
    const file = JSON.parse(fs.readFileSync(healthFilePath(engine, c.id), 'utf8')) as HealthFile;
    if (file.runToken !== c.state.runToken) return { ...freshHealth(), Log: file.Log ?? [] };
    return { Status: file.Status, FailingStreak: file.FailingStreak, Log: file.Log ?? [] };
  } catch {
    return freshHealth();
  }
}

/**
 * Docker's rules for one result: success makes it healthy; a failure during the start period
 * (while not yet healthy) is logged but not counted; otherwise RETRIES failures in a row make
 * it unhealthy.
 */
export function nextHealth(prev: HealthState, result: CheckResult, config: HealthConfig, startedAtMs: number): HealthState {
  const entry: HealthLogEntry = {
    Start: result.start.toISOString(),
    End: result.end.toISOString(),
    ExitCode: result.exitCode,
    Output: result.output.length > OUTPUT_MAX ? result.output.slice(0, OUTPUT_MAX) : result.output,
  };
  const logEntries = [...prev.Log, entry].slice(-LOG_ENTRIES);
  if (result.exitCode === 0) return { Status: 'healthy', FailingStreak: 0, Log: logEntries };
  const inStartPeriod = result.start.getTime() < startedAtMs + nsToMs(config.StartPeriod) && prev.Status !== 'healthy';
  if (inStartPeriod) return { ...prev, Log: logEntries };
  const streak = prev.FailingStreak + 1;
  return { Status: streak >= (config.Retries || 1) ? 'unhealthy' : prev.Status, FailingStreak: streak, Log: logEntries };
}

function writeHealth(engine: Engine, c: Container, health: HealthState): void {
  const file = healthFilePath(engine, c.id);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({ ...health, runToken: c.state.runToken } satisfies HealthFile));
  fs.renameSync(tmp, file);
}

class Collector extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    if (this.text.length < OUTPUT_MAX) this.text += chunk.toString('utf8');
    done();
  }
}

/** Runs the check's command through exec, killing it after the timeout. */
async function runCheck(engine: Engine, c: Container, config: HealthConfig): Promise<CheckResult> {
  const { startExec, finishExec, signalExec } = await import('./container-exec');
  const { connectAttach } = await import('../runtime/monitor-client');
  const start = new Date();
  const timeoutMs = nsToMs(config.Timeout);
  let session;
  try {
    session = await startExec(engine, c.id, { cmd: healthCommand(config), env: [], tty: false, interactive: false, privileged: false, detach: false });
  } catch (err) {
    // A command that cannot run is an unhealthy result (126/127), not tspod's failure.
    if (err instanceof TspodError && (err.exitCode === 126 || err.exitCode === 127)) return { start, end: new Date(), exitCode: err.exitCode, output: errorMessage(err) };
    throw err;
  }
  const out = new Collector();
  const attached = await connectAttach(session.attachSocket, { stdout: out, stderr: out, tty: false, detachKeys: [] });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    signalExec(session, 'SIGKILL');
  }, timeoutMs);
  let code: number | undefined;
  try {
    code = (await attached.result).exitCode;
  } finally {
    clearTimeout(timer);
  }
  code = await finishExec(engine, session, code);
  if (timedOut) return { start, end: new Date(), exitCode: -1, output: `Health check exceeded timeout (${timeoutMs / 1000}s)` };
  return { start, end: new Date(), exitCode: code ?? -1, output: out.text };
}

/** --health-on-failure: what happens to a container found unhealthy. */
async function onFailure(engine: Engine, c: Container): Promise<void> {
  const action = c.config.healthOnFailure ?? 'none';
  if (action === 'none') return;
  log.info(`container ${c.name} is unhealthy: ${action}`);
  const { stopContainer, waitForMonitorGone } = await import('./container-stop');
  if (action === 'kill') {
    // Not a user's kill: the restart policy may bring it back.
    await OciRuntime.of(engine.config, c).kill(c.id, 'KILL');
    return;
  }
  await stopContainer(engine, c);
  if (action === 'restart') {
    await waitForMonitorGone(c.monitorPid, c.id);
    const { startContainer } = await import('./container-start');
    await startContainer(engine, c.id, { policyRestart: true });
  }
}

export interface HealthcheckOutcome {
  health: HealthState;
  /** this check's own result */
  healthy: boolean;
}

/** `tspod healthcheck run`: one check, its result recorded, the failure action taken. */
export async function runHealthcheck(engine: Engine, nameOrId: string): Promise<HealthcheckOutcome> {
  const store = new ContainerStore(engine.db);
  const c = await refreshContainer(engine, store.require<ContainerConfig, ContainerRuntimeState>(nameOrId) as Container);
  const config = c.config.healthcheck;
  if (!config) throw new ConflictError(`container ${c.name} has no defined healthcheck`);
  if (c.status !== 'running') throw new ConflictError(`container ${c.name} is not running: container state improper`);
  const result = await runCheck(engine, c, config);
  // The container may have ended or started again meanwhile: record only for the run checked.
  const now = store.get<ContainerConfig, ContainerRuntimeState>(c.id);
  const prev = readHealth(engine, c) ?? freshHealth();
  const health = nextHealth(prev, result, config, c.startedAt);
  if (now && now.state.runToken === c.state.runToken) {
    writeHealth(engine, c, health);
    if (health.Status === 'unhealthy' && now.status === 'running') await onFailure(engine, c);
  }
  return { health, healthy: result.exitCode === 0 };
}
