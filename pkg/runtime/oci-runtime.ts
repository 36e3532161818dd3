// Calls to the OCI runtime (runc/crun) for one user's containers: all share one state root
// under the run root, since inside the user namespace the runtime would otherwise pick /run.
import { execFile } from 'node:child_process';
import { EngineConfig } from '../config/engine-config';
import { TspodError } from '../errors';
import { chooseRuntime } from './runtime-probe';
import { SEALED_RUNTIME_ENV, sealRuntime, sealedRuntime } from './runtime-binary';
import { runtimeErrorMessage as runtimeMessage } from './monitor-launch';
import * as fs from 'node:fs';
import * as path from 'node:path';

function runtimeRoot(config: EngineConfig): string {
  return path.join(config.runRoot, 'runc');
}

export interface RuntimeResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** What a container keeps of its runtime: the name or path it was created with. */
export interface RuntimeOwner {
  id: string;
  config: { runtime?: string };
}

export class OciRuntime {
  /** what runs: the runtime's binary, or its read-only mount (runtime-binary.ts) */
  path: string;
  /** the environment that mount needs; undefined: tspod's own */
  env: NodeJS.ProcessEnv | undefined;
  readonly root: string;
  private readonly binary: string;
  private readonly runRoot: string;

  /** REQUESTED: a name or a path; else --runtime / containers.conf, else the probed default. */
  constructor(config: EngineConfig, requested = config.runtime) {
    this.binary = chooseRuntime(requested, config.containers.runtimes).path;
    this.runRoot = config.runRoot;
    this.root = runtimeRoot(config);
    this.path = this.binary;
    this.runFrom(sealedRuntime(this.runRoot, this.binary));
  }

  /** Runs from the runtime's read-only mount from now on, making it if it is missing. */
  async seal(): Promise<this> {
    this.runFrom(await sealRuntime(this.runRoot, this.binary));
    return this;
  }

  private runFrom(sealed: string | undefined): void {
    if (!sealed) return;
    this.path = sealed;
    this.env = { ...process.env, ...SEALED_RUNTIME_ENV };
  }

  /**
   * The runtime that created CONTAINER: only it can read its state (runc and crun keep theirs
   * in different files), whatever the default is now or --runtime says. Containers from before
   * the runtime was recorded were runc's when runc left its state.json.
   */
  static of(config: EngineConfig, container: RuntimeOwner): OciRuntime {
    const legacy = () => (fs.existsSync(path.join(runtimeRoot(config), container.id, 'state.json')) ? 'runc' : undefined);
    return new OciRuntime(config, container.config.runtime ?? legacy() ?? config.runtime);
  }

  /**
   * crun's exec.fifo of a created container: the monitor starts it by writing there, as
   * `crun start` does, without that exec (~3 ms; --start-fifo in native/monitor.c). Not for
   * runc, whose fifo goes the other way. Sound because tspod's specs give the start nothing else
   * to do: no poststart hooks, and crun never sees a NOTIFY_SOCKET (takeNotifySocket).
   */
  startFifo(id: string): string | undefined {
    return path.basename(this.binary) === 'crun' ? path.join(this.root, id, 'exec.fifo') : undefined;
  }

  /** Global arguments every invocation needs (the monitor gets them too). */
  get globalArgs(): string[] {
    return ['--root', this.root];
  }

  run(args: string[]): Promise<RuntimeResult> {
    return new Promise((resolve) => {
      execFile(this.path, [...this.globalArgs, ...args], { timeout: 60_000, env: this.env }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as NodeJS.ErrnoException).code === 'number' ? ((err as unknown as { code: number }).code) : 1) : 0;
        resolve({ code, stdout: stdout ?? '', stderr: stderr ?? '' });
      });
    });
  }

  async mustRun(args: string[], what: string): Promise<string> {
    const r = await this.run(args);
    if (r.code !== 0) throw new TspodError(`${what}: ${runtimeMessage(r.stderr)}`);
    return r.stdout;
  }

  start(id: string): Promise<string> {
    return this.mustRun(['start', id], `starting container ${id.slice(0, 12)}`);
  }

  /** Sends a signal; a container that is already gone is not an error. */
  async kill(id: string, signal: string): Promise<void> {
    const r = await this.run(['kill', id, signal]);
    if (r.code !== 0 && !/not running|does not exist|no such process/i.test(r.stderr)) {
      throw new TspodError(`sending signal ${signal} to container ${id.slice(0, 12)}: ${runtimeMessage(r.stderr)}`);
    }
  }

  /** Removes the runtime's record of the container, killing what is left of it. runc and crun
   * keep that record in ROOT/ID: without it there is nothing to delete, and no runtime process
   * is started (start deletes before it creates, rm after a cleanup did). */
  async delete(id: string): Promise<void> {
    if (!fs.existsSync(path.join(this.root, id))) return;
    await this.run(['delete', '--force', id]);
  }

  async state(id: string): Promise<{ status: string; pid: number } | undefined> {
    const r = await this.run(['state', id]);
    if (r.code !== 0) return undefined;
    try {
      const s = JSON.parse(r.stdout) as { status: string; pid: number };
      return { status: s.status, pid: s.pid };
    } catch {
      return undefined;
    }
  }
}
