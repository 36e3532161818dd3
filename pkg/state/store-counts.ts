// Counts of what the store holds, for `info` and `system df`.
import { Db } from './database';

export interface StoreCounts {
  images: number;
  containers: number;
  running: number;
  paused: number;
  stopped: number;
  volumes: number;
}

export function storeCounts(db: Db): StoreCounts {
  const images = (db.prepare('SELECT count(*) AS n FROM images').get() as { n: number }).n;
  const volumes = (db.prepare('SELECT count(*) AS n FROM volumes').get() as { n: number }).n;
  const rows = db.prepare('SELECT status, count(*) AS n FROM containers GROUP BY status').all() as { status: string; n: number }[];
  const by = (s: string) => rows.find((r) => r.status === s)?.n ?? 0;
  const containers = rows.reduce((sum, r) => sum + r.n, 0);
  const running = by('running');
  const paused = by('paused');
  return { images, containers, running, paused, stopped: containers - running - paused, volumes };
}
