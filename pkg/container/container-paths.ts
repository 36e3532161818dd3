// Where a container's files live. Persistent things (the writable layer, its config files,
// the log) go under the graph root; things that die with a reboot (the runtime bundle, the
// monitor's sockets and pids, the exit file) under the run root.
import * as path from 'node:path';
import { EngineConfig } from '../config/engine-config';

export interface ContainerPaths {
  /** <graphRoot>/containers/<id> */
  home: string;
  /** the writable layer and overlay's scratch dir */
  upper: string;
  work: string;
  /** where the root filesystem is mounted */
  rootfs: string;
  /** /etc/hosts, /etc/hostname, /etc/resolv.conf of the container */
  userdata: string;
  logPath: string;
  /** <runRoot>/containers/<id>: bundle (config.json), monitor sockets and pids */
  run: string;
  bundle: string;
  socketDir: string;
  /** holds <id> with the exit code once the container ended */
  exitDir: string;
  /** runc's state root, shared by all of the user's containers */
  runtimeRoot: string;
}

export function containerPaths(config: EngineConfig, id: string): ContainerPaths {
  const home = path.join(config.graphRoot, 'containers', id);
  const run = path.join(config.runRoot, 'containers', id);
  return {
    home,
    upper: path.join(home, 'upper'),
    work: path.join(home, 'work'),
    rootfs: path.join(home, 'merged'),
    userdata: path.join(home, 'userdata'),
    logPath: path.join(home, 'userdata', 'ctr.log'),
    run,
    bundle: path.join(run, 'bundle'),
    socketDir: path.join(run, 'monitor'),
    exitDir: path.join(config.runRoot, 'exits'),
    runtimeRoot: path.join(config.runRoot, 'runc'),
  };
}
