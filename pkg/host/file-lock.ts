// A lock between tspod processes that is held across awaits (SQLite's write lock cannot be):
// a file created exclusively holding the owner's pid. A lock whose owner died (kill -9) is
// taken over, so a crash never wedges later commands.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HostError } from '../errors';
import { processAlive } from './processes';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function tryTake(file: string): boolean {
  try {
    const fd = fs.openSync(file, 'wx', 0o600);
    fs.writeSync(fd, String(process.pid));
    fs.closeSync(fd);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  let owner = 0;
  try {
    owner = Number(fs.readFileSync(file, 'utf8'));
  } catch {
    return false; // released meanwhile: try again
  }
  // An empty file is an owner between open and write, unless it stays empty (then it died).
  if (owner > 0 && processAlive(owner)) return false;
  if (owner === 0 && Date.now() - (fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0) < 2000) return false;
  fs.rmSync(file, { force: true });
  return false;
}

/** Runs fn holding the lock `file`; waits up to timeoutMs for another holder. */
export async function withFileLock<T>(file: string, fn: () => Promise<T>, timeoutMs = 60_000): Promise<T> {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const deadline = Date.now() + timeoutMs;
  while (!tryTake(file)) {
    if (Date.now() > deadline) throw new HostError(`timed out waiting for the lock ${file}: if no tspod command is running, remove it`);
    await sleep(10);
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(file, { force: true });
  }
}
