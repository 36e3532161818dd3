// The network helpers (slirp4netns, pasta, tspod-portfwd) belong to the container, not to the
// CLI that starts them: they run detached, tell us on a ready fd (3) when they are set up, and
// are ended by pid at cleanup, after checking the pid still names the same program. Where the
// launcher gave this command a helper server (run and start have talked to it by then: the
// root's mount), that small process starts them: a spawn from node forks its whole heap, 3-5 ms
// of this process's time per helper here.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { HostError } from '../errors';
import { awaitGone } from '../host/processes';
import { HelperServerConnection, environmentArgs, establishedHelperServer, serverDeclined } from '../storage/helper-server';

export interface HelperProcess {
  pid: number;
  /** /proc/PID/comm at start (at most 15 characters), checked before it is killed */
  comm: string;
}

export interface StartedHelper extends HelperProcess {
  /** what the helper wrote on its ready fd */
  ready: string;
  /** with keepStdin: writes LINE (when given) to the helper's stdin, then closes it. To be
   * called once: until then the helper's stdin stays open */
  endStdin?: (line?: string) => void;
}

const notReady = (name: string, code: number | null, stderr: string): HostError => {
  const last = stderr.trim().split('\n').pop() ?? '';
  return new HostError(`${name} exited (${code}) before it was ready${last ? `: ${last}` : ''}`);
};

/** The helper started by the helper server (native/helper-jobs.c, @start); undefined when the
 * server cannot (no pidfds), for the caller to spawn it. */
async function startOnServer(server: HelperServerConnection, bin: string, args: string[], name: string, keepStdin: boolean): Promise<StartedHelper | undefined> {
  const r = await server.run(['@start', ...environmentArgs(process.env), bin, ...args]);
  if (serverDeclined(r)) return undefined;
  if (r.code !== 0) throw notReady(name, r.code, r.stderr);
  const nl = r.stdout.indexOf('\n');
  const pid = Number(r.stdout.slice(0, nl));
  const endStdin = (line?: string): void => void server.run(['@write', String(pid), ...(line === undefined ? [] : [line])]).catch(() => undefined);
  if (!keepStdin) endStdin();
  return { pid, comm: bin.split('/').pop()!.slice(0, 15), ready: r.stdout.slice(nl + 1), endStdin: keepStdin ? endStdin : undefined };
}

/**
 * Starts `bin args` detached and waits for its first write on fd 3 (or its early exit). With
 * keepStdin its stdin is a pipe kept open for a later message (tspod-portfwd's watched pid).
 */
export async function startHelper(bin: string, args: string[], name: string, opts: { keepStdin?: boolean } = {}): Promise<StartedHelper> {
  const server = establishedHelperServer();
  const served = server ? await startOnServer(server, bin, args, name, opts.keepStdin === true) : undefined;
  if (served) return served;
  const child = spawn(bin, args, { detached: true, stdio: [opts.keepStdin ? 'pipe' : 'ignore', 'ignore', 'pipe', 'pipe'] });
  // A helper that died meanwhile must not turn a late write into an uncaught EPIPE.
  child.stdin?.on('error', () => undefined);
  let ok = false;
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const fd3 = child.stdio[3] as NodeJS.ReadableStream & { destroy(): void };
  try {
    const ready = await new Promise<string>((resolve, reject) => {
      fd3.once('data', (d: Buffer) => resolve(d.toString()));
      // 'close', not 'exit': it comes once the helper's pipes are read to their end, so a line
      // it wrote just before exiting (the forwarder's "error cannot bind ...") is seen first.
      child.once('close', (code) => reject(notReady(name, code, stderr)));
      child.once('error', (err) => reject(new HostError(`starting ${name}: ${err.message}`)));
    });
    ok = true;
    const stdin = child.stdin;
    return { pid: child.pid as number, comm: bin.split('/').pop()!.slice(0, 15), ready, endStdin: stdin ? (line) => (line === undefined ? stdin.destroy() : stdin.end(line)) : undefined };
  } finally {
    if (!ok) child.stdin?.destroy();
    child.stderr?.destroy();
    fd3.destroy();
    child.removeAllListeners('close');
    child.unref();
  }
}

/** Sends SIGKILL to a helper if its pid still names it (pids get reused); the pid it killed,
 * which may take a while to be gone (closing slirp4netns's tap device alone waits for RCU). */
export function killHelper(helper: HelperProcess | undefined): number | undefined {
  if (!helper?.pid) return undefined;
  try {
    const comm = fs.readFileSync(`/proc/${helper.pid}/comm`, 'utf8').trim();
    if (comm !== helper.comm) return undefined;
    process.kill(helper.pid, 'SIGKILL');
    return helper.pid;
  } catch {
    return undefined; // already gone
  }
}

/** Ends a helper and waits until it is gone. */
export function stopHelper(helper: HelperProcess | undefined): void {
  const pid = killHelper(helper);
  if (pid !== undefined) awaitGone([pid]);
}
