// `tspod system reset`: back to a fresh install. Order matters: stop what runs, unmount what
// is mounted (deepest first, or removal fails with EBUSY), then delete, and end the pause
// process last so the deletion still runs with the namespace's view of subuid-owned files.
import * as fs from 'node:fs';
import { EngineConfig } from '../config/engine-config';
import { openDatabase } from '../state/database';
import { unmountAllUnder } from '../storage/mounts';
import { killPauseProcess } from '../rootless/pause-process';
import { awaitGone, pidAlive } from '../host/processes';
import { releaseAllNetworks } from '../network/network-attach';


/**
 * SIGKILL to every monitor and container process the database knows about; then the network
 * resolvers, the rootless networks' uplink and (root) the bridges of the networks it lists.
 */
function killContainers(config: EngineConfig): void {
  if (!fs.existsSync(config.databasePath)) return;
  const db = openDatabase(config.databasePath);
  try {
    const rows = db.prepare('SELECT pid, monitor_pid FROM containers').all() as { pid: number; monitor_pid: number }[];
    // Monitors first: a monitor that outlives its container would start the exit hook, which
    // writes to the database while the store is being removed.
    const pids = [...rows.map((r) => r.monitor_pid), ...rows.map((r) => r.pid)].filter(pidAlive);
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    awaitGone(pids);
    const bridges = (db.prepare("SELECT config FROM networks WHERE driver = 'bridge'").all() as { config: string }[]).map((r) => (JSON.parse(r.config) as { interface: string }).interface);
    releaseAllNetworks(config.runRoot, config.host.rootless, bridges);
  } finally {
    db.close();
  }
}

function removeTree(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true, maxRetries: 10 });
}

export async function systemReset(config: EngineConfig): Promise<void> {
  killContainers(config);
  await unmountAllUnder(config.runRoot);
  await unmountAllUnder(config.graphRoot);
  removeTree(config.graphRoot);
  removeTree(config.runRoot);
  if (config.host.rootless) killPauseProcess(config.host);
}
