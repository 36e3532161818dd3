// Choosing the OCI runtime (runc or crun). crun is Podman's default and the faster one (C: no
// Go runtime to start for each create, start, kill and delete; and with a precompiled seccomp
// filter a container start costs about a third of runc's). But crun 1.8 fails every container
// on a cgroup v1 or hybrid host; runc works there. Rootless, tspod's namespace hides a hybrid
// host's cgroup2 mount (native/pause.c), so crun works and comes first; root on v1 gets runc.
import { HostError } from '../errors';
import { cgroupVersion } from '../host/cgroups';
import { findExecutable, programVersion } from '../host/executables';
import { hostIdentity } from '../config/host-identity';

export interface OciRuntimeChoice {
  name: string;
  path: string;
}

function candidates(v: 'v1' | 'v2', rootless: boolean): string[] {
  return v === 'v1' && !rootless ? ['runc', 'crun'] : ['crun', 'runc'];
}

/** `requested` is --runtime or containers.conf's engine.runtime: a name or a path. */
export function chooseRuntime(requested: string | undefined, runtimes: Record<string, string[]> = {}): OciRuntimeChoice {
  if (requested) {
    const configured = runtimes[requested]?.map((p) => findExecutable(p)).find(Boolean);
    const found = configured ?? findExecutable(requested);
    if (!found) {
      throw new HostError(`OCI runtime "${requested}" not found: install it or pass --runtime with a path to an OCI runtime`);
    }
    return { name: requested.includes('/') ? requested.split('/').pop() ?? requested : requested, path: found };
  }
  for (const name of candidates(cgroupVersion(), hostIdentity().rootless)) {
    const path = runtimes[name]?.map((p) => findExecutable(p)).find(Boolean) ?? findExecutable(name);
    if (path) return { name, path };
  }
  throw new HostError('no OCI runtime found: install runc (apt install runc) or crun');
}

export async function runtimeVersion(choice: OciRuntimeChoice): Promise<string> {
  return programVersion(choice.path);
}
