// A read-only bind mount of the OCI runtime's binary in tspod's own mount namespace, which
// spares runc and crun a copy of themselves at every call.
// Both guard against CVE-2019-5736 (a container process rewriting the runtime's binary through
// /proc/self/exe) by running from a copy nobody can write: crun bind-mounts itself read-only on
// a temporary file and re-execs, runc copies itself into a sealed memfd. That is a second exec
// and a second load of every shared library, ~1.5 ms for each create, start, kill and delete.
// Both skip it when /proc/self/exe already is on a read-only mount and _LIBCONTAINER_CLONED_BINARY=1
// says whoever ran them made it so. tspod makes that mount once (RUNROOT/runtime-bin/DEV-INO/NAME)
// and runs it: the same protection, paid once per user namespace instead of once per call.
// Rootless only: the namespace is tspod's own, where the mount hides from the host; root's
// would be a mount on the host, so root keeps the runtimes' own copy.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { hostIdentity } from '../config/host-identity';
import { log } from '../log';
import { bindMount } from '../storage/mounts';

/** The runtimes known to honour the variable (runc's libcontainer named it; crun reads it too). */
const SEALABLE = new Set(['crun', 'runc']);

/** What a runtime run from its sealed mount needs in its environment. */
export const SEALED_RUNTIME_ENV = { _LIBCONTAINER_CLONED_BINARY: '1' };

/**
 * Where BINARY's mount goes: a directory per binary file (device and inode), so that two
 * runtimes of one name (--runtime /opt/crun-dev/crun) or an upgraded one never take each
 * other's place under a command that already chose the path. Undefined where not used.
 */
function sealedPath(runRoot: string, binary: string): { sealed: string; ino: number; dev: number } | undefined {
  const name = path.basename(binary);
  if (!SEALABLE.has(name) || !hostIdentity().rootless) return undefined;
  try {
    const st = fs.statSync(binary);
    return { sealed: path.join(runRoot, 'runtime-bin', `${st.dev}-${st.ino}`, name), ino: st.ino, dev: st.dev };
  } catch {
    return undefined;
  }
}

/** A bind mount shows the inode it was made from; the empty file beneath has its own. */
function mounted(where: { sealed: string; ino: number; dev: number }): boolean {
  try {
    const st = fs.statSync(where.sealed);
    return st.ino === where.ino && st.dev === where.dev;
  } catch {
    return false;
  }
}

/** The sealed mount of BINARY when it is in place; else undefined. */
export function sealedRuntime(runRoot: string, binary: string): string | undefined {
  const where = sealedPath(runRoot, binary);
  return where && mounted(where) ? where.sealed : undefined;
}

/**
 * Makes the sealed mount of BINARY if it is missing. Undefined when the runtime is not one
 * that honours it or the mount fails: the runtime then protects itself, as without tspod.
 * Never unmounts: a command may be about to run the path. (A mount per runtime binary there
 * ever was stays until the namespace ends: one per upgrade.)
 */
export async function sealRuntime(runRoot: string, binary: string): Promise<string | undefined> {
  const where = sealedPath(runRoot, binary);
  if (!where) return undefined;
  if (mounted(where)) return where.sealed;
  try {
    fs.mkdirSync(path.dirname(where.sealed), { recursive: true, mode: 0o700 });
    fs.writeFileSync(where.sealed, '', { mode: 0o500, flag: 'a' });
    await bindMount(binary, where.sealed, true);
    return mounted(where) ? where.sealed : undefined;
  } catch (err) {
    log.debug(`running ${binary} from a read-only mount failed (${(err as Error).message}): it copies itself at each call`);
    return undefined;
  }
}
