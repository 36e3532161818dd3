// What cgroup setup the host has. On a v1 or hybrid host crun 1.8 refuses to run
// containers, so the runtime choice depends on this.
import * as fs from 'node:fs';

export type CgroupVersion = 'v1' | 'v2';

const CGROUP2_SUPER_MAGIC = 0x63677270;

export function cgroupVersion(): CgroupVersion {
  try {
    // statfs is not in node:fs before 18.15 for all fields; the type is enough.
    const st = fs.statfsSync('/sys/fs/cgroup');
    return Number(st.type) === CGROUP2_SUPER_MAGIC ? 'v2' : 'v1';
  } catch {
    return 'v1';
  }
}

/** Controllers available to this process: v2 from cgroup.controllers, v1 from /proc/cgroups. */
export function cgroupControllers(version: CgroupVersion): string[] {
  try {
    if (version === 'v2') return fs.readFileSync('/sys/fs/cgroup/cgroup.controllers', 'utf8').trim().split(/\s+/).filter(Boolean);
    return fs
      .readFileSync('/proc/cgroups', 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split('\t'))
      .filter((f) => f[3] === '1')
      .map((f) => f[0]);
  } catch {
    return [];
  }
}

/**
 * systemd manages cgroups only where systemd runs; rootless on cgroup v1 it cannot delegate,
 * so Podman uses cgroupfs there too.
 */
export function cgroupManager(configured: string | undefined, version: CgroupVersion, rootless: boolean): 'systemd' | 'cgroupfs' {
  if (configured === 'cgroupfs') return 'cgroupfs';
  const systemdRunning = fs.existsSync('/run/systemd/system');
  if (!systemdRunning) return 'cgroupfs';
  if (rootless && version === 'v1') return 'cgroupfs';
  return 'systemd';
}
