// RUN: one process in a working container, with the same runtime, spec and monitor as `run`
// (buildSpec, tspod-monitor, slirp4netns), its output streamed to the caller as it comes.
// The files the runtime bind-mounts (/etc/hosts, resolv.conf, hostname, RUN --mount targets)
// leave empty mount points in the writable layer when the image lacked them: those are removed
// before the layer is committed, so a layer holds only what the command wrote.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { Engine } from '../engine/engine';
import { TspodError } from '../errors';
import { log } from '../log';
import { writeEtcFiles } from '../container/etc-files';
import { capabilitySet } from '../runtime/capabilities';
import { resolveContainerUser, resolveInRoot } from '../runtime/container-user';
import { connectAttach } from '../runtime/monitor-client';
import { MonitorStartError, runtimeErrorMessage, startMonitor } from '../runtime/monitor-launch';
import { MountInput, buildSpec, containerEnv, hostFacts, serializeSpec } from '../runtime/oci-spec';
import { OciRuntime } from '../runtime/oci-runtime';
import { canRaiseHardLimits, hostLimits, resolveRlimits } from '../runtime/rlimits';
import { addCompiledSeccomp } from '../runtime/seccomp-bpf';
import { DEFAULT_SECCOMP_PROFILE } from '../runtime/seccomp-profile';
import { HelperProcess, stopHelper } from '../network/helper-process';
import { DEFAULT_SLIRP_OPTIONS } from '../network/network-mode';
import { slirpAddresses, startSlirp } from '../network/slirp-network';
import { WorkingContainer } from './working-container';

/** --network for RUN: default outbound through slirp4netns, as `run` has it. */
export type BuildNetwork = 'default' | 'none' | 'host';

export interface RunStepInput {
  args: string[];
  /** the image's Env with the step's build args; PATH, HOSTNAME, HOME filled in as for `run` */
  env: string[];
  cwd: string;
  /** USER of the stage (name or uid[:gid]) */
  user?: string;
  network: BuildNetwork;
  mounts: MountInput[];
  stdout: Writable;
  stderr: Writable;
}

const ETC_MOUNT_POINTS = ['/etc/hosts', '/etc/hostname', '/etc/resolv.conf'];

/** The first component of `target` missing from the rootfs (what the runtime will create), if any. */
function firstMissing(rootfs: string, target: string): string | undefined {
  const parts = target.split('/').filter(Boolean);
  for (let i = 1; i <= parts.length; i++) {
    const rel = `/${parts.slice(0, i).join('/')}`;
    let host: string;
    try {
      host = resolveInRoot(rootfs, rel);
    } catch {
      return undefined;
    }
    if (!fs.existsSync(host)) return path.relative(rootfs, host);
  }
  return undefined;
}

/** Removes a mount point the runtime created, if it is still empty (the command may have filled it). */
function removeMountPoint(upper: string, rel: string): void {
  const p = path.join(upper, rel);
  const st = fs.lstatSync(p, { throwIfNoEntry: false });
  if (!st) return;
  try {
    if (st.isDirectory()) removeEmptyTree(p);
    else if (st.isFile() && st.size === 0) fs.rmSync(p);
  } catch (err) {
    log.debug(`build: keeping mount point ${rel}: ${(err as Error).message}`);
  }
}

/** A tree of empty directories and files (what the runtime leaves for mount points) goes; anything else stays. */
function removeEmptyTree(dir: string): boolean {
  let empty = true;
  for (const name of fs.readdirSync(dir)) {
    const p = path.join(dir, name);
    const st = fs.lstatSync(p);
    if (st.isFile() && st.size === 0) fs.rmSync(p); // a file mount point (secrets)
    else if (!st.isDirectory() || !removeEmptyTree(p)) empty = false;
  }
  if (empty) fs.rmdirSync(dir);
  return empty;
}

/** Runs the step's command; resolves with its exit code. The mount points it needed are cleaned from the upper dir. */
export async function runStep(engine: Engine, wc: WorkingContainer, input: RunStepInput, signal?: AbortSignal): Promise<number> {
  const rootfs = wc.rootfs;
  const runDir = wc.paths.run;
  const hostname = wc.name.slice(-12);
  const networked = input.network === 'default';
  const hostNetwork = input.network === 'host';
  const created = [...ETC_MOUNT_POINTS, ...input.mounts.map((m) => m.destination)].map((d) => firstMissing(rootfs, d)).filter((d): d is string => d !== undefined);
  const slirp = slirpAddresses(DEFAULT_SLIRP_OPTIONS);
  const etc = writeEtcFiles(path.join(runDir, 'etc'), networked ? { hostname, ip: slirp.guest, hostIp: slirp.gateway, nameservers: [slirp.dns], hostNetwork } : { hostname, hostNetwork });
  const user = resolveContainerUser(rootfs, input.user || undefined);
  const host = hostFacts();
  const spec = buildSpec({
    rootfs,
    process: {
      args: input.args,
      env: containerEnv({ env: input.env, hostname, home: user.home }),
      cwd: input.cwd || '/',
      user,
      capabilities: capabilitySet({ capAdd: [], capDrop: [], privileged: false }),
      rlimits: resolveRlimits({ ulimits: [], host: hostLimits(), canRaise: canRaiseHardLimits() }),
    },
    hostname,
    mounts: input.mounts,
    etcFiles: hostNetwork ? undefined : etc,
    namespaces: { network: hostNetwork ? 'host' : 'private' },
    seccomp: DEFAULT_SECCOMP_PROFILE,
    host,
  });
  const bundle = path.join(runDir, 'bundle');
  const socketDir = path.join(runDir, 'monitor');
  const exitDir = path.join(runDir, 'exits');
  for (const dir of [bundle, socketDir, exitDir]) fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const runtime = await new OciRuntime(engine.config).seal();
  addCompiledSeccomp(spec, runtime.path, engine.config.runRoot);
  fs.writeFileSync(path.join(bundle, 'config.json'), serializeSpec(spec));
  let network: HelperProcess | undefined;
  try {
    let started;
    try {
      started = await startMonitor({ cid: wc.id, bundle, runtime: runtime.path, runtimeArgs: runtime.globalArgs, env: runtime.env, exitDir, socketDir, logDriver: 'none' });
    } catch (err) {
      if (err instanceof MonitorStartError) {
        const msg = runtimeErrorMessage(err.runtimeMessage).replace(/^runc create failed: unable to start container process: /, '');
        throw new TspodError(msg, /executable file not found|no such file or directory/i.test(msg) ? 127 : 126);
      }
      throw err;
    }
    const session = await connectAttach(path.join(socketDir, 'attach'), { stdout: input.stdout, stderr: input.stderr, tty: false });
    if (networked) network = (await startSlirp(started.containerPid, DEFAULT_SLIRP_OPTIONS)).helper;
    const onAbort = (): void => void runtime.kill(wc.id, 'KILL').catch(() => undefined);
    if (signal?.aborted) throw new TspodError('build interrupted', 130);
    signal?.addEventListener('abort', onAbort);
    try {
      await runtime.start(wc.id);
      // an interrupt that came while the runtime was starting the process
      if (signal?.aborted) onAbort();
      const result = await session.result;
      const text = result.exitCode === undefined ? fs.readFileSync(path.join(exitDir, wc.id), 'utf8') : String(result.exitCode);
      return Number(text.trim());
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  } finally {
    stopHelper(network);
    await runtime.delete(wc.id);
    await wc.unmount();
    for (const rel of created) removeMountPoint(wc.paths.upper, rel);
  }
}
