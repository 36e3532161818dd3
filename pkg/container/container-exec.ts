// `exec`: a new process in a running container, under a monitor of its own (the monitor's exec
// mode runs `runtime exec --detach --process FILE`). The process starts from the container's
// own OCI process (so capabilities, rlimits, umask and no-new-privileges match the container)
// with the exec's args, env, cwd, user and terminal. Each running session has a row in
// exec_sessions; the attached caller removes it when the process ended, and stale rows of
// detached sessions are pruned by the next exec on the container.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Engine } from '../engine/engine';
import { ConflictError, InvalidArgumentError, TspodError } from '../errors';
import { parseImageConfig } from '../image/manifest';
import { ALL_CAPABILITIES, explicitlyAddedCapabilities, limitToAvailable, processCapabilities } from '../runtime/capabilities';
import { isMapped, resolveContainerUser } from '../runtime/container-user';
import { MonitorStartError, startMonitor } from '../runtime/monitor-launch';
import { hostFacts } from '../runtime/oci-spec';
import type { Process, Spec } from '../runtime/oci-spec-types';
import { OciRuntime } from '../runtime/oci-runtime';
import { writeTransaction } from '../state/database';
import { Container, ContainerConfig, ContainerRuntimeState } from './container-config';
import { processAlive, readExitCode, refreshContainer } from './container-exit';
import { containerPaths } from './container-paths';
import { ContainerStore } from './container-store';

export interface ExecRequest {
  cmd: string[];
  /** NAME=value entries added to (and overriding) the container's environment */
  env: string[];
  /** user[:group] resolved in the container's /etc/passwd; default the container's user */
  user?: string;
  workdir?: string;
  tty: boolean;
  /** keep the process's stdin open for the attach client */
  interactive: boolean;
  privileged: boolean;
  /** no attach client will come: do not hold the output for one */
  detach: boolean;
  /** the caller's terminal size, so the pty has it from the first byte */
  consoleSize?: { rows: number; cols: number };
}

export interface ExecSession {
  id: string;
  container: Container;
  /** the exec'd process, as a pid in tspod's namespace */
  pid: number;
  monitorPid: number;
  attachSocket: string;
  socketDir: string;
  exitDir: string;
}

/** Podman's words (and Docker's meaning) for an exec into a container that is not running. */
export class ContainerNotRunningError extends ConflictError {
  constructor() {
    super('can only create exec sessions on running containers: container state improper');
  }
}

/** /proc/self/{uid,gid}_map as the ids that exist in tspod's namespace. */
function ownMap(file: string): { containerID: number; size: number }[] {
  try {
    return fs
      .readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.trim().split(/\s+/).map(Number))
      .filter((f) => f.length === 3 && f.every(Number.isInteger))
      .map(([inside, , size]) => ({ containerID: inside, size }));
  } catch {
    return [{ containerID: 0, size: 2 ** 32 - 1 }];
  }
}

