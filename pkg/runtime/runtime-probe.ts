// Choosing the OCI runtime (runc or crun). crun is Podman's default, but crun 1.8 fails every
// container on a cgroup v1 or hybrid host, where runc works; so on v1 runc comes first.
// (Rootless, tspod's namespace hides a hybrid host's cgroup2 mount, native/pause.c, so that
// `--runtime crun` works there; it is not the default on v1: a failed `crun exec` leaves its
// child to the host's init, which does not reap it on every host.)
import { HostError } from '../errors';
import { cgroupVersion } from '../host/cgroups';
import { findExecutable, programVersion } from '../host/executables';

export interface OciRuntimeChoice {
  name: string;
  path: string;
}

function candidates(v: 'v1' | 'v2'): string[] {
  return v === 'v1' ? ['runc', 'crun'] : ['crun', 'runc'];
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
  for (const name of candidates(cgroupVersion())) {
    const path = runtimes[name]?.map((p) => findExecutable(p)).find(Boolean) ?? findExecutable(name);
    if (path) return { name, path };
  }
  throw new HostError('no OCI runtime found: install runc (apt install runc) or crun');
}

export async function runtimeVersion(choice: OciRuntimeChoice): Promise<string> {
  return programVersion(choice.path);
}
