// What the OCI spec needs to know from the host, read where the runtime will run: tspod's
// user namespace and capabilities (hostFacts), the options of the mount a bind's source lives on
// (sourceMountOptions), and a --device node's numbers and owner (describeDevice).
import * as fs from 'node:fs';
import * as os from 'node:os';
import { InvalidArgumentError, NotFoundError } from '../errors';
import { IdMap, parseIdMapFile } from '../rootless/id-mappings';
import { MountInfoEntry, readMountInfo } from '../storage/mounts';
import { boundingSet } from './capabilities';
import type { DeviceInput, HostFacts } from './oci-spec';
import { goArch } from './seccomp-profile';

const IDENTITY: IdMap[] = [{ container_id: 0, host_id: 0, size: 4294967295 }];

/** HostFacts of this process (run it where the runtime will run: inside tspod's namespace). */
export function hostFacts(): HostFacts {
  const read = (kind: 'uid' | 'gid'): IdMap[] => parseIdMapFile(fs.readFileSync(`/proc/self/${kind}_map`, 'utf8'));
  const uidMap = read('uid');
  const gidMap = read('gid');
  const identity = (maps: IdMap[]): boolean => maps.length === 1 && maps[0].container_id === 0 && maps[0].host_id === 0 && maps[0].size === IDENTITY[0].size;
  const rootless = !identity(uidMap);
  const hostIdOf = (maps: IdMap[], own: number): number => (rootless ? (maps.find((m) => m.container_id === 0)?.host_id ?? own) : own);
  return {
    rootless,
    uidMap,
    gidMap,
    hostUid: hostIdOf(uidMap, process.getuid?.() ?? 0),
    hostGid: hostIdOf(gidMap, process.getgid?.() ?? 0),
    capabilities: boundingSet(),
    arch: goArch(),
    kernel: os.release(),
    devMqueue: fs.existsSync('/dev/mqueue'),
  };
}

/** The options of the mount `source` lives on (for MountInput.sourceOptions). */
export function sourceMountOptions(source: string, entries: MountInfoEntry[] = readMountInfo()): string[] {
  let real: string;
  try {
    real = fs.realpathSync(source);
  } catch {
    return [];
  }
  const under = (mountPoint: string): boolean => real === mountPoint || mountPoint === '/' || real.startsWith(`${mountPoint}/`);
  // The deepest mount point wins; of several at one place, the last (topmost) one.
  let best: MountInfoEntry | undefined;
  for (const e of entries) if (under(e.mountPoint) && (!best || e.mountPoint.length >= best.mountPoint.length)) best = e;
  return best ? best.mountOptions.split(',') : [];
}

/** --device HOST[:CONTAINER][:PERMISSIONS], looked up on the host. */
export function describeDevice(flag: string): DeviceInput {
  const parts = flag.split(':');
  const hostPath = parts[0];
  let containerPath = hostPath;
  let permissions = 'rwm';
  if (parts.length === 2) {
    if (/^[rwm]+$/.test(parts[1])) permissions = parts[1];
    else containerPath = parts[1];
  } else if (parts.length === 3) {
    [, containerPath, permissions] = parts;
  } else if (parts.length > 3) {
    throw new InvalidArgumentError(`invalid device specification: ${flag}`);
  }
  if (!/^[rwm]+$/.test(permissions)) throw new InvalidArgumentError(`invalid device permissions ${permissions} in ${flag}: use r, w and m`);
  if (!hostPath.startsWith('/') || !containerPath.startsWith('/')) throw new InvalidArgumentError(`invalid device specification ${flag}: paths must be absolute`);
  let st: fs.Stats;
  try {
    st = fs.statSync(hostPath);
  } catch {
    throw new NotFoundError(`device ${hostPath} does not exist`);
  }
  if (!st.isCharacterDevice() && !st.isBlockDevice()) throw new InvalidArgumentError(`${hostPath} is not a device node`);
  // glibc's major()/minor() on a 64-bit dev_t.
  const dev = BigInt(st.rdev);
  const major = Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
  const minor = Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn));
  return { hostPath, containerPath, permissions, type: st.isCharacterDevice() ? 'c' : 'b', major, minor, fileMode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
}
