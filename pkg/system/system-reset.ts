// `tspod system reset`: back to a fresh install. Order matters: stop what runs, unmount what
// is mounted (deepest first, or removal fails with EBUSY), then delete, and end the pause
// process last so the deletion still runs with the namespace's view of subuid-owned files.
import * as fs from 'node:fs';
import { EngineConfig } from '../config/engine-config';
import { openDatabase } from '../state/database';
import { unmountAllUnder } from '../storage/mounts';
import { killPauseProcess } from '../rootless/pause-process';

function alive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGKILL to every monitor and container process the database knows about. */
function killContainers(config: EngineConfig): void {
  if (!fs.existsSync(config.databasePath)) return;
  const db = openDatabase(config.databasePath);
  try {
    const rows = db.prepare('SELECT pid, monitor_pid FROM containers').all() as { pid: number; monitor_pid: number }[];
    for (const r of rows) {
      for (const pid of [r.pid, r.monitor_pid]) {
        if (alive(pid)) process.kill(pid, 'SIGKILL');
      }
    }
  } finally {
    db.close();
  }
}

function removeTree(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}

export async function systemReset(config: EngineConfig): Promise<void> {
  killContainers(config);
  await unmountAllUnder(config.runRoot);
  await unmountAllUnder(config.graphRoot);
  removeTree(config.graphRoot);
  removeTree(config.runRoot);
  if (config.host.rootless) killPauseProcess(config.host);
}