function mergeEnv(base: string[], extra: string[]): string[] {
  const vars = new Map<string, string>();
  for (const entry of [...base, ...extra]) {
    const eq = entry.indexOf('=');
    if (eq <= 0) continue;
    vars.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return [...vars].map(([k, v]) => `${k}=${v}`);
}

/** The OCI process for the exec: the container's process with the request applied. */
export function execProcess(engine: Engine, container: Container, bundleProcess: Process, req: ExecRequest): Process {
  const config = container.config as ContainerConfig;
  const paths = containerPaths(engine.config, container.id);
  const proc: Process = JSON.parse(JSON.stringify(bundleProcess)) as Process;
  proc.args = [...req.cmd];
  proc.terminal = req.tty;
  if (req.tty && req.consoleSize) proc.consoleSize = { height: req.consoleSize.rows, width: req.consoleSize.cols };
  else delete proc.consoleSize;
  if (req.workdir) proc.cwd = req.workdir;
  let env = proc.env;
  if (req.user !== undefined && req.user !== '') {
    const user = resolveContainerUser(paths.rootfs, req.user, config.groupAdd);
    const gidMap = ownMap('/proc/self/gid_map');
    proc.user = { ...proc.user, uid: user.uid, gid: user.gid, additionalGids: user.additionalGids.filter((g) => isMapped(gidMap, g)) };
    // HOME follows the exec's user unless the image or -e fixed it.
    const imageRec = engine.images.get(config.imageId);
    const imageEnv = imageRec ? parseImageConfig(imageRec.config).config?.Env ?? [] : [];
    if (![...imageEnv, ...config.env].some((e) => e.startsWith('HOME='))) env = mergeEnv(env, [`HOME=${user.home}`]);
  }
  proc.env = mergeEnv(env, req.env);
  const capOpts = { capAdd: config.capAdd, capDrop: config.capDrop, privileged: config.privileged || req.privileged };
  const bounding = req.privileged ? limitToAvailable([...ALL_CAPABILITIES], hostFacts().capabilities).caps : proc.capabilities?.bounding ?? [];
  proc.capabilities = processCapabilities(bounding, proc.user.uid !== 0, explicitlyAddedCapabilities(capOpts));
  return proc;
}

function commandError(err: MonitorStartError): TspodError {
  return err.commandNotRunnable() ?? new TspodError(err.failure || err.message);
}

function execDirs(engine: Engine, containerId: string, execId: string): { socketDir: string; exitDir: string } {
  const paths = containerPaths(engine.config, containerId);
  return { socketDir: path.join(paths.run, `exec-${execId.slice(0, 12)}`), exitDir: paths.exitDir };
}

/** Removes what a finished session left: its row, exit file and socket dir. */
function removeSession(engine: Engine, containerId: string, execId: string): void {
  const { socketDir, exitDir } = execDirs(engine, containerId, execId);
  writeTransaction(engine.db, () => engine.db.prepare('DELETE FROM exec_sessions WHERE id = ?').run(execId));
  fs.rmSync(path.join(exitDir, execId), { force: true });
  fs.rmSync(socketDir, { recursive: true, force: true });
}

/** Rows of detached sessions whose process ended. */
function pruneSessions(engine: Engine, containerId: string): void {
  const rows = engine.db.prepare('SELECT id, pid FROM exec_sessions WHERE container_id = ?').all(containerId) as { id: string; pid: number }[];
  const { exitDir } = execDirs(engine, containerId, '');
  for (const row of rows) {
    if (readExitCode(exitDir, row.id) !== undefined || !processAlive(row.pid)) removeSession(engine, containerId, row.id);
  }
}

/** Starts the process; for an attached session it waits (its output held) for the client. */
export async function startExec(engine: Engine, nameOrId: string, req: ExecRequest): Promise<ExecSession> {
  if (req.cmd.length === 0) throw new InvalidArgumentError('must provide a non-empty command to start an exec session');
  const store = new ContainerStore(engine.db);
  const container = await refreshContainer(engine, store.require<ContainerConfig, ContainerRuntimeState>(nameOrId) as Container);
  if (container.status !== 'running') throw new ContainerNotRunningError();
  pruneSessions(engine, container.id);
  const paths = containerPaths(engine.config, container.id);
  const spec = JSON.parse(fs.readFileSync(path.join(paths.bundle, 'config.json'), 'utf8')) as Spec;
  const proc = execProcess(engine, container, spec.process, req);
  const execId = randomBytes(32).toString('hex');
  const { socketDir, exitDir } = execDirs(engine, container.id, execId);
  fs.mkdirSync(socketDir, { recursive: true, mode: 0o700 });
  const processFile = path.join(socketDir, 'process.json');
  fs.writeFileSync(processFile, JSON.stringify(proc), { mode: 0o600 });
  const runtime = OciRuntime.of(engine.config, container);
  let started;
  try {
    started = await startMonitor({
      cid: container.id,
      runtime: runtime.path,
      runtimeArgs: runtime.globalArgs,
      env: runtime.env,
      exitDir,
      socketDir,
      logDriver: 'none',
      terminal: req.tty,
      stdin: req.interactive,
      exec: { processFile, execId, holdOutputForAttach: !req.detach },
    });
  } catch (err) {
    fs.rmSync(socketDir, { recursive: true, force: true });
    throw err instanceof MonitorStartError ? commandError(err) : err;
  }
  const config = { cmd: req.cmd, user: req.user, workdir: req.workdir, tty: req.tty, interactive: req.interactive, privileged: req.privileged, detach: req.detach };
  writeTransaction(engine.db, () =>
    engine.db.prepare('INSERT INTO exec_sessions (id, container_id, config, pid, created) VALUES (?, ?, ?, ?, ?)').run(execId, container.id, JSON.stringify(config), started.containerPid, Date.now()),
  );
  return { id: execId, container, pid: started.containerPid, monitorPid: started.monitorPid, attachSocket: path.join(socketDir, 'attach'), socketDir, exitDir };
}

/** The exit code (from the exit frame, else the exit file, waiting for it a little), then cleanup. */
export async function finishExec(engine: Engine, session: ExecSession, exitCode: number | undefined): Promise<number | undefined> {
  let code = exitCode ?? readExitCode(session.exitDir, session.id);
  for (let i = 0; code === undefined && i < 50 && processAlive(session.monitorPid); i++) {
    await new Promise((r) => setTimeout(r, 100));
    code = readExitCode(session.exitDir, session.id);
  }
  removeSession(engine, session.container.id, session.id);
  return code;
}

/** Sends a signal to the exec'd process (the sig-proxy of a session without a tty). */
export function signalExec(session: ExecSession, signal: NodeJS.Signals): void {
  try {
    process.kill(session.pid, signal);
  } catch {
    // already gone
  }
}
