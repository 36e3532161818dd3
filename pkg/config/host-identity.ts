// Who tspod runs as on the host. The C launcher (native/) decides this before Node starts and
// passes it down in _TSPOD_* variables, because inside the user namespace getuid() is 0 and the
// real uid is no longer visible. Started without the launcher (node dist/... in development)
// we work it out the same way the launcher would.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export interface HostIdentity {
  /** true when the caller is not root on the host */
  rootless: boolean;
  /** the caller's uid and gid on the host (not inside the namespace) */
  uid: number;
  gid: number;
  /** the per-user runtime dir ($XDG_RUNTIME_DIR or its fallback); /run for root */
  runtimeDir: string;
  /** how the user namespace is mapped: the subordinate ranges, a single id, or none (root) */
  userns: 'subid' | 'single' | 'none';
  /** the pause process holding the user namespace, when there is one */
  pausePid?: number;
  /** true when this process already runs inside tspod's user namespace */
  inUserns: boolean;
}

function usableDir(dir: string | undefined, uid: number): boolean {
  if (!dir) return false;
  try {
    const st = fs.statSync(dir);
    if (!st.isDirectory() || st.uid !== uid) return false;
    fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Mirrors native/rundir.c: XDG_RUNTIME_DIR, then /run/user/UID, then $TMPDIR/tspod-run-UID. */
export function fallbackRuntimeDir(env: NodeJS.ProcessEnv, uid: number): string {
  if (usableDir(env.XDG_RUNTIME_DIR, uid)) return env.XDG_RUNTIME_DIR as string;
  const runUser = `/run/user/${uid}`;
  if (usableDir(runUser, uid)) return runUser;
  return path.join(env.TMPDIR || os.tmpdir(), `tspod-run-${uid}`);
}

export function hostIdentity(env: NodeJS.ProcessEnv = process.env): HostIdentity {
  if (env._TSPOD_ROOTLESS === '0') {
    return { rootless: false, uid: 0, gid: 0, runtimeDir: '/run', userns: 'none', inUserns: false };
  }
  if (env._TSPOD_ROOTLESS === '1') {
    const uid = Number(env._TSPOD_HOST_UID);
    const gid = Number(env._TSPOD_HOST_GID);
    return {
      rootless: true,
      uid,
      gid,
      runtimeDir: env._TSPOD_RUNTIME_DIR || fallbackRuntimeDir(env, uid),
      userns: env._TSPOD_USERNS === 'single' ? 'single' : 'subid',
      pausePid: env._TSPOD_PAUSE_PID ? Number(env._TSPOD_PAUSE_PID) : undefined,
      inUserns: env._TSPOD_PAUSE_PID !== undefined || env._TSPOD_IN_USERNS === '1',
    };
  }
  const uid = process.getuid ? process.getuid() : 0;
  const gid = process.getgid ? process.getgid() : 0;
  if (uid === 0) return { rootless: false, uid: 0, gid: 0, runtimeDir: '/run', userns: 'none', inUserns: false };
  return { rootless: true, uid, gid, runtimeDir: fallbackRuntimeDir(env, uid), userns: 'subid', inUserns: false };
}
